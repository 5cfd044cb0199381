// The ESP32's chip-internal sensors through sys_sensor_read: the die temperature (raw degF, as
// temprature_sens_read() returns it) in degC, and the Hall sensor (hall_sensor_read(), raw units). Chips
// without them (ESP32-S2/S3/C3 have no Hall sensor) answer ERR_UNSUPPORTED: an error value, never a trap.
// Touches only the HAL imports. Source: ESP-IDF v4.4 API reference, "hall_sensor_read" (driver/adc.h) and
// the ROM function temprature_sens_read() (degrees Fahrenheit, 8-bit); ESP32 datasheet section 4.1.
import { sys_sensor_read, SYS_SENSOR_TEMPERATURE, SYS_SENSOR_HALL, ERR_UNSUPPORTED } from "../../hal/imports";
import { Sensor } from "../sensor";

/**
 * Shared probe: setup() reads once; ERR_UNSUPPORTED there marks the sensor absent for good. After a
 * successful probe every value is a reading. (The Hall sensor's raw value can be negative, so a later
 * -5 is a reading, not ERR_UNSUPPORTED: sys_sensor_read mixes statuses and values in one i32.)
 */
abstract class ChipSensor extends Sensor {
  protected value: f64 = NaN;
  private supported: bool = false;

  constructor(private readonly sensor: i32) { super(); }

  abstract convert(raw: i32): f64;
  /** True when negative raw values are readings (Hall), false when they can only be statuses. */
  signedRaw(): bool { return false; }
  channelCount(): i32 { return 1; }

  setup(): i32 {
    const raw = sys_sensor_read(this.sensor);
    this.supported = raw != ERR_UNSUPPORTED;
    return this.supported ? 0 : ERR_UNSUPPORTED;
  }

  fetch(now: u32): i32 {
    this.value = NaN;
    if (!this.supported) return ERR_UNSUPPORTED;
    const raw = sys_sensor_read(this.sensor);
    if (raw < 0 && !this.signedRaw()) return raw;
    this.value = this.convert(raw);
    return 0;
  }

  read(i: i32): f64 { return i == 0 ? this.value : NaN; }
}

/** Die temperature in degC (not the air's: the die runs warmer than ambient). */
export class ChipTemperature extends ChipSensor {
  constructor() { super(<i32>SYS_SENSOR_TEMPERATURE); }
  name(): string { return "chip_temp"; }
  channelName(i: i32): string { return "chip_temperature"; }
  channelUnit(i: i32): string { return "degC"; }
  convert(raw: i32): f64 { return (<f64>raw - 32.0) / 1.8; } // degF -> degC
}

/** Hall sensor, raw units as hall_sensor_read() returns them (sign = field direction). */
export class HallSensor extends ChipSensor {
  constructor() { super(<i32>SYS_SENSOR_HALL); }
  name(): string { return "hall"; }
  channelName(i: i32): string { return "hall"; }
  channelUnit(i: i32): string { return "raw"; }
  convert(raw: i32): f64 { return <f64>raw; }
  signedRaw(): bool { return true; }
}
