// Model of an analog joystick: two potentiometer axes (percent of travel, 50 = centre) and a push button
// with bounce, each wired to its own pin. Touches only the models it is built from.
import type { DeviceWiring } from "../../hal/buses.js";
import { PotentiometerModel } from "../analog/models.js";
import type { PhysicalSignal } from "../signal.js";
import { ButtonModel, type ButtonModelOptions } from "./button.js";

export class JoystickModel {
  readonly x: PotentiometerModel;
  readonly y: PotentiometerModel;
  readonly button: ButtonModel;

  constructor(x: PhysicalSignal, y: PhysicalSignal, button: ButtonModelOptions = {}) {
    this.x = new PotentiometerModel(x);
    this.y = new PotentiometerModel(y);
    this.button = new ButtonModel(button);
  }

  /** Put the three parts on their pins. */
  wire(wiring: DeviceWiring, xPin: number, yPin: number, buttonPin: number): void {
    wiring.pins.set(xPin, this.x);
    wiring.pins.set(yPin, this.y);
    wiring.pins.set(buttonPin, this.button);
  }
}
