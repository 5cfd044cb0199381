// Tests of the seeded PRNG (simulator/random.ts) and the physical signal generators (signal.ts):
// determinism per seed and independence from the call pattern, long-run mean and std, the recalibration
// pull, the outlier rate, and the ramp / unplug / stuck transforms.
import { describe, expect, it } from "vitest";
import { deriveSeed, Random } from "../random.js";
import { FixedSignal, NoisySignal, RampSignal, StuckSignal, UnpluggedSignal } from "./signal.js";

function stats(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(v) };
}

/** Values at every step of a signal, steps 0..n-1. */
function run(s: NoisySignal, n: number): number[] {
  return Array.from({ length: n }, (_, k) => s.at(k * s.stepMs));
}

describe("Random (xoshiro128**)", () => {
  it("is deterministic per seed and differs between seeds", () => {
    const a = new Random(42), b = new Random(42), c = new Random(43);
    const xa = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(xa);
    expect(new Random("temperature").nextU32()).toBe(new Random(deriveSeed("temperature")).nextU32());
    expect(deriveSeed(1, "a")).not.toBe(deriveSeed("1", "a")); // types are part of the seed
  });

  it("uniform and normal draws have the right moments", () => {
    const r = new Random(7);
    const u = stats(Array.from({ length: 100_000 }, () => r.float()));
    expect(u.mean).toBeCloseTo(0.5, 2);
    expect(u.std).toBeCloseTo(Math.sqrt(1 / 12), 2);
    const n = stats(Array.from({ length: 100_000 }, () => r.normal(10, 3)));
    expect(Math.abs(n.mean - 10)).toBeLessThan(0.05);
    expect(Math.abs(n.std - 3)).toBeLessThan(0.05);
    const ints = Array.from({ length: 10_000 }, () => r.int(2, 5));
    expect(Math.min(...ints)).toBe(2);
    expect(Math.max(...ints)).toBe(5);
    for (let i = 0; i < 1000; i++) expect(Math.abs(r.clippedNormal(0, 5, 2))).toBeLessThanOrEqual(2);
  });
});

describe("NoisySignal", () => {
  const temperature = { mean: 25, std: 2 };

  it("is a function of (seed, t): same seed same values, any call pattern, even going back", () => {
    const dense = new NoisySignal({ ...temperature, seed: "s1" });
    const sparse = new NoisySignal({ ...temperature, seed: "s1" });
    const other = new NoisySignal({ ...temperature, seed: "s2" });
    const denseValues = new Map<number, number>();
    for (let t = 0; t <= 100_000; t += 250) denseValues.set(t, dense.at(t));
    for (const t of [0, 999, 1000, 37_500, 99_999, 100_000]) expect(sparse.at(t)).toBe(denseValues.get(Math.floor(t / 250) * 250));
    expect(sparse.at(5_000)).toBe(denseValues.get(5_000)); // back in time: replayed
    expect(other.at(5_000)).not.toBe(denseValues.get(5_000));
    expect(dense.at(1500)).toBe(dense.at(1000)); // holds within a step
  });

  it("a long run has the configured mean and std (several seeds and settings)", () => {
    for (const [opts, seed] of [[{ mean: 25, std: 2 }, 1], [{ mean: 1013, std: 2, momentum: 0.6 }, 2],
      [{ mean: 500, std: 50, recalibration: 0.05, momentum: 0 }, 3], [{ mean: 60, std: 3, recalibration: 1 }, 4]] as const) {
      const s = stats(run(new NoisySignal({ ...opts, seed }), 200_000));
      expect(Math.abs(s.mean - opts.mean), JSON.stringify(opts)).toBeLessThan(0.05 * opts.std);
      expect(Math.abs(s.std - opts.std) / opts.std, JSON.stringify(opts)).toBeLessThan(0.03);
    }
  });

  it("recalibration pulls back: with no momentum each step keeps (1 - r) of the gap on average", () => {
    for (const r of [0.2, 0.5]) {
      const xs = run(new NoisySignal({ mean: 0, std: 1, recalibration: r, momentum: 0, seed: 11 }), 100_000);
      let num = 0, den = 0;
      for (let k = 0; k + 1 < xs.length; k++) { num += xs[k + 1] * xs[k]; den += xs[k] * xs[k]; }
      expect(num / den).toBeCloseTo(1 - r, 1);
    }
  });

  it("momentum drifts toward the recent trend: consecutive changes are positively related", () => {
    const changes = (a: number) => {
      const xs = run(new NoisySignal({ mean: 0, std: 1, momentum: a, seed: 12 }), 50_000);
      const d = xs.slice(1).map((x, k) => x - xs[k]);
      let num = 0, den = 0;
      for (let k = 0; k + 1 < d.length; k++) { num += d[k + 1] * d[k]; den += d[k] * d[k]; }
      return num / den;
    };
    expect(changes(0.6)).toBeGreaterThan(changes(0) + 0.3);
  });

  it("outliers come at the configured rate, at mean +- 6 std", () => {
    const xs = run(new NoisySignal({ mean: 200, std: 20, outlierRate: 0.01, seed: 13 }), 100_000);
    const outliers = xs.filter((x) => Math.abs(x - 200) > 5.5 * 20);
    expect(outliers.length).toBeGreaterThan(1000 - 3 * Math.sqrt(1000));
    expect(outliers.length).toBeLessThan(1000 + 3 * Math.sqrt(1000));
    for (const x of outliers) expect(Math.abs(Math.abs(x - 200) - 120)).toBeLessThan(1e-9);
    expect(run(new NoisySignal({ mean: 200, std: 20, seed: 13 }), 100_000).filter((x) => Math.abs(x - 200) > 5.5 * 20)).toEqual([]);
  });

  it("rejects parameters with no stationary signal", () => {
    expect(() => new NoisySignal({ mean: 0, std: 1, seed: 1, recalibration: 0 })).toThrow(/recalibration/);
    expect(() => new NoisySignal({ mean: 0, std: 1, seed: 1, momentum: 1 })).toThrow(/momentum/);
    expect(() => new NoisySignal({ mean: 0, std: -1, seed: 1 })).toThrow(/std/);
  });
});

describe("scenario transforms", () => {
  it("ramp: 0 before, linear up, held, linear down", () => {
    const s = new RampSignal(new FixedSignal(20), { fromMs: 1000, rampMs: 1000, delta: 10, untilMs: 5000 });
    expect([0, 1000, 1500, 2000, 4999, 5500, 6000, 9000].map((t) => s.at(t))).toEqual([20, 20, 25, 30, 30, 25, 20, 20]);
    const forever = new RampSignal(new FixedSignal(0), { fromMs: 0, rampMs: 100, delta: 5 });
    expect(forever.at(1e9)).toBe(5);
  });

  it("unplugged is NaN inside its window; stuck holds the value from its start", () => {
    const base = new NoisySignal({ mean: 25, std: 2, seed: 21 });
    const ref = new NoisySignal({ mean: 25, std: 2, seed: 21 });
    const unplugged = new UnpluggedSignal(new NoisySignal({ mean: 25, std: 2, seed: 21 }), { fromMs: 10_000, untilMs: 20_000 });
    expect(unplugged.at(9_999)).toBe(ref.at(9_999));
    expect(unplugged.at(10_000)).toBeNaN();
    expect(unplugged.at(19_999)).toBeNaN();
    expect(unplugged.at(20_000)).toBe(ref.at(20_000));

    const stuck = new StuckSignal(base, { fromMs: 30_000 });
    const ref2 = new NoisySignal({ mean: 25, std: 2, seed: 21 });
    expect(stuck.at(29_000)).toBe(ref2.at(29_000));
    const held = ref2.at(30_000);
    for (let t = 30_000; t < 100_000; t += 7_000) expect(stuck.at(t)).toBe(held);
    expect(new StuckSignal(new FixedSignal(1), { fromMs: 0, value: 42 }).at(5)).toBe(42);
  });
});
