// Command-level model of a ROHM BH1750FVI on I2C (datasheet Rev.D): power down/on/reset, the six
// measurement modes with their typical times (p.2) scaled by MTreg (p.11), one-time modes powering
// down after their measurement, MTreg set through its high/low instructions (p.5), and a two-byte
// result register. Behind the channel a PhysicalSignal in lx. Fault switches: unplugged, stuck
// output. Touches nothing outside this object.
import type { HalStatus, I2cTarget } from "../../hal/buses.js";
import type { PhysicalSignal } from "../signal.js";

const OK = 0;
const ERR_NACK = -1;

const POWER_DOWN = 0x00;  // instruction set, p.5
const POWER_ON = 0x01;
const RESET = 0x07;       // clears the data register; not accepted in power down (p.5)
export const MTREG_DEFAULT = 69;
/** Counts per lx at MTreg 69 in H-resolution mode ("Measurement Accuracy" typ 1.2, p.2). */
export const COUNTS_PER_LX = 1.2;
/** Typical measurement times at MTreg 69 (p.2): H and H2 120 ms, L 16 ms. */
const H_TYP_MS = 120;
const L_TYP_MS = 16;
/** L-resolution mode has 4 lx resolution (p.5). The datasheet does not say how the count shows it;
 *  the model reports counts in steps of 4 (3.3 lx at MTreg 69). */
export const L_COUNT_STEP = 4;

type Resolution = "H" | "H2" | "L";
const MODES: Record<number, { res: Resolution; oneTime: boolean }> = {
  0x10: { res: "H", oneTime: false }, 0x11: { res: "H2", oneTime: false }, 0x13: { res: "L", oneTime: false },
  0x20: { res: "H", oneTime: true }, 0x21: { res: "H2", oneTime: true }, 0x23: { res: "L", oneTime: true },
};

/** The count the part reports for lx with this resolution and MTreg (p.7 and p.11, inverted). */
export function bh1750Count(lx: number, res: Resolution, mtreg: number): number {
  let count = (lx * COUNTS_PER_LX * mtreg) / MTREG_DEFAULT;
  if (res === "H2") count *= 2;
  count = res === "L" ? Math.round(count / L_COUNT_STEP) * L_COUNT_STEP : Math.round(count);
  return Math.max(0, Math.min(0xffff, count));
}

export interface Bh1750ModelOptions {
  /** 0x23 (ADDR low, default) or 0x5C (ADDR high). */
  address?: number;
  illuminance: PhysicalSignal;  // lx
  /** Wire time charged to the device clock per read transaction (the HAL charges none). */
  transactionUs?: number;
}

export class Bh1750Model implements I2cTarget {
  readonly address: number;
  plugged = true;
  /** Fault: the result register stops updating. */
  stuck = false;

  private readonly transactionUs: number;
  private powered = false;      // the initial state is power down (p.5)
  private mtreg = MTREG_DEFAULT;
  private mode: { res: Resolution; oneTime: boolean; mtreg: number } | null = null;
  private startUs = 0;
  private completed = 0;        // measurements of the current mode already in the result register
  private result = 0;

  constructor(private readonly options: Bh1750ModelOptions) {
    this.address = options.address ?? 0x23;
    this.transactionUs = options.transactionUs ?? 100;
  }

  /** Current state, for tests. */
  get state(): { powered: boolean; mtreg: number; measuring: boolean } {
    return { powered: this.powered, mtreg: this.mtreg, measuring: this.mode !== null };
  }

  present(nowUs: number): boolean {
    return this.plugged && !Number.isNaN(this.options.illuminance.at(nowUs / 1000));
  }

  stretchUs(): number { return this.transactionUs; }

  write(data: Uint8Array, nowUs: number): HalStatus {
    this.update(nowUs);
    for (const op of data) {
      if (op === POWER_DOWN) { this.powered = false; this.mode = null; }
      else if (op === POWER_ON) this.powered = true;
      else if (op === RESET) { if (this.powered) this.result = 0; }
      else if ((op & 0xf8) === 0x40) this.mtreg = ((op & 0x07) << 5) | (this.mtreg & 0x1f);
      else if ((op & 0xe0) === 0x60) this.mtreg = (this.mtreg & 0xe0) | (op & 0x1f);
      else if (MODES[op]) {
        // A measurement instruction also powers the part up (one-time modes are re-sent from power down).
        this.powered = true;
        this.mode = { ...MODES[op], mtreg: this.mtreg };
        this.startUs = nowUs;
        this.completed = 0;
      } else return ERR_NACK;
    }
    return OK;
  }

  read(out: Uint8Array, nowUs: number): HalStatus {
    this.update(nowUs);
    out.fill(0xff);
    if (out.length > 0) out[0] = this.result >> 8;
    if (out.length > 1) out[1] = this.result & 0xff;
    return OK;
  }

  private measurementUs(mode: { res: Resolution; mtreg: number }): number {
    return ((mode.res === "L" ? L_TYP_MS : H_TYP_MS) * mode.mtreg / MTREG_DEFAULT) * 1000;
  }

  /** Results that completed by nowUs reach the data register; the signal is read when the model
   *  first sees a completed measurement (signals are read at non-decreasing times). */
  private update(nowUs: number): void {
    const mode = this.mode;
    if (!mode) return;
    const done = Math.floor((nowUs - this.startUs) / this.measurementUs(mode));
    if (done <= this.completed) return;
    this.completed = done;
    if (!this.stuck) this.result = bh1750Count(this.options.illuminance.at(nowUs / 1000), mode.res, mode.mtreg);
    if (mode.oneTime) { this.mode = null; this.powered = false; } // "automatically set to Power Down" (p.5)
  }
}
