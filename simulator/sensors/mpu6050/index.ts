// Register-level model of an InvenSense MPU-6050 on I2C (RM-MPU-6000A-00 rev 4.2, PS-MPU-6000A-00
// rev 3.4): reset values (RM section 3: 0x00 except PWR_MGMT_1 = 0x40, sleeping, and WHO_AM_I =
// 0x68), burst writes and reads with auto-increment (PS section 9.3), DEVICE_RESET and SLEEP, the
// full-scale settings and their sensitivities, and sensor registers sampled from PhysicalSignals
// while awake (frozen while asleep). Fault switches: unplugged, wrong WHO_AM_I, stuck output.
// Touches nothing outside this object.
import type { HalStatus, I2cTarget } from "../../hal/buses.js";
import type { PhysicalSignal } from "../signal.js";

const OK = 0;
const REG_GYRO_CONFIG = 0x1b;
const REG_ACCEL_CONFIG = 0x1c;
const REG_ACCEL_XOUT_H = 0x3b;
const REG_PWR_MGMT_1 = 0x6b;
const REG_WHO_AM_I = 0x75;
const PWR_DEVICE_RESET = 0x80;
const PWR_SLEEP = 0x40;

/** LSB/g for AFS_SEL 0..3 (RM section 4.17) and LSB/(deg/s) for FS_SEL 0..3 (RM section 4.19). */
export const ACCEL_LSB_PER_G = [16384, 8192, 4096, 2048];
export const GYRO_LSB_PER_DPS = [131, 65.5, 32.8, 16.4];
/** TEMP_OUT = (T - 36.53) * 340 (RM section 4.18, inverted). */
export const TEMP_LSB_PER_DEGC = 340;
export const TEMP_OFFSET_DEGC = 36.53;
/** The model's acceleration signals are in m/s2; the part measures in g. */
export const STANDARD_GRAVITY = 9.80665;

export interface Mpu6050ModelOptions {
  /** 0x68 (AD0 low, default) or 0x69 (RM section 4.32). */
  address?: number;
  accelX: PhysicalSignal; accelY: PhysicalSignal; accelZ: PhysicalSignal;   // m/s2
  gyroX: PhysicalSignal; gyroY: PhysicalSignal; gyroZ: PhysicalSignal;      // deg/s
  temperature: PhysicalSignal;                                                // die, degC
  /** Fault: what WHO_AM_I answers (e.g. 0x70 for an MPU-6500, 0x98 for a clone). */
  whoAmI?: number;
  /** Wire time charged to the device clock per read transaction (the HAL charges none). */
  transactionUs?: number;
}

export class Mpu6050Model implements I2cTarget {
  readonly address: number;
  plugged = true;
  /** Fault: the sensor registers stop updating. */
  stuck = false;

  private readonly regs = new Uint8Array(128);
  private readonly transactionUs: number;
  private pointer = 0;

  constructor(private readonly options: Mpu6050ModelOptions) {
    this.address = options.address ?? 0x68;
    this.transactionUs = options.transactionUs ?? 100;
    this.reset();
  }

  present(nowUs: number): boolean {
    if (!this.plugged) return false;
    const t = nowUs / 1000;
    return this.signals().every((s) => !Number.isNaN(s.at(t)));
  }

  stretchUs(): number { return this.transactionUs; }

  write(data: Uint8Array, _nowUs: number): HalStatus {
    if (data.length === 0) return OK;
    this.pointer = data[0] & 0x7f;
    for (let i = 1; i < data.length; i++) {
      this.writeRegister(this.pointer, data[i]);
      this.pointer = (this.pointer + 1) & 0x7f;
    }
    return OK;
  }

  read(out: Uint8Array, nowUs: number): HalStatus {
    // The sensor registers update at the sample rate; a burst read sees one consistent sample.
    if ((this.regs[REG_PWR_MGMT_1] & PWR_SLEEP) === 0 && !this.stuck) this.sample(nowUs / 1000);
    for (let i = 0; i < out.length; i++) {
      out[i] = this.regs[this.pointer];
      this.pointer = (this.pointer + 1) & 0x7f;
    }
    return OK;
  }

  /** Full-scale codes as the part holds them (for tests). */
  get accelRange(): number { return (this.regs[REG_ACCEL_CONFIG] >> 3) & 3; }
  get gyroRange(): number { return (this.regs[REG_GYRO_CONFIG] >> 3) & 3; }
  get sleeping(): boolean { return (this.regs[REG_PWR_MGMT_1] & PWR_SLEEP) !== 0; }

  private reset(): void {
    this.regs.fill(0);
    this.regs[REG_PWR_MGMT_1] = PWR_SLEEP;
    this.regs[REG_WHO_AM_I] = this.options.whoAmI ?? 0x68;
  }

  private writeRegister(reg: number, value: number): void {
    if (reg === REG_PWR_MGMT_1 && value & PWR_DEVICE_RESET) { this.reset(); return; } // bit self-clears
    if ((reg >= REG_ACCEL_XOUT_H && reg <= 0x60) || reg === REG_WHO_AM_I) return;      // read-only
    this.regs[reg] = value;
  }

  private signals(): PhysicalSignal[] {
    const o = this.options;
    return [o.accelX, o.accelY, o.accelZ, o.temperature, o.gyroX, o.gyroY, o.gyroZ];
  }

  /** ACCEL_XOUT..GYRO_ZOUT (0x3B..0x48): seven big-endian two's-complement words. */
  private sample(tMs: number): void {
    const accelLsb = ACCEL_LSB_PER_G[this.accelRange] / STANDARD_GRAVITY;
    const gyroLsb = GYRO_LSB_PER_DPS[this.gyroRange];
    const o = this.options;
    const words = [
      o.accelX.at(tMs) * accelLsb, o.accelY.at(tMs) * accelLsb, o.accelZ.at(tMs) * accelLsb,
      (o.temperature.at(tMs) - TEMP_OFFSET_DEGC) * TEMP_LSB_PER_DEGC,
      o.gyroX.at(tMs) * gyroLsb, o.gyroY.at(tMs) * gyroLsb, o.gyroZ.at(tMs) * gyroLsb,
    ];
    words.forEach((v, i) => {
      const w = Math.max(-32768, Math.min(32767, Math.round(v))) & 0xffff; // the ADC saturates
      this.regs[REG_ACCEL_XOUT_H + 2 * i] = w >> 8;
      this.regs[REG_ACCEL_XOUT_H + 2 * i + 1] = w & 0xff;
    });
  }
}
