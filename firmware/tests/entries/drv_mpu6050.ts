// Test entry: the MPU-6050 driver compiled alone, driven from firmware/tests/drivers-i2c.test.ts
// through the simulator's HalHost. configure() constructs the driver (the only allocation).
import "../../hal/abort";
import { Mpu6050 } from "../../drivers/mpu6050";

let sensor: Mpu6050 | null = null;

/** accelRange: AFS_SEL 0..3 (+-2..16 g); gyroRange: FS_SEL 0..3 (+-250..2000 deg/s). */
export function configure(bus: i32, address: i32, accelRange: u8, gyroRange: u8): void {
  sensor = new Mpu6050(bus, address, accelRange, gyroRange);
}
export function setup(): i32 { return sensor!.setup(); }
export function fetch(now: u32): i32 { return sensor!.fetch(now); }
export function read(i: i32): f64 { return sensor!.read(i); }
export function channelCount(): i32 { return sensor!.channelCount(); }
export function channelName(i: i32): string { return sensor!.channelName(i); }
export function channelUnit(i: i32): string { return sensor!.channelUnit(i); }
