// MPU-6050 driver (InvenSense RM-MPU-6000A-00 / PS-MPU-6000A-00): acceleration in m/s2 (standard
// gravity), angular rate in deg/s, die temperature in degC over I2C, with the full-scale ranges as
// constructor arguments. The part samples continuously once awake, so a fetch is one 14-byte burst
// read. Touches only the HAL's I2C imports and its own buffers; allocates in the constructor only.
import { i2c_write, i2c_write_read, OK } from "../../hal/imports";
import { Sensor, ERR_CHIP_ID, ERR_PROTOCOL } from "../sensor";
import { openI2cBus } from "../i2c";
import {
  REG_GYRO_CONFIG, REG_ACCEL_CONFIG, REG_ACCEL_XOUT_H, DATA_LEN, REG_PWR_MGMT_1, REG_WHO_AM_I, WHO_AM_I,
  PWR_WAKE_PLL_X, accelLsbPerG, gyroLsbPerDps, TEMP_LSB_PER_DEGC, TEMP_OFFSET_DEGC, STANDARD_GRAVITY,
} from "./registers";

export { MPU6050_ADDRESS, MPU6050_ADDRESS_ALT } from "./registers";

// Channels, in the order of the burst read's words except temperature last.
export const MPU6050_ACCEL_X: i32 = 0;
export const MPU6050_ACCEL_Y: i32 = 1;
export const MPU6050_ACCEL_Z: i32 = 2;
export const MPU6050_GYRO_X: i32 = 3;
export const MPU6050_GYRO_Y: i32 = 4;
export const MPU6050_GYRO_Z: i32 = 5;
export const MPU6050_DIE_TEMPERATURE: i32 = 6;

// Full-scale codes (AFS_SEL, FS_SEL).
export const ACCEL_2G: u8 = 0;
export const ACCEL_4G: u8 = 1;
export const ACCEL_8G: u8 = 2;
export const ACCEL_16G: u8 = 3;
export const GYRO_250DPS: u8 = 0;
export const GYRO_500DPS: u8 = 1;
export const GYRO_1000DPS: u8 = 2;
export const GYRO_2000DPS: u8 = 3;

export class Mpu6050 extends Sensor {
  private readonly bus: i32;
  private readonly address: i32;
  private readonly accelRange: u8;
  private readonly gyroRange: u8;
  private readonly accelScale: f64;   // m/s2 per LSB
  private readonly gyroScale: f64;    // deg/s per LSB
  private readonly tx: StaticArray<u8> = new StaticArray<u8>(2);
  private readonly rx: StaticArray<u8> = new StaticArray<u8>(DATA_LEN);
  private readonly values: StaticArray<f64> = new StaticArray<f64>(7);

  constructor(bus: i32, address: i32, accelRange: u8 = ACCEL_2G, gyroRange: u8 = GYRO_250DPS) {
    super();
    this.bus = bus;
    this.address = address;
    this.accelRange = accelRange & 3;
    this.gyroRange = gyroRange & 3;
    this.accelScale = STANDARD_GRAVITY / accelLsbPerG(this.accelRange);
    this.gyroScale = 1.0 / gyroLsbPerDps(this.gyroRange);
    for (let i = 0; i < 7; i++) this.values[i] = NaN;
  }

  name(): string { return "mpu6050"; }
  channelCount(): i32 { return 7; }
  channelName(i: i32): string {
    if (i == MPU6050_ACCEL_X) return "accel_x";
    if (i == MPU6050_ACCEL_Y) return "accel_y";
    if (i == MPU6050_ACCEL_Z) return "accel_z";
    if (i == MPU6050_GYRO_X) return "gyro_x";
    if (i == MPU6050_GYRO_Y) return "gyro_y";
    if (i == MPU6050_GYRO_Z) return "gyro_z";
    return "die_temperature";
  }
  channelUnit(i: i32): string {
    if (i <= MPU6050_ACCEL_Z) return "m/s2";
    if (i <= MPU6050_GYRO_Z) return "deg/s";
    return "degC";
  }

  /** Check WHO_AM_I, wake the part, set both full-scale ranges and read them back. */
  setup(): i32 {
    let s = openI2cBus(this.bus);
    if (s != OK) return s;
    s = this.readRegs(REG_WHO_AM_I, 1);
    if (s != OK) return s;
    if (this.rx[0] != WHO_AM_I) return ERR_CHIP_ID;
    s = this.writeReg(REG_PWR_MGMT_1, PWR_WAKE_PLL_X); // leaves sleep mode (power-on default: SLEEP = 1)
    if (s != OK) return s;
    s = this.writeReg(REG_GYRO_CONFIG, this.gyroRange << 3);
    if (s != OK) return s;
    s = this.writeReg(REG_ACCEL_CONFIG, this.accelRange << 3);
    if (s != OK) return s;
    // 0x1B and 0x1C are adjacent: one burst read confirms both settings took.
    s = this.readRegs(REG_GYRO_CONFIG, 2);
    if (s != OK) return s;
    if (((this.rx[0] >> 3) & 3) != this.gyroRange || ((this.rx[1] >> 3) & 3) != this.accelRange) return ERR_PROTOCOL;
    return OK;
  }

  fetch(now: u32): i32 {
    const s = this.readRegs(REG_ACCEL_XOUT_H, DATA_LEN);
    if (s != OK) return s;
    const buf = changetype<usize>(this.rx);
    for (let axis = 0; axis < 3; axis++) {
      this.values[MPU6050_ACCEL_X + axis] = scaled(word(buf, axis), this.accelScale);
      this.values[MPU6050_GYRO_X + axis] = scaled(word(buf, 4 + axis), this.gyroScale);
    }
    this.values[MPU6050_DIE_TEMPERATURE] = <f64>word(buf, 3) / TEMP_LSB_PER_DEGC + TEMP_OFFSET_DEGC;
    return OK;
  }

  read(i: i32): f64 { return i >= 0 && i < 7 ? this.values[i] : NaN; }

  private writeReg(reg: u8, value: u8): i32 {
    this.tx[0] = reg;
    this.tx[1] = value;
    return i2c_write(this.bus, this.address, changetype<usize>(this.tx), 2);
  }

  /** Burst read with auto-increment (PS section 9.3). */
  private readRegs(reg: u8, len: i32): i32 {
    this.tx[0] = reg;
    return i2c_write_read(this.bus, this.address, changetype<usize>(this.tx), 1, changetype<usize>(this.rx), <u32>len);
  }
}

/** The i-th big-endian signed 16-bit word of the burst (accel X, Y, Z, temp, gyro X, Y, Z). */
function word(buf: usize, i: i32): i32 {
  return <i32>(<i16>((<u16>load<u8>(buf + (i << 1)) << 8) | <u16>load<u8>(buf + (i << 1) + 1)));
}

/** A word at either end of the 16-bit range is a saturated axis (outside the configured full
 *  scale): not a measurement, so NaN (choose a larger range). */
function scaled(raw: i32, scale: f64): f64 {
  return raw == 32767 || raw == -32768 ? NaN : <f64>raw * scale;
}
