// The aggregation core's windowing, statistics and threshold rules in plain TypeScript: the reference
// the Wasm core (firmware/core/window.ts, rules.ts) is tested against, and the bench's baseline. It
// must stay the same algorithm, operation for operation, so f64 results are bit-identical: Welford's
// update, population std sqrt(M2 / n), the same window rules (firmware/core/README.md). Pure: no I/O.

/** One closed window, as a SUMMARY entry carries it (before the f32 rounding of the frame). */
export interface WindowSummary {
  start: number;
  /** end - start, ms: start + bound for a time close, the closing instant otherwise. */
  length: number;
  /** Valid samples; 0 leaves the statistics NaN. */
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  last: number;
}

export const DEFAULT_WINDOW_MS = 60_000;
/** A SUMMARY's count is a u16: a window never takes more samples than this. */
export const MAX_WINDOW_SAMPLES = 0xffff;

const u32 = (x: number): number => x >>> 0;
/** Returned when nothing closed or fired, so the common path allocates nothing (a fair baseline). */
const NO_SUMMARIES: readonly WindowSummary[] = Object.freeze([]);
const NO_EVENTS: readonly RuleEvent[] = Object.freeze([]);

/** One frequent channel's windows. Times are device ms (u32, wrapping). */
export class ReferenceWindow {
  private open = false;
  private start = 0;
  /** End of the last closed window, null before any. */
  private prevEnd: number | null = null;
  private received = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private last = NaN;

  constructor(private ms: number = DEFAULT_WINDOW_MS, private count = 0) {
    if (ms === 0 && count === 0) throw new RangeError("a window needs a time or a count bound");
  }

  /** The first line of the ms grid after the open window's start (firmware/core/window.ts windowEnd). */
  private end(): number {
    return u32(this.start - (this.start % this.ms) + this.ms);
  }

  private timeBoundReached(now: number): boolean {
    return this.ms !== 0 && ((now - this.end()) | 0) >= 0;
  }

  private close(end: number): WindowSummary {
    this.open = false;
    this.prevEnd = end;
    const n = this.n;
    if (n === 0) return { start: this.start, length: u32(end - this.start), count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN };
    return { start: this.start, length: u32(end - this.start), count: n, min: this.lo, max: this.hi, mean: this.mean, std: Math.sqrt(this.m2 / n), last: this.last };
  }

  /** One sample (NaN = missing) at now; the windows it closed (0, 1 or 2), oldest first. */
  add(v: number, now: number): readonly WindowSummary[] {
    let closed: WindowSummary[] | null = null;
    if (this.open && this.timeBoundReached(now)) closed = [this.close(this.end())];
    if (!this.open) {
      this.open = true;
      // Start on the device-time grid of the window length (as firmware/core/window.ts), never
      // overlapping the previous window.
      let at = this.ms !== 0 ? u32(now - (now % this.ms)) : now;
      if (this.prevEnd !== null && ((at - this.prevEnd) | 0) < 0) at = now;
      this.start = at;
      this.received = 0;
      this.n = 0;
      this.mean = 0;
      this.m2 = 0;
      this.lo = Infinity;
      this.hi = -Infinity;
      this.last = NaN;
    }
    this.received++;
    if (!Number.isNaN(v)) {
      const k = ++this.n;
      const delta = v - this.mean;
      const m = this.mean + delta / k;
      this.mean = m;
      this.m2 = this.m2 + delta * (v - m);
      if (v < this.lo) this.lo = v;
      if (v > this.hi) this.hi = v;
      this.last = v;
    }
    if ((this.count !== 0 && this.received >= this.count) || this.received >= MAX_WINDOW_SAMPLES) (closed ??= []).push(this.close(now));
    return closed ?? NO_SUMMARIES;
  }

  /** The window closed by time at now, if its bound is reached. */
  tick(now: number): WindowSummary | null {
    return this.open && this.timeBoundReached(now) ? this.close(this.end()) : null;
  }

  /** New bounds mid-window: a window already past a new bound closes now (end = now). */
  setBounds(ms: number, count: number, now: number): WindowSummary | null {
    if (ms === 0 && count === 0) throw new RangeError("a window needs a time or a count bound");
    this.ms = ms;
    this.count = Math.min(count, MAX_WINDOW_SAMPLES);
    if (!this.open) return null;
    const overCount = this.count !== 0 && this.received >= this.count;
    return overCount || this.timeBoundReached(now) ? this.close(now) : null;
  }

  /** ms until the open window's time bound (0 if due), or null. */
  nextDelay(now: number): number | null {
    if (!this.open || this.ms === 0) return null;
    const left = (this.end() - now) | 0;
    return left > 0 ? left : 0;
  }
}

export type RuleEventKind = "ALERT_HIGH" | "ALERT_LOW" | "CLEAR";
export interface RuleEvent { kind: RuleEventKind; value: number }

/** Threshold rules with hysteresis behind a deadband, for one channel (firmware/core/rules.ts). */
export class ReferenceRules {
  high = NaN;
  low = NaN;
  hysteresis = 0;
  deadband = 0;
  private lastAccepted = NaN;
  private lastValue = NaN;
  private inHigh = false;
  private inLow = false;

  /** A valid value; the events it raises. */
  apply(v: number): readonly RuleEvent[] {
    let out: RuleEvent[] | null = null;
    this.lastValue = v;
    if (this.deadband > 0 && Math.abs(v - this.lastAccepted) < this.deadband) return NO_EVENTS;
    this.lastAccepted = v;
    if (!Number.isNaN(this.high)) {
      if (!this.inHigh) { if (v > this.high) { this.inHigh = true; (out ??= []).push({ kind: "ALERT_HIGH", value: v }); } }
      else if (v < this.high - this.hysteresis) { this.inHigh = false; (out ??= []).push({ kind: "CLEAR", value: v }); }
    }
    if (!Number.isNaN(this.low)) {
      if (!this.inLow) { if (v < this.low) { this.inLow = true; (out ??= []).push({ kind: "ALERT_LOW", value: v }); } }
      else if (v > this.low + this.hysteresis) { this.inLow = false; (out ??= []).push({ kind: "CLEAR", value: v }); }
    }
    return out ?? NO_EVENTS;
  }

  /** New bounds; the CLEAR events of sides disabled while alerted. Throws on invalid bounds. */
  setThreshold(high: number, low: number, hysteresis: number): RuleEvent[] {
    if (!(hysteresis >= 0) || (!Number.isNaN(high) && !Number.isNaN(low) && low > high)) throw new RangeError("invalid threshold");
    this.high = high;
    this.low = low;
    this.hysteresis = hysteresis;
    this.lastAccepted = NaN;
    const out: RuleEvent[] = [];
    if (Number.isNaN(high) && this.inHigh) { this.inHigh = false; out.push({ kind: "CLEAR", value: this.lastValue }); }
    if (Number.isNaN(low) && this.inLow) { this.inLow = false; out.push({ kind: "CLEAR", value: this.lastValue }); }
    return out;
  }
}

/** Frequent channels with windows and rules: what the core does with sample() and tick(), minus the
 *  frames. The bench feeds it the same inputs as the Wasm core. */
export class ReferenceAggregator {
  readonly windows: ReferenceWindow[] = [];
  readonly rules: ReferenceRules[] = [];
  samples = 0;
  dropped = 0;

  constructor(channels: number, private readonly onSummary: (channel: number, s: WindowSummary) => void = () => {}, private readonly onEvent: (channel: number, e: RuleEvent) => void = () => {}) {
    for (let i = 0; i < channels; i++) { this.windows.push(new ReferenceWindow()); this.rules.push(new ReferenceRules()); }
  }

  sample(ch: number, v: number, now: number): void {
    const w = this.windows[ch];
    if (!w) return;
    if (Number.isNaN(v)) this.dropped++;
    else this.samples++;
    for (const s of w.add(v, now)) this.onSummary(ch, s);
    if (!Number.isNaN(v)) for (const e of this.rules[ch].apply(v)) this.onEvent(ch, e);
  }

  tick(now: number): void {
    this.windows.forEach((w, ch) => { const s = w.tick(now); if (s) this.onSummary(ch, s); });
  }
}
