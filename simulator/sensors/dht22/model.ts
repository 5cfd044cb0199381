// Model of a DHT22 / AM2302 on its data pin, answering the HAL's pulse_train: the host start signal,
// then the sensor's response and 40-bit frame as level durations with seeded timing jitter, encoded from
// the physical temperature and humidity. Faults: corruptChecksum, truncated, noAnswer, stuck.
// Touches only its signals and its Random. Timings: Aosong AM2302 datasheet, section 7, table "single-bus
// signal characteristics" (min / typ / max in us).
import { HalConst, Status } from "../../hal/abi.generated.js";
import type { HalStatus, PinDevice, Timed } from "../../hal/buses.js";
import { Random } from "../../random.js";
import type { PinFault } from "../pin-faults.js";
import type { PhysicalSignal } from "../signal.js";

/** [min, typ, max] microseconds. */
type Timing = readonly [number, number, number];
export const DHT22_TIMING = {
  hostStartMinUs: 800,           // Tbe: host low, min 0.8 ms (typ 1 ms, max 20 ms)
  release: [20, 30, 200],        // Tgo: bus released (high) before the sensor answers
  responseLow: [75, 80, 85],     // Trel
  responseHigh: [75, 80, 85],    // Treh
  bitLow: [48, 50, 55],          // TLOW
  bitHigh0: [22, 26, 30],        // TH0
  bitHigh1: [68, 70, 75],        // TH1
  endLow: [45, 50, 55],          // Ten
} as const satisfies Record<string, Timing | number>;

/** Measurement range (datasheet section 5): the part saturates outside it. */
const RH_RANGE = [0, 99.9] as const;
const T_RANGE = [-40, 80] as const;

export interface Dht22ModelOptions {
  temperature: PhysicalSignal;  // degC
  humidity: PhysicalSignal;     // %RH
  seed?: number | string;
  /** Standard deviation of each level's duration around its typical value, clipped to the datasheet's
   *  min..max (default 1.5 us). */
  jitterUs?: number;
  fault?: PinFault;
  /** Which of the 40 bits "corruptChecksum" flips (default 39: the checksum's lowest bit). */
  corruptBit?: number;
  /** How many bits "truncated" sends before the part stops (default 20). */
  truncateAfterBits?: number;
}

/** The 5 bytes the part sends for a reading: RH x10, T x10 (bit 15 = sign, magnitude below), checksum. */
export function dht22Frame(temperatureC: number, humidityPct: number): number[] {
  const rh = Math.round(Math.min(RH_RANGE[1], Math.max(RH_RANGE[0], humidityPct)) * 10);
  const t = Math.round(Math.min(T_RANGE[1], Math.max(T_RANGE[0], temperatureC)) * 10);
  const tWord = t < 0 ? 0x8000 | -t : t;
  const bytes = [rh >> 8, rh & 0xff, tWord >> 8, tWord & 0xff];
  bytes.push((bytes[0] + bytes[1] + bytes[2] + bytes[3]) & 0xff);
  return bytes;
}

export class Dht22Model implements PinDevice {
  fault: PinFault;
  corruptBit: number;
  truncateAfterBits: number;
  private readonly rng: Random;
  private readonly jitterUs: number;

  constructor(private readonly options: Dht22ModelOptions) {
    this.fault = options.fault ?? "none";
    this.corruptBit = options.corruptBit ?? 39;
    this.truncateAfterBits = options.truncateAfterBits ?? 20;
    this.rng = new Random(options.seed ?? "dht22");
    this.jitterUs = options.jitterUs ?? 1.5;
  }

  /** Idle line: high through the pull-up (a stuck part holds it low). */
  level(): number { return this.fault === "stuck" ? 0 : 1; }

  pulseTrain(startLowUs: number, max: number, timeoutUs: number, nowUs: number): Timed<number[] | HalStatus> {
    const silent = { value: Status.ERR_TIMEOUT, elapsedUs: startLowUs + timeoutUs };
    if (startLowUs < DHT22_TIMING.hostStartMinUs) return silent; // the part never saw a start signal
    if (this.fault === "stuck") return { value: [], elapsedUs: startLowUs + timeoutUs }; // low, forever
    const tMs = nowUs / 1000;
    const t = this.options.temperature.at(tMs);
    const rh = this.options.humidity.at(tMs);
    if (this.fault === "noAnswer" || Number.isNaN(t) || Number.isNaN(rh)) return silent;

    const frame = dht22Frame(t, rh);
    if (this.fault === "corruptChecksum") frame[this.corruptBit >> 3] ^= 0x80 >> (this.corruptBit & 7);
    const bits = this.fault === "truncated" ? Math.min(40, this.truncateAfterBits) : 40;

    const levels: Array<[number, number]> = [
      [1, this.duration(DHT22_TIMING.release)],
      [0, this.duration(DHT22_TIMING.responseLow)],
      [1, this.duration(DHT22_TIMING.responseHigh)],
    ];
    for (let i = 0; i < bits; i++) {
      const one = (frame[i >> 3] >> (7 - (i & 7))) & 1;
      levels.push([0, this.duration(DHT22_TIMING.bitLow)], [1, this.duration(one ? DHT22_TIMING.bitHigh1 : DHT22_TIMING.bitHigh0)]);
    }
    // A full frame ends with Ten low, then the bus is released (high, forever). A truncated one just
    // stops: its last high merges with the idle high and is never completed.
    if (bits === 40) levels.push([0, this.duration(DHT22_TIMING.endLow)]);
    else levels.pop();

    const entries: number[] = [];
    let elapsed = startLowUs;
    for (const [lvl, us] of levels) {
      if (entries.length >= max || us > timeoutUs) break;
      entries.push((lvl ? HalConst.PULSE_LEVEL_BIT : 0) + us);
      elapsed += us;
    }
    return { value: entries, elapsedUs: elapsed + timeoutUs };
  }

  private duration([min, typ, max]: Timing): number {
    const limit = Math.min(typ - min, max - typ);
    return Math.round(this.rng.clippedNormal(typ, this.jitterUs, limit));
  }
}
