// Test entry: a button on pin 14 (active low, 20 ms debounce) and a joystick (x pin 34, y pin 35, button
// pin 27); use(k) picks 0 button, 1 joystick (see drivers-pins.test.ts). presses()/releases() count the
// debounced transitions of the selected one's button.
import "../../hal/abort";
import { Button } from "../../drivers/gpio/button";
import { Joystick } from "../../drivers/gpio/joystick";

const button = new Button(14);
const joystick = new Joystick(34, 35, 27);
let current = 0;

export function use(k: i32): void { current = k; }
export function setup(): i32 { return current == 0 ? button.setup() : joystick.setup(); }
export function fetch(now: u32): i32 { return current == 0 ? button.fetch(now) : joystick.fetch(now); }
export function read(i: i32): f64 { return current == 0 ? button.read(i) : joystick.read(i); }
export function presses(): u32 { return current == 0 ? button.pressCount() : joystick.button.pressCount(); }
export function releases(): u32 { return current == 0 ? button.releaseCount() : joystick.button.releaseCount(); }
