// SHT31 driver (Sensirion SHT3x-DIS datasheet, version 6, 2019): temperature degC and humidity %RH
// over I2C, single-shot high repeatability without clock stretching. Touches only the HAL's I2C
// imports and its own buffers; allocates in the constructor only.
import { i2c_write, i2c_read, time_us, OK, ERR_NACK, ERR_TIMEOUT } from "../../hal/imports";
import { Sensor, ERR_CHECKSUM } from "../sensor";
import { openI2cBus } from "../i2c";

export const SHT31_ADDRESS: i32 = 0x44;           // ADDR pin low (Table 7); 0x45 with ADDR high
export const SHT31_ADDRESS_ALT: i32 = 0x45;
export const SHT31_TEMPERATURE: i32 = 0;
export const SHT31_HUMIDITY: i32 = 1;

const CMD_SINGLE_SHOT_HIGH: u16 = 0x2400;         // high repeatability, clock stretching disabled (Table 9)
const CMD_SOFT_RESET: u16 = 0x30A2;                // section 4.9
const CMD_READ_STATUS: u16 = 0xF32D;               // section 4.11, Table 17
const MEASUREMENT_MAX_US: u32 = 15000;             // t_MEAS high repeatability, max 15 ms (Table 4)
const SOFT_RESET_MAX_US: u32 = 1500;               // t_SR, max 1.5 ms (Table 4)
/** Without clock stretching the part NACKs the read header until the result is ready (section
 *  4.4): poll, at most this many times and for at most the datasheet's maximum time. A read header
 *  takes about 25 us on the wire at 400 kHz, so 1000 polls cover the 15 ms. */
const MAX_POLLS: i32 = 1000;
const WAIT_MARGIN_US: u32 = 1000;

/** CRC-8 of the datasheet (section 4.12, Table 19): polynomial 0x31 (x^8 + x^5 + x^4 + 1), init
 *  0xFF, no reflection, no final XOR; CRC(0xBEEF) = 0x92. */
export function sht31Crc8(data: usize, len: i32): u8 {
  let crc: u8 = 0xFF;
  for (let i = 0; i < len; i++) {
    crc ^= load<u8>(data + i);
    for (let b = 0; b < 8; b++) crc = (crc & 0x80) != 0 ? <u8>((crc << 1) ^ 0x31) : <u8>(crc << 1);
  }
  return crc;
}

export class Sht31 extends Sensor {
  private readonly bus: i32;
  private readonly address: i32;
  private readonly cmd: StaticArray<u8> = new StaticArray<u8>(2);
  private readonly rx: StaticArray<u8> = new StaticArray<u8>(6);
  private temperature: f64 = NaN;
  private humidity: f64 = NaN;
  /** A measurement was triggered by start() and not yet collected. */
  private started: bool = false;

  constructor(bus: i32, address: i32 = SHT31_ADDRESS) {
    super();
    this.bus = bus;
    this.address = address;
  }

  name(): string { return "sht31"; }
  channelCount(): i32 { return 2; }
  channelName(i: i32): string { return i == SHT31_TEMPERATURE ? "temperature" : "humidity"; }
  channelUnit(i: i32): string { return i == SHT31_TEMPERATURE ? "degC" : "%RH"; }

  /** Soft reset, then read the status register (3 bytes, CRC-checked): the part answers and its
   *  CRC path works. */
  setup(): i32 {
    let s = openI2cBus(this.bus);
    if (s != OK) return s;
    s = this.command(CMD_SOFT_RESET);
    if (s != OK) return s;
    s = this.command(CMD_READ_STATUS);
    // Right after a reset the part may still be busy and NACK the command: retry within t_SR.
    const start = time_us();
    for (let i = 0; s == ERR_NACK && i < MAX_POLLS && time_us() - start <= SOFT_RESET_MAX_US + WAIT_MARGIN_US; i++) {
      s = this.command(CMD_READ_STATUS);
    }
    if (s != OK) return s;
    s = i2c_read(this.bus, this.address, changetype<usize>(this.rx), 3);
    if (s != OK) return s;
    const buf = changetype<usize>(this.rx);
    return sht31Crc8(buf, 2) == load<u8>(buf + 2) ? OK : ERR_CHECKSUM;
  }

  /** Send the single-shot command; the core collects after t_MEAS max (Table 4), so fetch() reads the
   *  result at the first try instead of polling through NACKed read headers. */
  start(now: u32): i32 {
    const s = this.command(CMD_SINGLE_SHOT_HIGH);
    if (s != OK) return s; // a NACK here: the part is absent
    this.started = true;
    return <i32>((MEASUREMENT_MAX_US + 999) / 1000);
  }

  fetch(now: u32): i32 {
    let s: i32 = OK;
    if (!this.started) { s = this.start(now); if (s < 0) return s; }
    this.started = false;
    const buf = changetype<usize>(this.rx);
    const start = time_us();
    s = ERR_TIMEOUT;
    for (let i = 0; i < MAX_POLLS; i++) {
      s = i2c_read(this.bus, this.address, buf, 6);
      if (s != ERR_NACK) break;       // OK, or a bus error to report
      s = ERR_TIMEOUT;
      if (time_us() - start > MEASUREMENT_MAX_US + WAIT_MARGIN_US) break;
    }
    if (s != OK) return s;
    // Reply: T msb, T lsb, CRC, RH msb, RH lsb, CRC (section 4.4, Table 9).
    if (sht31Crc8(buf, 2) != load<u8>(buf + 2)) return ERR_CHECKSUM;
    if (sht31Crc8(buf + 3, 2) != load<u8>(buf + 5)) return ERR_CHECKSUM;
    const st = (<u32>load<u8>(buf) << 8) | <u32>load<u8>(buf + 1);
    const srh = (<u32>load<u8>(buf + 3) << 8) | <u32>load<u8>(buf + 4);
    // Conversion of signal output (section 4.13): T = -45 + 175 * St / (2^16 - 1), RH = 100 * Srh / (2^16 - 1).
    this.temperature = -45.0 + 175.0 * <f64>st / 65535.0;
    this.humidity = 100.0 * <f64>srh / 65535.0;
    return OK;
  }

  read(i: i32): f64 {
    if (i == SHT31_TEMPERATURE) return this.temperature;
    if (i == SHT31_HUMIDITY) return this.humidity;
    return NaN;
  }

  /** A 16-bit command, MSB first (section 4.3). */
  private command(code: u16): i32 {
    this.cmd[0] = <u8>(code >> 8);
    this.cmd[1] = <u8>code;
    return i2c_write(this.bus, this.address, changetype<usize>(this.cmd), 2);
  }
}
