// BME280 driver (Bosch BST-BME280-DS002): temperature degC, humidity %RH, pressure hPa over I2C, in
// forced mode (section 3.3.2: one measurement per fetch, sleep between; the datasheet's "weather
// monitoring" use, section 3.5.1). Touches only the HAL's I2C imports and its own buffers; allocates
// in the constructor only.
import { i2c_write, i2c_write_read, time_us, OK, ERR_TIMEOUT } from "../../hal/imports";
import { Sensor, ERR_CHIP_ID, ERR_RANGE } from "../sensor";
import { openI2cBus } from "../i2c";
import { Bme280Calibration } from "./compensation";
import {
  REG_CALIB_TP, CALIB_TP_LEN, REG_CALIB_H, CALIB_H_LEN, REG_CHIP_ID, CHIP_ID, REG_RESET, RESET_WORD,
  REG_CTRL_HUM, REG_STATUS, STATUS_MEASURING, STATUS_IM_UPDATE, REG_CTRL_MEAS, REG_CONFIG, REG_DATA,
  DATA_LEN, MODE_SLEEP, MODE_FORCED, SKIPPED_20BIT, SKIPPED_16BIT, maxMeasurementUs, STARTUP_US,
} from "./registers";

export { BME280_ADDRESS_PRIMARY, BME280_ADDRESS_SECONDARY } from "./registers";

export const BME280_TEMPERATURE: i32 = 0;
export const BME280_HUMIDITY: i32 = 1;
export const BME280_PRESSURE: i32 = 2;

/** Upper bound on status polls per wait, whatever the clock says: a stuck "measuring" bit or a clock
 *  that does not advance ends in ERR_TIMEOUT, never in an endless loop. A status read takes about
 *  100 us on the wire at 400 kHz, so 1000 polls cover ten times the longest wait. */
const MAX_POLLS: i32 = 1000;
/** Slack on top of the datasheet's maximum times before giving up (clock granularity). */
const WAIT_MARGIN_US: u32 = 1000;

export class Bme280 extends Sensor {
  private readonly bus: i32;
  private readonly address: i32;
  private readonly osrsT: u8;
  private readonly osrsP: u8;
  private readonly osrsH: u8;
  private readonly calib: Bme280Calibration = new Bme280Calibration();
  private readonly tx: StaticArray<u8> = new StaticArray<u8>(2);
  private readonly rx: StaticArray<u8> = new StaticArray<u8>(CALIB_TP_LEN);
  private readonly rxH: StaticArray<u8> = new StaticArray<u8>(CALIB_H_LEN);
  private readonly values: StaticArray<f64> = new StaticArray<f64>(3);
  /** A conversion was triggered by start() and not yet collected. */
  private started: bool = false;

  /** osrs codes (Tables 20, 22, 24): 0 = skip that measurement, 1..5 = x1..x16. Default x1 each,
   *  the datasheet's weather-monitoring setting (section 3.5.1). */
  constructor(bus: i32, address: i32, osrsT: u8 = 1, osrsP: u8 = 1, osrsH: u8 = 1) {
    super();
    this.bus = bus;
    this.address = address;
    this.osrsT = osrsT > 5 ? 5 : osrsT;
    this.osrsP = osrsP > 5 ? 5 : osrsP;
    this.osrsH = osrsH > 5 ? 5 : osrsH;
    for (let i = 0; i < 3; i++) this.values[i] = NaN;
  }

  name(): string { return "bme280"; }
  channelCount(): i32 { return 3; }
  channelName(i: i32): string {
    if (i == BME280_TEMPERATURE) return "temperature";
    if (i == BME280_HUMIDITY) return "humidity";
    return "pressure";
  }
  channelUnit(i: i32): string {
    if (i == BME280_TEMPERATURE) return "degC";
    if (i == BME280_HUMIDITY) return "%RH";
    return "hPa";
  }

  setup(): i32 {
    let s = openI2cBus(this.bus);
    if (s != OK) return s;
    s = this.readRegs(REG_CHIP_ID, changetype<usize>(this.rx), 1);
    if (s != OK) return s;
    if (this.rx[0] != CHIP_ID) return ERR_CHIP_ID;
    s = this.writeReg(REG_RESET, RESET_WORD);
    if (s != OK) return s;
    // After a reset the NVM is copied to the image registers; im_update clears when done (5.4.4).
    s = this.waitStatusClear(STATUS_IM_UPDATE, STARTUP_US);
    if (s != OK) return s;
    s = this.readRegs(REG_CALIB_TP, changetype<usize>(this.rx), CALIB_TP_LEN);
    if (s != OK) return s;
    s = this.readRegs(REG_CALIB_H, changetype<usize>(this.rxH), CALIB_H_LEN);
    if (s != OK) return s;
    this.calib.load(changetype<usize>(this.rx), changetype<usize>(this.rxH));
    if (!this.calib.valid()) return ERR_RANGE;
    // Filter off, in sleep mode (config is only written reliably in sleep mode, 5.4.6).
    s = this.writeReg(REG_CONFIG, 0);
    if (s != OK) return s;
    // ctrl_hum first: it takes effect only with the next ctrl_meas write (5.4.3).
    s = this.writeReg(REG_CTRL_HUM, this.osrsH);
    if (s != OK) return s;
    return this.writeReg(REG_CTRL_MEAS, this.ctrlMeas(MODE_SLEEP));
  }

  /** Trigger one forced-mode conversion (section 3.3.2); the core collects it after the datasheet's
   *  maximum measurement time (section 9.1), so fetch() finds it done without polling. */
  start(now: u32): i32 {
    const s = this.writeReg(REG_CTRL_MEAS, this.ctrlMeas(MODE_FORCED));
    if (s != OK) return s;
    this.started = true;
    return <i32>((maxMeasurementUs(this.osrsT, this.osrsP, this.osrsH) + 999) / 1000);
  }

  fetch(now: u32): i32 {
    let s: i32 = OK;
    if (!this.started) { s = this.start(now); if (s < 0) return s; }
    this.started = false;
    // Returns after one status read when the conversion is done; polls only when fetch ran early.
    s = this.waitStatusClear(STATUS_MEASURING, maxMeasurementUs(this.osrsT, this.osrsP, this.osrsH));
    if (s != OK) return s;
    const buf = changetype<usize>(this.rx);
    s = this.readRegs(REG_DATA, buf, DATA_LEN);
    if (s != OK) return s;
    // 20-bit press/temp: msb[19:12] lsb[11:4] xlsb[7:4]; 16-bit hum: msb lsb (5.4.7-5.4.9).
    const adcP = (<i32>load<u8>(buf) << 12) | (<i32>load<u8>(buf + 1) << 4) | (<i32>load<u8>(buf + 2) >> 4);
    const adcT = (<i32>load<u8>(buf + 3) << 12) | (<i32>load<u8>(buf + 4) << 4) | (<i32>load<u8>(buf + 5) >> 4);
    const adcH = (<i32>load<u8>(buf + 6) << 8) | <i32>load<u8>(buf + 7);
    if (adcT == SKIPPED_20BIT) {
      // No temperature, no t_fine: pressure and humidity cannot be compensated either.
      for (let i = 0; i < 3; i++) this.values[i] = NaN;
      return OK;
    }
    this.values[BME280_TEMPERATURE] = <f64>this.calib.temperature(adcT) / 100.0;
    if (adcP == SKIPPED_20BIT) {
      this.values[BME280_PRESSURE] = NaN;
    } else {
      const q8 = this.calib.pressure(adcP);
      if (q8 == 0) return ERR_RANGE; // the formula's division-by-zero guard: calibration unusable
      this.values[BME280_PRESSURE] = <f64>q8 / 256.0 / 100.0; // Q24.8 Pa -> hPa
    }
    this.values[BME280_HUMIDITY] = adcH == SKIPPED_16BIT ? NaN : <f64>this.calib.humidity(adcH) / 1024.0;
    return OK;
  }

  read(i: i32): f64 { return i >= 0 && i < 3 ? this.values[i] : NaN; }

  private ctrlMeas(mode: u8): u8 { return (this.osrsT << 5) | (this.osrsP << 2) | mode; }

  /** Poll the status register until the mask bits clear: at most MAX_POLLS reads and the datasheet's
   *  maximum time (plus margin) by the device clock, whichever comes first. */
  private waitStatusClear(mask: u8, maxUs: u32): i32 {
    const start = time_us();
    const buf = changetype<usize>(this.rx);
    for (let i = 0; i < MAX_POLLS; i++) {
      const s = this.readRegs(REG_STATUS, buf, 1);
      if (s != OK) return s;
      if ((load<u8>(buf) & mask) == 0) return OK;
      if (time_us() - start > maxUs + WAIT_MARGIN_US) return ERR_TIMEOUT;
    }
    return ERR_TIMEOUT;
  }

  /** Register write: address byte then data byte (section 6.2.1). */
  private writeReg(reg: u8, value: u8): i32 {
    this.tx[0] = reg;
    this.tx[1] = value;
    return i2c_write(this.bus, this.address, changetype<usize>(this.tx), 2);
  }

  /** Burst read from reg with auto-increment (section 6.2.2). */
  private readRegs(reg: u8, out: usize, len: i32): i32 {
    this.tx[0] = reg;
    return i2c_write_read(this.bus, this.address, changetype<usize>(this.tx), 1, out, <u32>len);
  }
}
