// How the `iotfw bridge` process asks V8 to trade speed for memory (docs/bridge.md "Memory", issue 11).
// The bridge's live heap is a few tens of MiB, but by default V8 lets the old space grow to several times
// that between collections and keeps the pages afterwards: 170-210 MiB resident forwarding 2,000 devices
// at 5,000 frames/s, 220-650 MiB after taking a flood of 1,000,000 frames with the broker down.
// --optimize-for-size (smaller heap growth steps, memory given back) brings both to about 100 MiB, but it
// costs the garbage collector so much that forwarding fast halves: 17,000 instead of 37,000 frames/s
// into mosquitto. So: small while taking at most a few thousand frames/s (a Pi's fleet), or while no
// upstream is connected (an outage: the spool alone still takes ~60,000 frames/s); fast while taking
// more with somewhere to forward them. The rate in, not out: in small mode a fast load is forwarded
// slowly, and measuring that would keep it small. The flag is read by the collector at every
// collection, so it is set in the running process (v8.setFlagsFromString; Node warns that flags set
// after start may misbehave: this one has only been seen to change how the heap grows): no re-exec,
// which would cost a second Node process (the ~40 MiB this saves) and need signals and exit codes
// passed on. Only the bridge's CLI uses this (not tests or other commands, which share their process).
// May touch: V8's flags of this process.
import { setFlagsFromString } from "node:v8";

/** Accepted frames/s above which, with an upstream connected, the heap is run for speed... */
export const FAST_ABOVE = 12_000;
/** ... and below which, for SLOW_SECONDS in a row, for size again. */
export const SMALL_BELOW = 6000;
const SLOW_SECONDS = 5;
/** How often the rate is looked at: a burst is run for speed within half a second, and a
 *  steady 5,000 frames/s that arrives in clumps on a busy machine is not taken for one. */
const TICK_MS = 500;

export class HeapMode {
  small = false;
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  /** Slow ticks in a row. */
  private slow = 0;

  /** `accepted`: frames accepted so far (a counter); `forwarding`: is an upstream connected. Starts small. */
  constructor(private readonly accepted: () => number, private readonly forwarding: () => boolean) {}

  start(): this {
    this.set(true);
    this.last = this.accepted();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    return this;
  }

  private tick(): void {
    const now = this.accepted();
    const rate = this.forwarding() ? ((now - this.last) * 1000) / TICK_MS : 0;
    this.last = now;
    if (rate > FAST_ABOVE) { this.slow = 0; if (this.small) this.set(false); return; }
    this.slow = rate < SMALL_BELOW ? this.slow + 1 : 0;
    if (!this.small && this.slow >= (SLOW_SECONDS * 1000) / TICK_MS) this.set(true);
  }

  private set(small: boolean): void {
    this.small = small;
    setFlagsFromString(small ? "--optimize-for-size" : "--no-optimize-for-size");
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
