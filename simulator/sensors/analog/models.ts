// Models of analog sources on an ADC pin (PinDevice.adc): a potentiometer, an NTC thermistor in a divider
// (Beta or Steinhart-Hart physics), and a sound sensor's envelope. Each turns its physical signal into the
// fraction of full scale the pin sees; AdcModel quantises it as the board's ADC does (ratiometric:
// counts = round(fraction * (2^bits - 1)), the convention of firmware/drivers/analog/adc.ts), with optional
// seeded noise in LSB. Touches only its signals and Random.
import type { PinDevice } from "../../hal/buses.js";
import { Random } from "../../random.js";
import type { PhysicalSignal } from "../signal.js";

const KELVIN_OFFSET = 273.15;

export abstract class AdcModel implements PinDevice {
  private readonly rng: Random;
  constructor(private readonly noiseLsb = 0, seed: number | string = "adc") { this.rng = new Random(seed); }

  /** The pin's voltage as a fraction of the ADC reference (clipped to 0..1 by the converter). */
  abstract fraction(tMs: number): number;

  adc(nowUs: number, bits: number): number {
    const full = 2 ** bits - 1;
    const noise = this.noiseLsb > 0 ? this.rng.normal(0, this.noiseLsb) : 0;
    return Math.max(0, Math.min(full, Math.round(this.fraction(nowUs / 1000) * full + noise)));
  }
}

/** A potentiometer's wiper: position in percent of travel; unplugged (NaN) reads as a floating 0. */
export class PotentiometerModel extends AdcModel {
  constructor(private readonly position: PhysicalSignal, noiseLsb = 0, seed: number | string = "pot") { super(noiseLsb, seed); }
  fraction(tMs: number): number {
    const p = this.position.at(tMs);
    return Number.isNaN(p) ? 0 : p / 100;
  }
}

/** Thermistor characteristic: Beta (R0 at T0) or Steinhart-Hart coefficients. */
export type ThermistorCurve =
  | { kind: "beta"; r0: number; t0C: number; beta: number }
  | { kind: "steinhartHart"; a: number; b: number; c: number };

/** The thermistor's resistance at tempC: the inverse of the curve the driver evaluates. */
export function thermistorOhms(curve: ThermistorCurve, tempC: number): number {
  const invT = 1 / (tempC + KELVIN_OFFSET);
  if (curve.kind === "beta") return curve.r0 * Math.exp(curve.beta * (invT - 1 / (curve.t0C + KELVIN_OFFSET)));
  // Solve C y^3 + B y + (A - 1/T) = 0 for y = ln R (Cardano: one real root, since B, C > 0).
  const p = curve.b / curve.c;
  const q = (curve.a - invT) / curve.c;
  const s = Math.sqrt((q * q) / 4 + (p * p * p) / 27);
  return Math.exp(Math.cbrt(-q / 2 + s) + Math.cbrt(-q / 2 - s));
}

/** Temperature in degC of a thermistor at ohms (the driver's formula, for tests and tools). */
export function thermistorCelsius(curve: ThermistorCurve, ohms: number): number {
  const invT = curve.kind === "beta"
    ? 1 / (curve.t0C + KELVIN_OFFSET) + Math.log(ohms / curve.r0) / curve.beta
    : curve.a + curve.b * Math.log(ohms) + curve.c * Math.log(ohms) ** 3;
  return 1 / invT - KELVIN_OFFSET;
}

export interface NtcModelOptions {
  temperature: PhysicalSignal;  // degC
  curve: ThermistorCurve;
  seriesOhms: number;
  /** Vcc - series - pin - NTC - GND (true, default) or Vcc - NTC - pin - series - GND. */
  ntcToGround?: boolean;
  noiseLsb?: number;
  seed?: number | string;
}

/** An NTC thermistor in a divider. Unplugged (NaN) is an open thermistor: the pin goes to the rail. */
export class NtcModel extends AdcModel {
  constructor(private readonly o: NtcModelOptions) { super(o.noiseLsb ?? 0, o.seed ?? "ntc"); }
  fraction(tMs: number): number {
    const toGround = this.o.ntcToGround ?? true;
    const t = this.o.temperature.at(tMs);
    if (Number.isNaN(t)) return toGround ? 1 : 0;
    const r = thermistorOhms(this.o.curve, t);
    return toGround ? r / (r + this.o.seriesOhms) : this.o.seriesOhms / (r + this.o.seriesOhms);
  }
}

export interface SoundModelOptions {
  level: PhysicalSignal;  // dB
  /** Calibration: the level that gives a 1 V envelope (default 80 dB, as the driver's default). */
  offsetDb?: number;
  vrefV?: number;         // default 3.3
  noiseLsb?: number;
  seed?: number | string;
}

/** A sound sensor's envelope: V = 10^((dB - offsetDb) / 20) volts. Unplugged reads 0. */
export class SoundLevelModel extends AdcModel {
  constructor(private readonly o: SoundModelOptions) { super(o.noiseLsb ?? 0, o.seed ?? "sound"); }
  fraction(tMs: number): number {
    const db = this.o.level.at(tMs);
    if (Number.isNaN(db)) return 0;
    return 10 ** ((db - (this.o.offsetDb ?? 80)) / 20) / (this.o.vrefV ?? 3.3);
  }
}
