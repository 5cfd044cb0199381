// Model of an MH-Z19B CO2 sensor's PWM output pin, answering the HAL's pwm_read: a free-running 1004 ms
// cycle whose high time encodes the physical ppm, captured from the first pwm_read on. Jitter is seeded per
// cycle index, so a cycle's widths depend only on the seed and when it happened. Faults: noAnswer and stuck
// (no edges: ERR_TIMEOUT once 2.5 s passed without a cycle). Touches only its signal.
// Source: Winsen MH-Z19B User's Manual V1.0, section "PWM output": cycle 1004 ms +-5% = 2 ms high start +
// 1000 ms +-5% middle + 2 ms low end; Cppm = range * (TH - 2 ms) / (TH + TL - 4 ms).
import { Status } from "../../hal/abi.generated.js";
import type { HalStatus, PinDevice } from "../../hal/buses.js";
import { deriveSeed, hashInts, Random } from "../../random.js";
import type { PinFault } from "../pin-faults.js";
import type { PhysicalSignal } from "../signal.js";

export const MHZ19B = {
  edgeUs: 2000,
  middleUs: 1_000_000,
  /** HAL pwm_read: ERR_TIMEOUT after two cycles of the slowest supported signal without an edge. */
  deadAfterUs: 2_500_000,
} as const;

export interface Mhz19bModelOptions {
  co2: PhysicalSignal;        // ppm
  rangePpm: 2000 | 5000;      // the range the module is configured for
  /** The middle section's length relative to 1000 ms (datasheet: +-5%, so 0.95..1.05; default 1). */
  cycleScale?: number;
  /** When cycle 0 starts, us of device time (default 0). */
  phaseUs?: number;
  seed?: number | string;
  /** Standard deviation of each edge's timing, us (default 5), clipped to +-3 sigma. */
  jitterUs?: number;
  fault?: PinFault;
}

export class Mhz19bModel implements PinDevice {
  fault: PinFault;
  private captureFromUs: number | undefined;
  private readonly middleUs: number;
  private readonly cycleUs: number;
  private readonly seed: number;

  constructor(private readonly options: Mhz19bModelOptions) {
    this.fault = options.fault ?? "none";
    this.middleUs = MHZ19B.middleUs * (options.cycleScale ?? 1);
    this.cycleUs = this.middleUs + 2 * MHZ19B.edgeUs;
    this.seed = deriveSeed(options.seed ?? "mhz19b");
  }

  /** [highUs, lowUs] of cycle k, or undefined when the line is dead during it. */
  cycle(k: number): [number, number] | undefined {
    const startUs = (this.options.phaseUs ?? 0) + k * this.cycleUs;
    const ppm = this.options.co2.at(startUs / 1000);
    if (this.fault !== "none" || Number.isNaN(ppm)) return undefined;
    const share = Math.min(1, Math.max(0, ppm / this.options.rangePpm));
    const rng = new Random(hashInts(this.seed, k));
    const sd = this.options.jitterUs ?? 5;
    const high = MHZ19B.edgeUs + this.middleUs * share + rng.clippedNormal(0, sd, 3 * sd);
    const low = this.cycleUs - high + rng.clippedNormal(0, sd, 3 * sd);
    return [Math.round(high), Math.round(low)];
  }

  pwmCycle(nowUs: number): [number, number] | HalStatus {
    if (this.captureFromUs === undefined) { this.captureFromUs = nowUs; return Status.ERR_NOT_READY; }
    const phase = this.options.phaseUs ?? 0;
    const last = Math.floor((nowUs - phase) / this.cycleUs) - 1; // the last cycle that ended by nowUs
    const captured = phase + last * this.cycleUs >= this.captureFromUs; // capture saw its rising edge
    const widths = captured ? this.cycle(last) : undefined;
    if (widths) return widths;
    return nowUs - this.captureFromUs >= MHZ19B.deadAfterUs ? Status.ERR_TIMEOUT : Status.ERR_NOT_READY;
  }
}
