// HeapMode (heap-mode.ts): V8 run for size at start and while taking frames slowly or with no upstream
// connected, for speed while taking them fast, back to size only after SLOW_SECONDS slow seconds in a row. Fake timers drive it;
// the flag it sets is V8's of this test process (harmless: it only changes how the heap grows).
import { setFlagsFromString } from "node:v8";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FAST_ABOVE, HeapMode, SMALL_BELOW } from "./heap-mode.js";

afterEach(() => { vi.useRealTimers(); setFlagsFromString("--no-optimize-for-size"); });

describe("HeapMode", () => {
  it("switches to speed above FAST_ABOVE frames/s in with an upstream connected, back to size after five slow seconds", () => {
    vi.useFakeTimers();
    let out = 0;
    let connected = true;
    const mode = new HeapMode(() => out, () => connected).start();
    // One second at `rate` frames/s, in the mode's half-second ticks.
    const second = (rate: number) => { for (let q = 0; q < 2; q++) { out += rate / 2; vi.advanceTimersByTime(500); } return mode.small; };
    expect(mode.small).toBe(true);
    expect(second(FAST_ABOVE - 1)).toBe(true);
    expect(second(FAST_ABOVE + 1)).toBe(false);
    expect([1, 2, 3, 4].map(() => second(SMALL_BELOW - 1))).toEqual([false, false, false, false]);
    expect(second(SMALL_BELOW)).toBe(false); // not slow: the count starts again
    expect([1, 2, 3, 4, 5].map(() => second(0))).toEqual([false, false, false, false, true]);
    connected = false; // an outage: the spool alone takes the flood, in small mode
    expect(second(10 * FAST_ABOVE)).toBe(true);
    mode.stop();
  });
});
