// Test entry: the analog drivers on a 12-bit ADC; use(k) picks one (see drivers-pins.test.ts, which
// wires the matching models with the same constants):
//   0 potentiometer pin 34; 1 potentiometer pin 35 with railsAreFaults; 2 NTC Beta pin 32 (10 kohm series,
//   10 kohm at 25 degC, B 3950, NTC to ground); 3 NTC Steinhart-Hart pin 33 (10 kohm series, A/B/C of a
//   generic 10 kohm NTC, NTC to Vcc); 4 sound level pin 36 (80 dB at 1 V, Vref 3.3 V).
import "../../hal/abort";
import { Sensor } from "../../drivers/sensor";
import { Potentiometer } from "../../drivers/analog/potentiometer";
import { NtcBeta, NtcSteinhartHart } from "../../drivers/analog/ntc";
import { SoundLevel } from "../../drivers/analog/sound";

const sensors: StaticArray<Sensor> = [
  new Potentiometer(34),
  new Potentiometer(35, 12, true),
  new NtcBeta(32, 10000.0, 10000.0, 25.0, 3950.0, true),
  new NtcSteinhartHart(33, 10000.0, 1.009249522e-3, 2.378405444e-4, 2.019202697e-7, false),
  new SoundLevel(36, 80.0, 3.3),
];
let current = 0;

export function use(k: i32): void { current = k; }
export function setup(): i32 { return sensors[current].setup(); }
export function fetch(now: u32): i32 { return sensors[current].fetch(now); }
export function read(i: i32): f64 { return sensors[current].read(i); }
