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

/** Compensation with one calibration; t_fine is an explicit result, not hidden state. */
export class Bme280Compensation {
  private readonly p: bigint[];
  constructor(readonly c: Bme280Calibration) {
    this.p = [c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9].map((v) => BigInt(v));
  }

  /** BME280_compensate_T_int32: temperature in 0.01 degC and t_fine. */
  temperature(adcT: number): { t: number; tFine: number } {
    const { T1, T2, T3 } = this.c;
    const var1 = Math.imul((adcT >> 3) - (T1 << 1), T2) >> 11;
    const d = (adcT >> 4) - T1;
    const var2 = Math.imul(Math.imul(d, d) >> 12, T3) >> 14;
    const tFine = (var1 + var2) | 0;
    return { t: (Math.imul(tFine, 5) + 128) >> 8, tFine };
  }

  /** BME280_compensate_P_int64: pressure in Pa * 256 (Q24.8), 0 on the division-by-zero guard. */
  pressure(adcP: number, tFine: number): number {
    const [P1, P2, P3, P4, P5, P6, P7, P8, P9] = this.p;
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
