// Test entry: the HC-SR04 driver, trigger on pin 12, echo on pin 13 (see drivers-pins.test.ts).
// airTemperature(c) exercises the temperature compensation.
import "../../hal/abort";
import { HcSr04 } from "../../drivers/hcsr04/hcsr04";

const sensor = new HcSr04(12, 13);

export function setup(): i32 { return sensor.setup(); }
export function fetch(now: u32): i32 { return sensor.fetch(now); }
export function read(i: i32): f64 { return sensor.read(i); }
export function airTemperature(c: f64): void { sensor.setAirTemperature(c); }
