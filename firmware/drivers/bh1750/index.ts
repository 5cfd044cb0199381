// BH1750FVI driver (ROHM datasheet BH1750FVI, Rev.D / 2011.11): illuminance in lx over I2C, in any of
// the six measurement modes with any MTreg. The part has no status register and a measurement takes
// up to 180 ms, so fetch never waits: in continuous modes it reads the latest result (ERR_NOT_READY
// before the first one is due); in one-time modes each fetch collects the measurement the previous
// fetch (or setup) started and starts the next, so a reading is one fetch period old.
// Touches only the HAL's I2C imports and its own buffers; allocates in the constructor only.
import { i2c_write, i2c_read, time_ms, OK, ERR_INVALID, ERR_NOT_READY } from "../../hal/imports";
import { Sensor, ERR_RANGE } from "../sensor";
import { openI2cBus } from "../i2c";

export const BH1750_ADDRESS: i32 = 0x23;       // ADDR low ("Measurement sequence example", p.10)
export const BH1750_ADDRESS_ALT: i32 = 0x5C;   // ADDR high

// Instruction set (p.5, "Instruction Set Architecture").
const CMD_POWER_ON: u8 = 0x01;
const CMD_MTREG_HIGH: u8 = 0x40;               // 01000_MT[7:5]
const CMD_MTREG_LOW: u8 = 0x60;                // 011_MT[4:0]
export const MODE_CONTINUOUS_H: u8 = 0x10;     // 1 lx resolution, typ 120 ms
export const MODE_CONTINUOUS_H2: u8 = 0x11;    // 0.5 lx resolution, typ 120 ms
export const MODE_CONTINUOUS_L: u8 = 0x13;     // 4 lx resolution, typ 16 ms
export const MODE_ONE_TIME_H: u8 = 0x20;       // as above, then power down
export const MODE_ONE_TIME_H2: u8 = 0x21;
export const MODE_ONE_TIME_L: u8 = 0x23;

export const MTREG_DEFAULT: u8 = 69;           // p.11, "Adjust measurement result for influence of optical window"
export const MTREG_MIN: u8 = 31;
export const MTREG_MAX: u8 = 254;
/** Count per lx at MTreg 69 ("Measurement Accuracy" typ 1.2, p.2; lx = count / 1.2, p.7). */
const COUNTS_PER_LX: f64 = 1.2;
/** Maximum measurement times at MTreg 69 (p.2): H-resolution 180 ms, L-resolution 24 ms; they
 *  scale with MTreg (p.11). */
const H_MAX_MS: u32 = 180;
const L_MAX_MS: u32 = 24;

export class Bh1750 extends Sensor {
  private readonly bus: i32;
  private readonly address: i32;
  private mode: u8;
  private mtreg: u8;
  private readonly tx: StaticArray<u8> = new StaticArray<u8>(1);
  private readonly rx: StaticArray<u8> = new StaticArray<u8>(2);
  private illuminance: f64 = NaN;
  private readyAt: u32 = 0;      // time_ms when the result being made is due
  private started: bool = false; // a measurement was started and not collected (one-time) / running (continuous)

  constructor(bus: i32, address: i32 = BH1750_ADDRESS, mode: u8 = MODE_CONTINUOUS_H, mtreg: u8 = MTREG_DEFAULT) {
    super();
    this.bus = bus;
    this.address = address;
    this.mode = mode;
    this.mtreg = mtreg;
  }

  name(): string { return "bh1750"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "illuminance"; }
  channelUnit(i: i32): string { return "lx"; }
  /** A new result no sooner than one maximum measurement time (continuous modes). */
  minIntervalMs(): u32 { return this.measurementMaxMs(); }

  setup(): i32 {
    const s = openI2cBus(this.bus);
    return s != OK ? s : this.configure(this.mode, this.mtreg);
  }

  /** Change mode and MTreg at run time (as setup does): power on, MTreg, start measuring. */
  configure(mode: u8, mtreg: u8): i32 {
    if (!validMode(mode) || mtreg < MTREG_MIN || mtreg > MTREG_MAX) return ERR_INVALID;
    this.mode = mode;
    this.mtreg = mtreg;
    this.started = false;
    let s = this.command(CMD_POWER_ON);
    if (s != OK) return s;
    s = this.command(CMD_MTREG_HIGH | (mtreg >> 5));
    if (s != OK) return s;
    s = this.command(CMD_MTREG_LOW | (mtreg & 0x1F));
    if (s != OK) return s;
    return this.trigger(time_ms());
  }

  fetch(now: u32): i32 {
    if (!this.started) {
      const s = this.trigger(now);
      return s != OK ? s : ERR_NOT_READY;
    }
    if (<i32>(now - this.readyAt) < 0) return ERR_NOT_READY;
    const buf = changetype<usize>(this.rx);
    let s = i2c_read(this.bus, this.address, buf, 2);
    if (s != OK) return s;
    const count = (<u32>load<u8>(buf) << 8) | <u32>load<u8>(buf + 1);
    if (isOneTime(this.mode)) {
      this.started = false;
      s = this.trigger(now); // the next reading, collected by the next fetch
      if (s != OK) return s;
    }
    if (count == 0xFFFF) return ERR_RANGE; // saturated: brighter than this MTreg can measure
    // lx = count / 1.2 * (69 / MTreg), halved in H-resolution mode 2 (p.11).
    let lx = <f64>count / COUNTS_PER_LX * (<f64>MTREG_DEFAULT / <f64>this.mtreg);
    if (isMode2(this.mode)) lx /= 2.0;
    this.illuminance = lx;
    return OK;
  }

  read(i: i32): f64 { return i == 0 ? this.illuminance : NaN; }

  /** Maximum measurement time of the current mode and MTreg, in ms, rounded up. */
  measurementMaxMs(): u32 {
    const base = isLowRes(this.mode) ? L_MAX_MS : H_MAX_MS;
    return (base * <u32>this.mtreg + <u32>MTREG_DEFAULT - 1) / <u32>MTREG_DEFAULT;
  }

  private trigger(now: u32): i32 {
    const s = this.command(this.mode);
    if (s != OK) return s;
    this.started = true;
    this.readyAt = now + this.measurementMaxMs();
    return OK;
  }

  private command(code: u8): i32 {
    this.tx[0] = code;
    return i2c_write(this.bus, this.address, changetype<usize>(this.tx), 1);
  }
}

function validMode(mode: u8): bool {
  return mode == MODE_CONTINUOUS_H || mode == MODE_CONTINUOUS_H2 || mode == MODE_CONTINUOUS_L ||
    mode == MODE_ONE_TIME_H || mode == MODE_ONE_TIME_H2 || mode == MODE_ONE_TIME_L;
}
function isOneTime(mode: u8): bool { return (mode & 0x20) != 0; }
function isMode2(mode: u8): bool { return (mode & 0x0F) == 0x01; }
function isLowRes(mode: u8): bool { return (mode & 0x0F) == 0x03; }
