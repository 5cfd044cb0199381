// The physical quantities behind sensor models: a model asks its signal for the true value at a device
// time and then quantises it as the part would (register counts, pulse widths, ADC counts). Here: the
// PhysicalSignal interface, FixedSignal for tests, the seeded city-station generator (NoisySignal) and the
// transforms scripted scenarios apply (ramp, unplug, stuck). Randomness comes only from simulator/random.ts.
// Pure computation: touches nothing outside itself.
import { Random } from "../random.js";

export interface PhysicalSignal {
  /** The true physical value at device time tMs (degC, %RH, hPa, lx, ppm, cm, ...), or NaN while the
   *  sensor is "unplugged" by a scenario. Called with non-decreasing tMs. */
  at(tMs: number): number;
}

/** A signal that holds one value until set again: what tests use to put a known value in a model. */
export class FixedSignal implements PhysicalSignal {
  constructor(public value: number) {}
  at(): number { return this.value; }
}

export interface NoisySignalOptions {
  mean: number;
  /** Standard deviation of the signal around mean over a long run (outliers excluded). */
  std: number;
  seed: number | string;
  /** The walk advances once per stepMs of device time (default 1000). */
  stepMs?: number;
  /** Fraction of the gap to the mean closed each step (default 0.2); 0 < r <= 1. */
  recalibration?: number;
  /** How much of the last step's change carries into the next: drift toward the recent trend
   *  (default 0.3); 0 <= a < 1. */
  momentum?: number;
  /** Probability per step that the output is an outlier (default 0). */
  outlierRate?: number;
  /** An outlier is mean +- outlierSigmas * std, sign at random (default 6). */
  outlierSigmas?: number;
}

export const NOISY_DEFAULTS = { stepMs: 1000, recalibration: 0.2, momentum: 0.3, outlierRate: 0, outlierSigmas: 6 } as const;

/**
 * Normal noise around a mean with drift toward the recent trend, recalibration and outliers.
 *
 * The model, with d_k = x_k - mean the deviation at step k (step k covers [k*stepMs, (k+1)*stepMs)):
 *
 *     d_{k+1} = d_k - r * d_k + a * (d_k - d_{k-1}) + e_k,      e_k ~ N(0, se^2)
 *
 * r = recalibration (each step the value moves back toward the mean by r of the gap), a = momentum (the
 * last change carries on: drift toward the recent trend). This is an AR(2) process with phi1 = 1 - r + a,
 * phi2 = -a, whose stationary variance is se^2 (1 - phi2) / ((1 + phi2)((1 - phi2)^2 - phi1^2)); se is
 * chosen so that it equals std^2, so a long run has the configured mean and std. d_0 ~ N(0, std^2).
 * At each step, with probability outlierRate, the OUTPUT is mean +- outlierSigmas * std instead of x_k
 * (the walk itself is not disturbed). The value holds for the whole step.
 *
 * Every step draws exactly three numbers (one normal, two uniforms) from one stream seeded by `seed`, so
 * at(t) depends only on the seed and t, never on how often or where else the signal was evaluated.
 * Evaluating at an earlier time than before is allowed (the walk is replayed from step 0), but costs
 * O(t / stepMs).
 */
export class NoisySignal implements PhysicalSignal {
  readonly mean: number;
  readonly std: number;
  readonly stepMs: number;
  readonly recalibration: number;
  readonly momentum: number;
  readonly outlierRate: number;
  readonly outlierSigmas: number;
  private readonly innovationStd: number;
  private rng!: Random;
  private step = 0;
  private dev = 0;      // d_k
  private prevDev = 0;  // d_{k-1}
  private output = 0;   // the value of step k (x_k or an outlier)

  constructor(private readonly options: NoisySignalOptions) {
    this.mean = options.mean;
    this.std = options.std;
    this.stepMs = options.stepMs ?? NOISY_DEFAULTS.stepMs;
    this.recalibration = options.recalibration ?? NOISY_DEFAULTS.recalibration;
    this.momentum = options.momentum ?? NOISY_DEFAULTS.momentum;
    this.outlierRate = options.outlierRate ?? NOISY_DEFAULTS.outlierRate;
    this.outlierSigmas = options.outlierSigmas ?? NOISY_DEFAULTS.outlierSigmas;
    const problem = NoisySignal.check(this);
    if (problem) throw new RangeError(`NoisySignal: ${problem}`);
    const phi1 = 1 - this.recalibration + this.momentum;
    const phi2 = -this.momentum;
    this.innovationStd = this.std * Math.sqrt(((1 + phi2) * ((1 - phi2) ** 2 - phi1 ** 2)) / (1 - phi2));
    this.restart();
  }

  /** Why these parameters make no stationary signal, or undefined when they are fine. */
  static check(p: { std: number; stepMs: number; recalibration: number; momentum: number; outlierRate: number }): string | undefined {
    if (!(p.std >= 0)) return `std must be >= 0 (got ${p.std})`;
    if (!(p.stepMs > 0)) return `stepMs must be > 0 (got ${p.stepMs})`;
    if (!(p.recalibration > 0 && p.recalibration <= 1)) return `recalibration must be in (0, 1] (got ${p.recalibration})`;
    if (!(p.momentum >= 0 && p.momentum < 1)) return `momentum must be in [0, 1) (got ${p.momentum})`;
    if (!(p.outlierRate >= 0 && p.outlierRate <= 1)) return `outlierRate must be in [0, 1] (got ${p.outlierRate})`;
    return undefined;
  }

  at(tMs: number): number {
    const target = Math.max(0, Math.floor(tMs / this.stepMs));
    if (target < this.step) this.restart();
    while (this.step < target) this.advance();
    return this.output;
  }

  private restart(): void {
    this.rng = new Random(this.options.seed);
    this.step = 0;
    this.dev = this.rng.normal(0, this.std);
    this.prevDev = this.dev;
    this.output = this.mean + this.dev;
  }

  private advance(): void {
    const e = this.rng.normal(0, this.innovationStd);
    const outlier = this.rng.float() < this.outlierRate;
    const sign = this.rng.float() < 0.5 ? -1 : 1;
    const next = this.dev - this.recalibration * this.dev + this.momentum * (this.dev - this.prevDev) + e;
    this.prevDev = this.dev;
    this.dev = next;
    this.step++;
    this.output = outlier ? this.mean + sign * this.outlierSigmas * this.std : this.mean + this.dev;
  }
}

/** A time window [fromMs, untilMs) of a scripted event; untilMs undefined = forever. */
export interface Window {
  fromMs: number;
  untilMs?: number;
}

function inWindow(w: Window, tMs: number): boolean {
  return tMs >= w.fromMs && (w.untilMs === undefined || tMs < w.untilMs);
}

/** A heat-wave style ramp added to a signal: 0 before fromMs, rising linearly to delta over rampMs,
 *  held until untilMs (forever if undefined), then falling back to 0 over rampMs. */
export class RampSignal implements PhysicalSignal {
  constructor(private readonly base: PhysicalSignal, readonly w: Window & { rampMs: number; delta: number }) {}
  offset(tMs: number): number {
    const { fromMs, untilMs, rampMs, delta } = this.w;
    if (tMs < fromMs) return 0;
    const up = rampMs > 0 ? Math.min(1, (tMs - fromMs) / rampMs) : 1;
    if (untilMs === undefined || tMs < untilMs) return delta * up;
    const down = rampMs > 0 ? Math.max(0, 1 - (tMs - untilMs) / rampMs) : 0;
    return delta * Math.min(up, down);
  }
  at(tMs: number): number { return this.base.at(tMs) + this.offset(tMs); }
}

/** The sensor unplugged during a window: NaN (models NACK or time out), the base signal otherwise. */
export class UnpluggedSignal implements PhysicalSignal {
  constructor(private readonly base: PhysicalSignal, readonly w: Window) {}
  at(tMs: number): number {
    const v = this.base.at(tMs); // evaluated anyway so the base sees every time in order
    return inWindow(this.w, tMs) ? NaN : v;
  }
}

/** A stuck sensor during a window: holds `value`, or the base value at fromMs when none is given. */
export class StuckSignal implements PhysicalSignal {
  private held: number | undefined;
  constructor(private readonly base: PhysicalSignal, readonly w: Window & { value?: number }) {
    this.held = w.value;
  }
  at(tMs: number): number {
    if (tMs < this.w.fromMs) return this.base.at(tMs);
    if (this.held === undefined) this.held = this.base.at(this.w.fromMs);
    return inWindow(this.w, tMs) ? this.held : this.base.at(tMs);
  }
}
