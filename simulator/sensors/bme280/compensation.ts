// The BME280 model's physics: Bosch's integer compensation (BST-BME280-DS002 section 4.2.3, code rev
// 1.1; pressure in the 64-bit version) ported to TypeScript with the C code's integer widths, and
// its inverse (the raw ADC value a part with this calibration would report for a physical value).
// Also the calibration sets the model ships with and their NVM byte image (Table 16).
// Pure functions; touches nothing else.

/** Trimming parameters, as named in Table 16. */
export interface Bme280Calibration {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

/** A real part's NVM readout (a BME280 breakout, as published with its readout program). */
export const REAL_PART_CALIBRATION: Bme280Calibration = {
  T1: 28224, T2: 26110, T3: 50,
  P1: 37298, P2: -10829, P3: 3024, P4: 11341, P5: -10, P6: -7, P7: 9900, P8: -10230, P9: 4285,
  H1: 75, H2: 357, H3: 0, H4: 322, H5: 0, H6: 30,
};

/** Bosch's worked example (BMP280 datasheet BST-BMP280-DS001 section 3.12: adc_T = 519888 gives
 *  25.08 degC, adc_P = 415148 gives 100653.27 Pa) for T and P; H from the real part above but with
 *  dig_H4/dig_H5 whose nibbles all differ (and dig_H5 non-zero), to exercise the packed 0xE4..0xE6. */
export const BOSCH_EXAMPLE_CALIBRATION: Bme280Calibration = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
  H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30,
};

/** calib00..calib25 (0x88..0xA1) and calib26..calib32 (0xE1..0xE7) as the part stores them. */
export function calibrationImage(c: Bme280Calibration): { tp: Uint8Array; h: Uint8Array } {
  const tp = new Uint8Array(26);
  const dv = new DataView(tp.buffer);
  const words = [c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9];
  words.forEach((w, i) => dv.setUint16(i * 2, w & 0xffff, true));
  tp[24] = 0; // 0xA0: not used
  tp[25] = c.H1 & 0xff;
  const h = new Uint8Array(7);
  h[0] = c.H2 & 0xff;
  h[1] = (c.H2 >> 8) & 0xff;
  h[2] = c.H3 & 0xff;
  h[3] = (c.H4 >> 4) & 0xff;                         // 0xE4: dig_H4[11:4]
  h[4] = ((c.H5 & 0x0f) << 4) | (c.H4 & 0x0f);       // 0xE5: dig_H5[3:0] | dig_H4[3:0]
  h[5] = (c.H5 >> 4) & 0xff;                         // 0xE6: dig_H5[11:4]
  h[6] = c.H6 & 0xff;
  return { tp, h };
}

const S64 = (x: bigint): bigint => BigInt.asIntN(64, x);

/** Integers below this are exact in a double: an operation on exact integers whose result stays below
 *  it is exact; one whose true result reaches it gives a double that reaches it too (rounding is
 *  monotonic), so checking the result detects every inexact step. */
const EXACT = 2 ** 53;
/** |adc_P term| bound that keeps (p << 31 - var2) * 3125 inside int64 (no wrap in the C code). */
const MAX_SCALED = 2 ** 51;

/** The tFine-only half of the pressure formula, in exact doubles: var2 and the divisor var1 (section
 *  4.2.3's names), or ok = false when a step would leave the exact range (then BigInt does it all). */
interface PressureStage { tFine: number; ok: boolean; var2: number; divisor: number }

/** floor(big * small / 2^shift), exactly, for |big| < 2^53, |small| < 2^33, |big * small| < 2^73 and
 *  shift >= 20: big is split at 2^20 so each partial product stays below 2^53, and
 *  floor(N / 2^shift) = floor(floor(N / 2^20) / 2^(shift - 20)). */
function mulShiftRight(big: number, small: number, shift: number): number {
  const high = Math.floor(big / 0x100000), low = big - high * 0x100000;
  return Math.floor((high * small + Math.floor((low * small) / 0x100000)) / 2 ** (shift - 20));
}

/** floor(value / divisor) and the remainder, for 0 <= value < 2^53 and 0 < divisor: the double quotient
 *  may be one off after rounding; the exact remainder corrects it. */
function divide(value: number, divisor: number): { q: number; r: number } {
  let q = Math.floor(value / divisor), r = value - q * divisor;
  if (r < 0) { q--; r += divisor; } else if (r >= divisor) { q++; r -= divisor; }
  return { q, r };
}

/** Compensation with one calibration; t_fine is an explicit result, not hidden state. */
export class Bme280Compensation {
  /** The last tFine's half of the pressure formula: an inversion evaluates many adc_P at one tFine. */
  private stage: PressureStage = { tFine: NaN, ok: false, var2: 0, divisor: 0 };

  constructor(readonly c: Bme280Calibration) {}

  /** BME280_compensate_T_int32: temperature in 0.01 degC and t_fine. */
  temperature(adcT: number): { t: number; tFine: number } {
    const tFine = this.tFine(adcT);
    return { t: (Math.imul(tFine, 5) + 128) >> 8, tFine };
  }

  /** t_fine alone (BME280_compensate_T_int32's shared state). */
  tFine(adcT: number): number {
    const { T1, T2, T3 } = this.c;
    const var1 = Math.imul((adcT >> 3) - (T1 << 1), T2) >> 11;
    const d = (adcT >> 4) - T1;
    const var2 = Math.imul(Math.imul(d, d) >> 12, T3) >> 14;
    return (var1 + var2) | 0;
  }

  /**
   * BME280_compensate_P_int64: pressure in Pa * 256 (Q24.8), 0 on the division-by-zero guard. Integer
   * arithmetic in doubles, exact step by step (every result checked below 2^53, products that could
   * reach it split, the int64 division done as long division), which covers every temperature from
   * about -77 to 127 degC and every adc_P of a real reading; anything else goes to pressureInt64(), so
   * the result is the C code's for every input (compensation.test.ts compares the two).
   */
  pressure(adcP: number, tFine: number): number {
    const stage = this.stage.tFine === tFine ? this.stage : (this.stage = this.pressureStage(tFine));
    if (!stage.ok) return this.pressureInt64(adcP, tFine);
    const { var2, divisor } = stage;
    if (divisor === 0) return 0;
    // p = (((1048576 - adc_P) << 31) - var2) * 3125 / var1, truncated toward zero (C99 division).
    const scaled = (1048576 - adcP) * 0x80000000 - var2;
    if (!(Math.abs(scaled) < MAX_SCALED)) return this.pressureInt64(adcP, tFine);
    // |scaled| * 3125 = high * 2^26 + low, divided as (high * 2^13 + low1) * 2^13 + low0.
    const magnitude = Math.abs(scaled);
    const mHigh = Math.floor(magnitude / 0x4000000), mLow = magnitude - mHigh * 0x4000000;
    const high = mHigh * 3125, low = mLow * 3125;
    const low1 = Math.floor(low / 0x2000), low0 = low - low1 * 0x2000;
    const d1 = divide(high, divisor);
    const d2 = divide(d1.r * 0x2000 + low1, divisor);
    const d3 = divide(d2.r * 0x2000 + low0, divisor);
    let p = (d1.q * 0x2000 + d2.q) * 0x2000 + d3.q;
    if (!(p < 2 ** 36)) return this.pressureInt64(adcP, tFine); // keeps P9 * p^2 inside int64
    if (scaled < 0) p = -p;
    const { P7, P8, P9 } = this.c;
    const shifted = Math.floor(p / 0x2000);                           // p >> 13
    const var1p = mulShiftRight(P9 * shifted, shifted, 25);           // (P9 * (p >> 13) * (p >> 13)) >> 25
    const var2p = Math.floor((P8 * p) / 0x80000);                     // (P8 * p) >> 19, |P8 * p| < 2^51
    p = Math.floor((p + var1p + var2p) / 256) + P7 * 16;
    return p >>> 0;                                                   // the C code's (uint32_t) p
  }

  /** BME280_compensate_P_int64 in BigInt with the C code's int64 wrapping: the reference, and what
   *  pressure() falls back to outside the range its exact doubles cover. */
  pressureInt64(adcP: number, tFine: number): number {
    const c = this.c;
    const [P1, P2, P3, P4, P5, P6, P7, P8, P9] = [c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9].map((v) => BigInt(v));
    let var1 = S64(BigInt(tFine) - 128000n);
    let var2 = S64(var1 * var1 * P6);
    var2 = S64(var2 + S64(S64(var1 * P5) << 17n));
    var2 = S64(var2 + S64(P4 << 35n));
    var1 = S64((S64(var1 * var1 * P3) >> 8n) + S64(S64(var1 * P2) << 12n));
    var1 = S64(S64((1n << 47n) + var1) * P1) >> 33n;
    if (var1 === 0n) return 0;
    let p = S64(1048576n - BigInt(adcP));
    p = S64(S64(S64(p << 31n) - var2) * 3125n) / var1;
    var1 = S64(S64(P9 * (p >> 13n)) * (p >> 13n)) >> 25n;
    var2 = S64(P8 * p) >> 19n;
    p = S64(S64(S64(p + var1 + var2) >> 8n) + S64(P7 << 4n));
    return Number(BigInt.asUintN(32, p));
  }

  /** var2 and var1 of the pressure formula for one tFine, in exact doubles (see pressure()). */
  private pressureStage(tFine: number): PressureStage {
    const { P1, P2, P3, P4, P5, P6 } = this.c;
    const fail: PressureStage = { tFine, ok: false, var2: 0, divisor: 0 };
    const v = tFine - 128000;
    if (!(Math.abs(v) < 2 ** 19)) return fail; // v^2 * P6 and v^2 * P3 stay below 2^53
    const vv = v * v;
    // var2 = v^2 * P6 + (v * P5 << 17) + (P4 << 35): each term below 2^53, each partial sum checked.
    let var2 = vv * P6 + v * P5 * 0x20000;
    if (!(Math.abs(var2) < EXACT)) return fail;
    var2 += P4 * 2 ** 35;
    if (!(Math.abs(var2) < EXACT)) return fail;
    // var1 = (v^2 * P3 >> 8) + (v * P2 << 12): below 2^45 + 2^46, exact.
    const var1 = Math.floor((vv * P3) / 256) + v * P2 * 0x1000;
    const scaled = 2 ** 47 + var1;
    if (!(Math.abs(scaled) * P1 < 2 ** 63)) return fail;             // the C product does not wrap
    const divisor = mulShiftRight(scaled, P1, 33);                   // ((2^47 + var1) * P1) >> 33
    // Long division needs divisor * 2^13 + 2^26 below 2^53; a negative divisor would flip the rounding.
    if (divisor < 0 || divisor >= 2 ** 39) return fail;
    return { tFine, ok: true, var2, divisor };
  }

  /** bme280_compensate_H_int32: relative humidity in %RH * 1024 (Q22.10). */
  humidity(adcH: number, tFine: number): number {
    const { H1, H2, H3, H4, H5, H6 } = this.c;
    let v = (tFine - 76800) | 0;
    const x1 = ((((adcH << 14) - (H4 << 20) - Math.imul(H5, v)) | 0) + 16384) >> 15;
    const y1 = Math.imul(v, H6) >> 10;
    const y2 = ((Math.imul(v, H3) >> 11) + 32768) | 0;
    const y3 = ((Math.imul(y1, y2) >> 10) + 2097152) | 0;
    const y4 = ((Math.imul(y3, H2) + 8192) | 0) >> 14;
    v = Math.imul(x1, y4);
    v = (v - (Math.imul(Math.imul(v >> 15, v >> 15) >> 7, H1) >> 4)) | 0;
    v = v < 0 ? 0 : v;
    v = v > 419430400 ? 419430400 : v;
    return v >>> 12;
  }
}

/** Where to search a raw value: lo..hi in multiples of step from lo, and the output's direction. */
export interface RawRange { lo: number; hi: number; step: number; rising: boolean; }

/**
 * The raw value in the range whose output f(raw) is closest to target, for f monotonic (with
 * plateaus allowed): a binary search, as compensation is monotonic. With a hint (the last answer:
 * physical values move slowly) it gallops out from the hint first, so a small change costs a few
 * evaluations of f instead of log2(range).
 */
export function invertMonotonic(f: (raw: number) => number, range: RawRange, target: number, hint?: number): number {
  const { lo, step, rising } = range;
  const n = Math.floor((range.hi - lo) / step);
  const before = (k: number): boolean => (rising ? f(lo + k * step) < target : f(lo + k * step) > target);
  // Find the first index k in [a, b] with !before(k) (or n).
  let a = 0;
  let b = n;
  if (hint !== undefined) {
    let k = Math.min(n, Math.max(0, Math.round((hint - lo) / step)));
    // One secant step from the hint first: compensation is nearly linear over a few hundred raw
    // steps, so the gallop below then starts a step or two from the answer (a handful of
    // evaluations of f instead of ~2 log2(distance); pressure's f is 64-bit BigInt arithmetic).
    const span = Math.min(64, n - k);
    if (span > 0) {
      const f0 = f(lo + k * step), f1 = f(lo + (k + span) * step);
      if (f1 !== f0) k = Math.min(n, Math.max(0, k + Math.round(((target - f0) * span) / (f1 - f0))));
    }
    let d = 1;
    if (before(k)) {
      a = k + 1;
      while (k + d <= n && before(k + d)) { a = k + d + 1; d *= 2; }
      b = Math.min(n, k + d);
    } else {
      b = k;
      while (k - d >= 0 && !before(k - d)) { b = k - d; d *= 2; }
      a = Math.max(0, k - d + 1);
    }
  }
  while (a < b) {
    const m = (a + b) >> 1;
    if (before(m)) a = m + 1; else b = m;
  }
  let best = a;
  if (a > 0 && Math.abs(f(lo + (a - 1) * step) - target) <= Math.abs(f(lo + a * step) - target)) best = a - 1;
  return lo + best * step;
}
