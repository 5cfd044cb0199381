// Test entry: the SHT31 driver compiled alone, driven from firmware/tests/drivers-i2c.test.ts
// through the simulator's HalHost. configure() constructs the driver (the only allocation).
import "../../hal/abort";
import { Sht31, sht31Crc8 } from "../../drivers/sht31";

let sensor: Sht31 | null = null;
const crcBuf = memory.data(2);

export function configure(bus: i32, address: i32): void { sensor = new Sht31(bus, address); }
export function setup(): i32 { return sensor!.setup(); }
export function fetch(now: u32): i32 { return sensor!.fetch(now); }
export function read(i: i32): f64 { return sensor!.read(i); }
export function channelCount(): i32 { return sensor!.channelCount(); }
export function channelName(i: i32): string { return sensor!.channelName(i); }
export function channelUnit(i: i32): string { return sensor!.channelUnit(i); }
/** The driver's CRC-8 of one 16-bit word (MSB first). */
export function crc8(word: u32): u32 {
  store<u8>(crcBuf, <u8>(word >> 8));
  store<u8>(crcBuf + 1, <u8>word);
  return sht31Crc8(crcBuf, 2);
}
