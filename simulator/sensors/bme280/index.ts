// Register-level model of a Bosch BME280 on I2C (BST-BME280-DS002): the register map with its reset
// values (Table 18), register writes in address/data pairs and auto-incrementing burst reads
// (section 6.2), soft reset, ctrl_hum latched by ctrl_meas, sleep/forced/normal modes with the
// typical measurement time (section 9.1), shadowed data registers, the "skipped" outputs, and the
// resolution the oversampling gives (section 3.4.2-3.4.3). Behind each channel a PhysicalSignal; the
// raw ADC values are what Bosch's compensation (./compensation.ts) maps back to the physical value.
// Touches nothing outside this object.
import type { HalStatus, I2cTarget } from "../../hal/buses.js";
import type { PhysicalSignal } from "../signal.js";
import {
  REAL_PART_CALIBRATION, Bme280Compensation, calibrationImage, invertMonotonic, type Bme280Calibration,
} from "./compensation.js";

export { BOSCH_EXAMPLE_CALIBRATION, REAL_PART_CALIBRATION, Bme280Compensation } from "./compensation.js";
export type { Bme280Calibration } from "./compensation.js";

const OK = 0;
const CHIP_ID = 0x60;               // 0xD0 "id" (section 5.4.1)
const SKIPPED_20BIT = 0x80000;      // output of a skipped T/P measurement (sections 5.4.7, 5.4.8)
const SKIPPED_16BIT = 0x8000;       // output of a skipped H measurement (section 5.4.9)
const RAW20_MAX = 0xfffff;
const RAW16_MAX = 0xffff;
/** Standby times of normal mode in ms for t_sb codes 0..7 (Table 27). */
const STANDBY_MS = [0.5, 62.5, 125, 250, 500, 1000, 10, 20];

export interface Bme280ModelOptions {
  /** 0x76 (SDO low, default) or 0x77 (section 6.2). */
  address?: number;
  temperature: PhysicalSignal;   // degC
  humidity: PhysicalSignal;      // %RH
  pressure: PhysicalSignal;      // hPa
  /** Trimming parameters in the NVM (default: a real part's, see compensation.ts). */
  calibration?: Bme280Calibration;
  /** Fault: what register 0xD0 answers (a BMP280 says 0x58). */
  chipId?: number;
  /** Wire time charged to the device clock per read transaction (the HAL charges none), so a
   *  driver polling the status register sees time pass: ~ a register read at 400 kHz. */
  transactionUs?: number;
}

/** Raw ADC values of one conversion (20-bit T and P, 16-bit H). */
export interface Bme280Raw { t: number; p: number; h: number; }

export class Bme280Model implements I2cTarget {
  readonly address: number;
  /** Scenario switch: an unplugged part does not acknowledge its address. */
  plugged = true;
  /** Fault: the data registers stop updating (conversions still run and clear "measuring"). */
  stuck = false;
  /** Fault: status.measuring never clears (a hung conversion). */
  stuckMeasuring = false;
  /** Fault or fixture: conversions report these raw values instead of the signals' (e.g. the
   *  datasheet's worked example). */
  forcedRaw: Partial<Bme280Raw> | null = null;
  /** The raw values of the last conversion written to the data registers. */
  lastRaw: Bme280Raw | null = null;

  readonly compensation: Bme280Compensation;
  private readonly regs = new Uint8Array(256);
  private readonly image: { tp: Uint8Array; h: Uint8Array };
  private readonly transactionUs: number;
  private pointer = 0;
  private ctrlHumLatched = 0;
  private convEndUs = -1;            // the running or last forced conversion ends
  private convApplied = true;
  private convRaw: Bme280Raw | null = null; // its result, sampled when it started
  private normalSinceUs = 0;          // normal mode: when the first cycle started
  private normalCycles = 0;           // normal mode: cycles already in the data registers
  private imUpdateUntilUs = 0;        // status.im_update is set until then (NVM copy)
  private cache: { T: number; P: number; H: number; stepT: number; stepP: number; raw: Bme280Raw } | null = null;

  constructor(private readonly options: Bme280ModelOptions) {
    this.address = options.address ?? 0x76;
    this.compensation = new Bme280Compensation(options.calibration ?? REAL_PART_CALIBRATION);
    this.image = calibrationImage(this.compensation.c);
    this.transactionUs = options.transactionUs ?? 100;
    this.reset(0);
  }

  present(nowUs: number): boolean {
    if (!this.plugged) return false;
    const t = nowUs / 1000;
    const { temperature, humidity, pressure } = this.options;
    return !Number.isNaN(temperature.at(t)) && !Number.isNaN(humidity.at(t)) && !Number.isNaN(pressure.at(t));
  }

  stretchUs(): number { return this.transactionUs; }

  write(data: Uint8Array, nowUs: number): HalStatus {
    this.advance(nowUs);
    if (data.length === 1) { this.pointer = data[0]; return OK; }
    // Writes are register address / data pairs; there is no auto-increment on write (section 6.2.1).
    for (let i = 0; i + 1 < data.length; i += 2) this.writeRegister(data[i], data[i + 1], nowUs);
    if (data.length % 2 === 1) this.pointer = data[data.length - 1];
    return OK;
  }

  read(out: Uint8Array, nowUs: number): HalStatus {
    this.advance(nowUs);
    for (let i = 0; i < out.length; i++) {
      out[i] = this.registerValue(this.pointer, nowUs);
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return OK;
  }

  /** Power-on reset state (section 5.4.2 and Table 18's reset values). */
  private reset(nowUs: number): void {
    this.regs.fill(0);
    this.regs.set(this.image.tp, 0x88);
    this.regs.set(this.image.h, 0xe1);
    this.regs[0xd0] = this.options.chipId ?? CHIP_ID;
    this.regs.set([0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00], 0xf7);
    this.ctrlHumLatched = 0;
    this.convEndUs = -1;
    this.convApplied = true;
    // The NVM is copied to the image registers after reset: im_update stays set meanwhile (5.4.4);
    // the start-up time bounds it (Table 1: 2 ms). The model copies for 1 ms.
    this.imUpdateUntilUs = nowUs + 1000;
  }
  private writeRegister(reg: number, value: number, nowUs: number): void {
    switch (reg) {
      case 0xe0: if (value === 0xb6) this.reset(nowUs); return;    // section 5.4.2
      case 0xf2: this.regs[reg] = value & 0x07; return;             // section 5.4.3
      case 0xf5: this.regs[reg] = value & 0xfd; return;             // section 5.4.6 (bit 1 reserved)
      case 0xf4: {                                                  // section 5.4.5
        this.regs[reg] = value;
        this.ctrlHumLatched = this.regs[0xf2];
        const mode = value & 0x03;
        if ((mode === 0b01 || mode === 0b10) && !this.measuring(nowUs)) {
          this.convEndUs = nowUs + this.measurementMs() * 1000;
          this.convApplied = false;
          this.convRaw = this.conversion(nowUs);
        }
        if (mode === 0b11) { this.normalSinceUs = nowUs; this.normalCycles = 0; }
        return;
      }
      default: return; // read-only or reserved: ignored
    }
  }

  private registerValue(reg: number, nowUs: number): number {
    if (reg === 0xf3) return (this.measuring(nowUs) ? 0x08 : 0) | (nowUs < this.imUpdateUntilUs ? 0x01 : 0);
    return this.regs[reg];
  }

  private measuring(nowUs: number): boolean {
    if (this.stuckMeasuring) return true;
    if ((this.regs[0xf4] & 0x03) === 0b11) return true; // normal mode: always cycling
    return nowUs < this.convEndUs;
  }

  /** Typical measurement time in ms (section 9.1): 1 + 2*T + (2*P + 0.5) + (2*H + 0.5). */
  private measurementMs(): number {
    const os = (code: number): number => (code === 0 ? 0 : 1 << (Math.min(code, 5) - 1));
    const t = os(this.regs[0xf4] >> 5), p = os((this.regs[0xf4] >> 2) & 0x07), h = os(this.ctrlHumLatched & 0x07);
    return 1 + 2 * t + (p ? 2 * p + 0.5 : 0) + (h ? 2 * h + 0.5 : 0);
  }

  /** Complete conversions that ended by nowUs: the data registers change only then (shadowing).
   *  Signals are read at transaction times only, so at non-decreasing times: a forced conversion
   *  samples them when it starts, a normal-mode cycle when the model first sees it completed. */
  private advance(nowUs: number): void {
    const mode = this.regs[0xf4] & 0x03;
    if (mode === 0b11) {
      const cycleUs = (this.measurementMs() + STANDBY_MS[this.regs[0xf5] >> 5]) * 1000;
      const done = Math.floor((nowUs - this.normalSinceUs - this.measurementMs() * 1000) / cycleUs) + 1;
      if (done > this.normalCycles) {
        this.normalCycles = done;
        this.store(this.conversion(nowUs));
      }
      return;
    }
    if (!this.convApplied && nowUs >= this.convEndUs) {
      this.convApplied = true;
      this.store(this.convRaw!);
      this.regs[0xf4] &= 0xfc; // back to sleep after a forced measurement (section 3.3.3)
    }
  }

  /** The data registers of a completed conversion (section 5.4.7-5.4.9), unless stuck. */
  private store(raw: Bme280Raw): void {
    if (this.stuck) return;
    const { t, p, h } = raw;
    this.lastRaw = raw;
    const r = this.regs; // press 0xF7..0xF9, temp 0xFA..0xFC, hum 0xFD..0xFE
    r[0xf7] = p >> 12; r[0xf8] = (p >> 4) & 0xff; r[0xf9] = (p & 0x0f) << 4;
    r[0xfa] = t >> 12; r[0xfb] = (t >> 4) & 0xff; r[0xfc] = (t & 0x0f) << 4;
    r[0xfd] = h >> 8; r[0xfe] = h & 0xff;
  }

  /** The raw values of a conversion with the current settings, from the signals at nowUs. */
  private conversion(nowUs: number): Bme280Raw {
    const tMs = nowUs / 1000;
    const osrsT = this.regs[0xf4] >> 5, osrsP = (this.regs[0xf4] >> 2) & 0x07, osrsH = this.ctrlHumLatched & 0x07;
    const filtered = ((this.regs[0xf5] >> 2) & 0x07) !== 0;
    const raw = this.physicalRaw(tMs, filtered ? 1 : this.step(osrsT), filtered ? 1 : this.step(osrsP));
    const f = this.forcedRaw ?? {};
    const t = osrsT === 0 ? SKIPPED_20BIT : (f.t ?? raw.t);
    const p = osrsP === 0 ? SKIPPED_20BIT : (f.p ?? raw.p);
    const h = osrsH === 0 ? SKIPPED_16BIT : (f.h ?? raw.h);
    return { t, p, h };
  }

  /** Without the IIR filter, T and P have 16 + (osrs - 1) bits (section 3.4.3): the low bits of the
   *  20-bit value are 0, so the raw value moves in steps of 2^(20 - bits). */
  private step(osrs: number): number { return 1 << (20 - Math.min(15 + Math.max(osrs, 1), 20)); }

  /** Raw values that compensate back to the signals' values: the part's internal temperature sets
   *  t_fine for P and H even when T's output is skipped. Memoised on the inputs. */
  private physicalRaw(tMs: number, stepT: number, stepP: number): Bme280Raw {
    const T = this.options.temperature.at(tMs), P = this.options.pressure.at(tMs), H = this.options.humidity.at(tMs);
    const k = this.cache;
    if (k && k.T === T && k.P === P && k.H === H && k.stepT === stepT && k.stepP === stepP) return k.raw;
    const c = this.compensation, hint = this.cache?.raw;
    const t = avoid(invertMonotonic((r) => c.temperature(r).t, { lo: 0, hi: RAW20_MAX, step: stepT, rising: true }, T * 100, hint?.t), SKIPPED_20BIT, stepT);
    const tFine = c.temperature(t).tFine;
    // Read as signed: past ~0.9 * 2^20 the formula's p goes negative and wraps in its u32 result.
    const p = avoid(invertMonotonic((r) => c.pressure(r, tFine) | 0, { lo: 0, hi: RAW20_MAX, step: stepP, rising: false }, P * 100 * 256, hint?.p), SKIPPED_20BIT, stepP);
    const h = avoid(invertMonotonic((r) => c.humidity(r, tFine), { lo: 0, hi: RAW16_MAX, step: 1, rising: true }, H * 1024, hint?.h), SKIPPED_16BIT, 1);
    const raw = { t, p, h };
    this.cache = { T, P, H, stepT, stepP, raw };
    return raw;
  }
}

/** A measured value equal to the "skipped" marker would read as missing: real noise moves it; the
 *  model moves it by one step. */
function avoid(raw: number, marker: number, step: number): number {
  return raw === marker ? raw + step : raw;
}
