// Test entry: the chip sensors; use(k) picks 0 die temperature, 1 Hall (see drivers-pins.test.ts).
import "../../hal/abort";
import { Sensor } from "../../drivers/sensor";
import { ChipTemperature, HallSensor } from "../../drivers/chip/chip";

const sensors: StaticArray<Sensor> = [new ChipTemperature(), new HallSensor()];
let current = 0;

export function use(k: i32): void { current = k; }
export function setup(): i32 { return sensors[current].setup(); }
export function fetch(now: u32): i32 { return sensors[current].fetch(now); }
export function read(i: i32): f64 { return sensors[current].read(i); }
