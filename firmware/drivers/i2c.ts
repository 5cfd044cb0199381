// Who opens an I2C bus: the first driver on it, in its setup(), through openI2cBus (docs/runtime.md
// "Bus setup"). The HAL's i2c_setup configures the board's pins for that bus; every implementation of
// the contract (the C HALs, the simulator) refuses a transfer on a bus nobody opened with ERR_INVALID,
// so a driver that forgets fails in the simulator exactly as it would on a board. Touches the HAL's
// i2c_setup only; no allocation (a bitmask global).
import { i2c_setup, OK, ERR_INVALID } from "../hal/imports";

/** Fast-mode, which every I2C part here supports: BME280 (BST-BME280-DS002 section 6.2: up to 3.4 MHz),
 *  SHT31 (Sensirion SHT3x-DIS table 20: up to 1 MHz), BH1750 (ROHM BH1750FVI: "F/S mode"), MPU-6050
 *  (PS-MPU-6000A section 6.4: 400 kHz). */
export const I2C_FREQ_HZ: u32 = 400_000;

/** Buses this module instance has opened (bit n = bus n). */
let opened: u32 = 0;

/** Open bus for this module (once: later calls answer OK without a HAL call). OK or the HAL's status. */
export function openI2cBus(bus: i32): i32 {
  if (bus < 0 || bus > 31) return ERR_INVALID;
  if ((opened & (1 << bus)) != 0) return OK;
  const s = i2c_setup(bus, I2C_FREQ_HZ);
  if (s == OK) opened |= 1 << bus;
  return s;
}
