// Test entry: the BME280 driver compiled alone, driven from firmware/tests/drivers-i2c.test.ts
// through the simulator's HalHost. configure() constructs the driver (the only allocation).
import "../../hal/abort";
import { Bme280 } from "../../drivers/bme280";

let sensor: Bme280 | null = null;

/** Construct the driver on bus at address with the osrs codes (0 = skip, 1..5 = x1..x16). */
export function configure(bus: i32, address: i32, osrsT: u8, osrsP: u8, osrsH: u8): void {
  sensor = new Bme280(bus, address, osrsT, osrsP, osrsH);
}
export function setup(): i32 { return sensor!.setup(); }
export function fetch(now: u32): i32 { return sensor!.fetch(now); }
export function read(i: i32): f64 { return sensor!.read(i); }
export function channelCount(): i32 { return sensor!.channelCount(); }
export function channelName(i: i32): string { return sensor!.channelName(i); }
export function channelUnit(i: i32): string { return sensor!.channelUnit(i); }
