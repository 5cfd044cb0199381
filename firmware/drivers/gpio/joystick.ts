// Analog joystick: two ADC axes (potentiometers, in percent of travel, 50 = centre) and its push button
// (debounced, see gpio/button.ts). Frequent channels x and y, a rare channel for the button. Touches only
// the HAL through the Potentiometer and Button drivers it is built from.
import { Sensor } from "../sensor";
import { Potentiometer } from "../analog/potentiometer";
import { Button } from "./button";

export class Joystick extends Sensor {
  private readonly x: Potentiometer;
  private readonly y: Potentiometer;
  readonly button: Button;

  constructor(xPin: i32, yPin: i32, buttonPin: i32, adcBits: i32 = 12, activeLow: bool = true, debounceMs: u32 = 20) {
    super();
    // Full deflection reaches the rails, so rails are readings here.
    this.x = new Potentiometer(xPin, adcBits, false);
    this.y = new Potentiometer(yPin, adcBits, false);
    this.button = new Button(buttonPin, activeLow, debounceMs);
  }

  name(): string { return "joystick"; }
  channelCount(): i32 { return 3; }
  channelName(i: i32): string { return i == 0 ? "x" : i == 1 ? "y" : "button"; }
  channelUnit(i: i32): string { return i < 2 ? "%" : ""; }
  isRare(i: i32): bool { return i == 2; }

  setup(): i32 {
    let s = this.x.setup();
    if (s < 0) return s;
    s = this.y.setup();
    if (s < 0) return s;
    return this.button.setup();
  }

  /** Reads both axes; returns the number of new button transitions (0 when none), or a negative error. */
  fetch(now: u32): i32 {
    let s = this.x.fetch(now);
    if (s < 0) return s;
    s = this.y.fetch(now);
    if (s < 0) return s;
    return this.button.fetch(now);
  }

  read(i: i32): f64 { return i == 0 ? this.x.read(0) : i == 1 ? this.y.read(0) : i == 2 ? this.button.read(0) : NaN; }
}
