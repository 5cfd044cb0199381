// The core's windows through the compiled Wasm: edges by time and by count, both bounds, empty windows,
// batching into SUMMARY frames, and the statistics against simulator/reference/aggregator.ts on seeded
// inputs, including large offsets where a naive sum of squares would fail.
import { describe, expect, test } from "vitest";
import type { SummaryEntry, SummaryFrame } from "../../host/protocol/index.js";
import { ReferenceWindow, type WindowSummary } from "../../simulator/reference/aggregator.js";
import { CoreDevice, gaussian, mulberry32, ofType } from "./core-harness.js";

const FREQUENT = 0;

async function deviceWith(channels: number): Promise<{ d: CoreDevice; ch: number[] }> {
  const d = await CoreDevice.create();
  const ch = Array.from({ length: channels }, () => d.x.addTestChannel(FREQUENT));
  d.init(0);
  d.take();
  return { d, ch };
}

function summaries(d: CoreDevice): SummaryFrame[] { return ofType(d.take(), "summary"); }

/** The frame's view of a reference summary: statistics rounded to f32 as the frame carries them. */
function asEntry(channel: number, s: WindowSummary): SummaryEntry & { start: number; length: number } {
  const f = Math.fround;
  return { channel, count: s.count, min: f(s.min), max: f(s.max), mean: f(s.mean), std: f(s.std), last: f(s.last), start: s.start, length: s.length };
}
function flatten(frames: SummaryFrame[]): Array<SummaryEntry & { start: number; length: number }> {
  return frames.flatMap((fr) => fr.entries.map((e) => ({ ...e, start: fr.windowStart, length: fr.windowMs })));
}

describe("window edges", () => {
  test("by time: a sample at exactly start + ms opens the next window", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 1000, 0);
    for (let t = 0; t < 1000; t += 100) d.x.sample(a, t / 100, t);
    expect(summaries(d)).toEqual([]);
    d.x.sample(a, 10, 1000);
    const [s] = summaries(d);
    expect(s).toMatchObject({ windowStart: 0, windowMs: 1000 });
    expect(s.entries).toEqual([{ channel: a, count: 10, min: 0, max: 9, mean: 4.5, std: Math.fround(Math.sqrt(8.25)), last: 9 }]);
  });

  test("by time: windows sit on the device-time grid of their length; a late tick keeps the nominal length", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 1000, 0);
    d.x.sample(a, 1, 250);  // opens the window [0, 1000) of the 1000 ms grid
    expect(d.tick(700)).toBe(300); // the next thing due is the window close at 1000
    d.tick(999);
    expect(summaries(d)).toEqual([]);
    d.tick(1000);
    expect(summaries(d)).toMatchObject([{ windowStart: 0, windowMs: 1000, entries: [{ count: 1 }] }]);
    d.x.sample(a, 2, 3250); // the next window is the grid slot holding the first sample after the close
    d.tick(4500);           // late by 500 ms
    expect(summaries(d)).toMatchObject([{ windowStart: 3000, windowMs: 1000, t: 4500 }]);
  });

  test("by time after a close by count: the next window never overlaps the previous one", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 1000, 2);
    d.x.sample(a, 1, 100); d.x.sample(a, 2, 200); // closes by count at 200
    expect(summaries(d)).toMatchObject([{ windowStart: 0, windowMs: 200 }]);
    d.x.sample(a, 3, 300);  // the grid slot would start at 0, before the previous end: start at 300,
    d.tick(1000);           // and close on the grid line at 1000 (back on the grid)
    expect(summaries(d)).toMatchObject([{ windowStart: 300, windowMs: 700, entries: [{ count: 1 }] }]);
    d.x.sample(a, 4, 1100);
    d.tick(2000);
    expect(summaries(d)).toMatchObject([{ windowStart: 1000, windowMs: 1000, entries: [{ count: 1 }] }]);
  });

  test("by count: closes on the count-th sample, length = its time - start", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 0, 3);
    d.x.sample(a, 1, 10); d.x.sample(a, 2, 20);
    expect(summaries(d)).toEqual([]);
    d.x.sample(a, 6, 45);
    expect(summaries(d)).toMatchObject([{ windowStart: 10, windowMs: 35, entries: [{ count: 3, min: 1, max: 6, mean: 3, last: 6 }] }]);
    d.tick(1_000_000 - 1);
    expect(summaries(d)).toEqual([]); // no time bound: nothing closes by waiting
  });

  test("both bounds: whichever comes first", async () => {
    const { d, ch: [a, b] } = await deviceWith(2);
    d.x.setWindow(a, 1000, 5);
    d.x.setWindow(b, 1000, 5);
    for (let i = 0; i < 5; i++) d.x.sample(a, i, i * 100);  // count first: 5 samples by t=400
    for (let i = 0; i < 5; i++) d.x.sample(b, i, i * 300);  // time first: t=1200 is past 1000
    const got = summaries(d);
    expect(got).toMatchObject([
      { windowStart: 0, windowMs: 400, entries: [{ channel: a, count: 5 }] },
      { windowStart: 0, windowMs: 1000, entries: [{ channel: b, count: 4, last: 3 }] },
    ]);
  });

  test("a time window with only missing samples still closes, with count 0 and NaN statistics", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 1000, 0);
    d.x.sample(a, NaN, 0); d.x.sample(a, NaN, 500);
    d.tick(1000);
    const frames = d.take();
    expect(ofType(frames, "summary")[0].entries).toEqual([{ channel: a, count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN }]);
    d.tick(60_000);
    expect(ofType(d.take(), "status")[0]).toMatchObject({ samples: 0, dropped: 2 });
  });

  test("missing samples are not aggregated but count toward a count bound", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 0, 4);
    [1, NaN, 3, NaN].forEach((v, i) => d.x.sample(a, v, i));
    expect(summaries(d)[0].entries[0]).toMatchObject({ count: 2, min: 1, max: 3, mean: 2, std: 1, last: 3 });
  });

  test("setWindow(0, 0) is refused: the previous bounds stay", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 0, 2);
    d.x.setWindow(a, 0, 0);
    d.x.sample(a, 1, 0); d.x.sample(a, 1, 1);
    expect(summaries(d)).toHaveLength(1);
  });
});

describe("SUMMARY batching", () => {
  test("windows closing in one tick share one frame", async () => {
    const { d, ch } = await deviceWith(3);
    for (const c of ch) { d.x.setWindow(c, 1000, 0); d.x.sample(c, c, 0); }
    d.tick(1000);
    const got = summaries(d);
    expect(got).toHaveLength(1);
    expect(got[0].entries.map((e) => e.channel)).toEqual(ch);
  });

  test("32 channels at once: split at the frame's 21-entry capacity", async () => {
    const { d, ch } = await deviceWith(32);
    for (const c of ch) { d.x.setWindow(c, 1000, 0); d.x.sample(c, c, 0); }
    d.tick(1000);
    const got = summaries(d);
    expect(got.map((f) => f.entries.length)).toEqual([21, 11]);
    expect(got.flatMap((f) => f.entries.map((e) => e.channel))).toEqual(ch);
    expect(d.raw.every((r) => r.length <= 512)).toBe(true);
  });

  test("channels whose windows differ go in separate frames", async () => {
    const { d, ch: [a, b] } = await deviceWith(2);
    d.x.setWindow(a, 1000, 0); d.x.setWindow(b, 500, 0);
    d.x.sample(a, 1, 0); d.x.sample(b, 1, 10);
    d.tick(1010);
    expect(summaries(d).map((f) => [f.windowStart, f.windowMs, f.entries.length])).toEqual([[0, 1000, 1], [0, 500, 1]]);
  });

  test("channels sampled at different instants still share a frame: their windows sit on one grid", async () => {
    const { d, ch: [a, b] } = await deviceWith(2);
    d.x.setWindow(a, 1000, 0); d.x.setWindow(b, 1000, 0);
    d.x.sample(a, 1, 0); d.x.sample(b, 1, 10);
    d.tick(1010);
    expect(summaries(d).map((f) => [f.windowStart, f.entries.length])).toEqual([[0, 2]]);
  });
});

describe("statistics match the TypeScript reference", () => {
  const cases = [
    { name: "unit noise", seed: 1, offset: 0, sigma: 1, ms: 5000, count: 0, nanRate: 0 },
    { name: "1e6 + small noise", seed: 2, offset: 1e6, sigma: 0.01, ms: 0, count: 500, nanRate: 0 },
    { name: "1e8 + noise, both bounds, missing samples", seed: 3, offset: 1e8, sigma: 0.5, ms: 3000, count: 200, nanRate: 0.05 },
    { name: "negative, wide", seed: 4, offset: -250, sigma: 1000, ms: 700, count: 7, nanRate: 0.2 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { d, ch: [a] } = await deviceWith(1);
      d.x.setWindow(a, c.ms, c.count);
      const ref = new ReferenceWindow(c.ms, c.count);
      const rand = mulberry32(c.seed);
      const want: WindowSummary[] = [];
      let t = 0;
      for (let i = 0; i < 5000; i++) {
        t += 1 + Math.floor(rand() * 40);
        if (rand() < 0.02) { // a tick between samples closes due time windows in both
          d.tick(t);
          const s = ref.tick(t);
          if (s) want.push(s);
          t += 1;
        }
        const v = rand() < c.nanRate ? NaN : c.offset + c.sigma * gaussian(rand);
        d.x.sample(a, v, t);
        want.push(...ref.add(v, t));
      }
      const got = flatten(summaries(d));
      expect(got.length).toBeGreaterThanOrEqual(10);
      expect(got).toEqual(want.map((s) => asEntry(a, s)));
    });
  }

  test("1e6 + noise(0.01): std within f32 precision of an exact two-pass result", async () => {
    const { d, ch: [a] } = await deviceWith(1);
    d.x.setWindow(a, 0, 1000);
    const rand = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => 1e6 + 0.01 * gaussian(rand));
    d.setValues(xs);
    d.x.feedSamples(a, 1000, 0, 10, 1000);
    const [e] = summaries(d)[0].entries;
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const exactStd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(e.std - exactStd) / exactStd).toBeLessThan(1e-6);
    // The test can tell: a naive one-pass sum of squares loses the noise entirely at this offset.
    const naiveVar = xs.reduce((s, x) => s + x * x, 0) / xs.length - mean * mean;
    const naiveStd = Math.sqrt(Math.max(0, naiveVar));
    expect(Math.abs(naiveStd - exactStd) / exactStd).toBeGreaterThan(1e-2);
  });
});
