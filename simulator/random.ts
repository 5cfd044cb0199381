// The simulator's one seeded pseudo-random source: xoshiro128** (Blackman & Vigna, 2018) seeded through
// splitmix32, plus uniform, normal (Box-Muller) and helper draws. Everything random in the simulator
// (signal noise, pulse jitter, contact bounce, bus faults) draws from a Random built from a seed, so a
// run is reproducible from its seeds. Pure computation: touches nothing outside itself.

/** A 32-bit seed from any mix of numbers and strings (FNV-1a over their text, then splitmix32), so
 *  related streams get unrelated seeds: deriveSeed(fleetSeed, deviceId, "temperature"). */
export function deriveSeed(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${typeof part}:${part};`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return splitmix32(h);
}

/** A 32-bit hash of integers (each taken as up to 53 bits, e.g. a time in us), without the string work
 *  of deriveSeed: for per-event decisions on hot paths (a bus transaction, a PWM cycle). */
export function hashInts(...values: number[]): number {
  let h = 0x6a09e667;
  for (const v of values) {
    h = splitmix32(h ^ (v >>> 0));
    h = splitmix32(h ^ (Math.floor(v / 4294967296) >>> 0));
  }
  return h;
}

/** One step of splitmix32: a well-mixed 32-bit value from any 32-bit input. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A number is used as is (to 32 bits); a string or several parts go through deriveSeed. */
  constructor(seed: number | string = 1) {
    let x = typeof seed === "number" ? seed >>> 0 : deriveSeed(seed);
    const next = (): number => (x = splitmix32(x));
    // State kept as int32 (| 0) so the engine keeps it in small integers, not heap doubles.
    this.s0 = next() | 0; this.s1 = next() | 0; this.s2 = next() | 0; this.s3 = next() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** The next raw 32-bit output, 0..2^32-1. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number { return this.nextU32() / 4294967296; }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.float(); }

  /** Integer uniform in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }

  /** True with probability p. */
  chance(p: number): boolean { return this.float() < p; }

  /** A normal draw (Box-Muller). Always consumes exactly two uniforms, so the stream's position does
   *  not depend on which kind of draw came before. */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.float(); // (0, 1]: log(0) never happens
    const u2 = this.float();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A normal draw clipped to mean +- limit (pulse jitter that must stay within a datasheet window). */
  clippedNormal(mean: number, std: number, limit: number): number {
    return Math.max(mean - limit, Math.min(mean + limit, this.normal(mean, std)));
  }
}
