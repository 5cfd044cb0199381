// Test entry: the BH1750 driver compiled alone, driven from firmware/tests/drivers-i2c.test.ts
// through the simulator's HalHost. configure() constructs the driver (the only allocation).
import "../../hal/abort";
import { Bh1750 } from "../../drivers/bh1750";

let sensor: Bh1750 | null = null;

/** mode: a measurement instruction (0x10, 0x11, 0x13, 0x20, 0x21, 0x23); mtreg 31..254. */
export function configure(bus: i32, address: i32, mode: u8, mtreg: u8): void {
  sensor = new Bh1750(bus, address, mode, mtreg);
}
export function setup(): i32 { return sensor!.setup(); }
export function fetch(now: u32): i32 { return sensor!.fetch(now); }
export function read(i: i32): f64 { return sensor!.read(i); }
export function channelCount(): i32 { return sensor!.channelCount(); }
export function channelName(i: i32): string { return sensor!.channelName(i); }
export function channelUnit(i: i32): string { return sensor!.channelUnit(i); }
export function minIntervalMs(): u32 { return sensor!.minIntervalMs(); }
/** Change mode and MTreg at run time. */
export function reconfigure(mode: u8, mtreg: u8): i32 { return sensor!.configure(mode, mtreg); }
