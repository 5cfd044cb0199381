// The model's pressure formula in exact doubles against Bosch's 64-bit formula in BigInt (the C code's
// int64 arithmetic): the same result for every input, over realistic and adversarial inputs, with
// several calibrations; and the fast path really taken for realistic ones. Touches nothing else.
import { describe, expect, it, vi } from "vitest";
import { Random } from "../../random.js";
import { BOSCH_EXAMPLE_CALIBRATION, Bme280Compensation, REAL_PART_CALIBRATION, type Bme280Calibration } from "./compensation.js";

const s16 = (rng: Random) => rng.int(-32768, 32767);

/** A calibration drawn at random: dig_P1 u16 (never 0 on a trimmed part, but 0 is tested too), the rest s16. */
function randomCalibration(rng: Random): Bme280Calibration {
  return {
    ...REAL_PART_CALIBRATION,
    T1: rng.int(0, 65535), T2: s16(rng), T3: s16(rng),
    P1: rng.int(0, 65535), P2: s16(rng), P3: s16(rng), P4: s16(rng), P5: s16(rng), P6: s16(rng), P7: s16(rng), P8: s16(rng), P9: s16(rng),
  };
}

/** Compare pressure() with pressureInt64() for n inputs; how many took the fast path. */
function compare(comp: Bme280Compensation, rng: Random, n: number, tFineOf: (rng: Random) => number, adcPOf: (rng: Random) => number): number {
  const slow = vi.spyOn(comp, "pressureInt64");
  let fallbacks = 0;
  for (let i = 0; i < n; i++) {
    const tFine = tFineOf(rng);
    // A few adc_P per tFine, as an inversion does (the tFine half is cached).
    for (let j = 0; j < 4; j++) {
      const adcP = adcPOf(rng);
      const before = slow.mock.calls.length;
      const fast = comp.pressure(adcP, tFine);
      if (slow.mock.calls.length > before) fallbacks++;
      const exact = comp.pressureInt64(adcP, tFine);
      if (fast !== exact) expect({ calibration: comp.c, adcP, tFine, fast }).toEqual({ calibration: comp.c, adcP, tFine, fast: exact });
    }
  }
  slow.mockRestore();
  return 4 * n - fallbacks;
}

const realisticTFine = (comp: Bme280Compensation) => (rng: Random) => comp.tFine(rng.int(0, 0xfffff));
const anyAdcP = (rng: Random) => rng.int(0, 0xfffff);
const anyInt32 = (rng: Random) => rng.int(-0x80000000, 0x7fffffff);

describe("BME280 pressure in exact doubles", () => {
  it("equals the 64-bit BigInt formula for the shipped calibrations, every adc_P and tFine of every adc_T", () => {
    const rng = new Random(42);
    for (const calibration of [REAL_PART_CALIBRATION, BOSCH_EXAMPLE_CALIBRATION]) {
      const comp = new Bme280Compensation(calibration);
      compare(comp, rng, 20_000, realisticTFine(comp), anyAdcP);
      // In the part's operating range (-40..85 degC: tFine = T * 5120) every reading takes the fast path.
      const fast = compare(comp, rng, 20_000, (r) => r.int(-40 * 5120, 85 * 5120), (r) => r.int(0x10000, 0xfffff));
      expect(fast).toBe(4 * 20_000);
    }
  });

  it("equals it at the edges: adc_P 0, 2^20 - 1, the skipped marker; tFine around the fast path's limits", () => {
    const comp = new Bme280Compensation(REAL_PART_CALIBRATION);
    const edgesP = [0, 1, 0x7ffff, 0x80000, 0xfffff, 0x100000, 0x1fffff, -1];
    const edgesT = [-0x80000000, 0x7fffffff, 0, 128000, 128000 + 2 ** 19 - 1, 128000 + 2 ** 19, 128000 - 2 ** 19 + 1, 128000 - 2 ** 19, 435200, -204800];
    for (const tFine of edgesT) for (const adcP of edgesP) expect(comp.pressure(adcP, tFine)).toBe(comp.pressureInt64(adcP, tFine));
  });

  it("equals it for random calibrations and any int32 tFine (where int64 wraps and the formula falls back)", () => {
    const rng = new Random(7);
    let fast = 0;
    for (let k = 0; k < 200; k++) {
      const comp = new Bme280Compensation(randomCalibration(rng));
      fast += compare(comp, rng, 100, realisticTFine(comp), anyAdcP);
      compare(comp, rng, 50, anyInt32, anyAdcP);
      compare(comp, rng, 20, realisticTFine(comp), anyInt32);
    }
    expect(fast).toBeGreaterThan(0); // the fast path is exercised here too, not only the fallback
  });

  it("gives the datasheet's worked example (adc_P 415148 at 25.08 degC: 100653.27 Pa)", () => {
    const comp = new Bme280Compensation(BOSCH_EXAMPLE_CALIBRATION);
    const { tFine } = comp.temperature(519888);
    expect(comp.pressure(415148, tFine) / 256).toBeCloseTo(100653.27, 0);
  });
});
