// Model of an HC-SR04 ultrasonic ranger wired to a trigger pin and an echo pin (register the same object
// on both): a trigger of >= 10 us starts a ranging, the echo pulse then lasts the sound's round trip to the
// physical distance, with seeded jitter. Beyond the part's reach, or with nothing plugged in, no echo.
// Faults: noAnswer (no echo pulse at all), stuck (echo held high). Touches only its signals and Random.
// Sources: ElecFreaks "Ultrasonic Ranging Module HC-SR04" datasheet (10 us trigger, 8 x 40 kHz burst,
// 2-400 cm); Cytron "HC-SR04 User's Manual" v1.0 section 6 (38 ms echo when nothing is in range).
import { Status } from "../../hal/abi.generated.js";
import type { PinDevice, Timed } from "../../hal/buses.js";
import { Random } from "../../random.js";
import type { PinFault } from "../pin-faults.js";
import type { PhysicalSignal } from "../signal.js";

export const HCSR04 = {
  triggerMinUs: 10,
  /** The echo rises after the 8-cycle 40 kHz burst (8 x 25 us) leaves the transducer. */
  burstUs: 200,
  /** The module's "nothing in range" echo (Cytron manual section 6). */
  noEchoUs: 38000,
  /** Beyond this the model hears no echo (a real module sometimes still does up to ~4.5 m). */
  maxEchoCm: 450,
} as const;

/** Speed of sound in dry air, ideal gas: 331.3 m/s * sqrt(1 + T / 273.15 K) (343.2 m/s at 20 degC). The
 *  driver (firmware/drivers/hcsr04) uses the same formula. */
export function speedOfSound(airC: number): number {
  return 331.3 * Math.sqrt(1 + airC / 273.15);
}

export interface HcSr04ModelOptions {
  distance: PhysicalSignal;        // cm
  airTemperature?: PhysicalSignal; // degC, default 20
  seed?: number | string;
  /** Standard deviation of the echo width, us, clipped to +-3 sigma (default 1). */
  jitterUs?: number;
  fault?: PinFault;
}

export class HcSr04Model implements PinDevice {
  fault: PinFault;
  private readonly rng: Random;
  private readonly jitterUs: number;
  private triggerEndUs: number | undefined;

  constructor(private readonly options: HcSr04ModelOptions) {
    this.fault = options.fault ?? "none";
    this.rng = new Random(options.seed ?? "hcsr04");
    this.jitterUs = options.jitterUs ?? 1;
  }

  pulseOut(level: number, widthUs: number, nowUs: number): void {
    if (level === 1 && widthUs >= HCSR04.triggerMinUs) this.triggerEndUs = nowUs + widthUs;
  }

  /** The echo width in us that a ranging started at triggerEndUs produces, or undefined for no pulse. */
  echoWidthUs(atUs: number): number | undefined {
    const tMs = atUs / 1000;
    const cm = this.options.distance.at(tMs);
    const airC = this.options.airTemperature?.at(tMs) ?? 20;
    if (this.fault === "noAnswer" || Number.isNaN(cm)) return undefined;
    if (cm > HCSR04.maxEchoCm || cm < 0) return HCSR04.noEchoUs;
    const roundTripUs = (2 * cm * 1e-2 / speedOfSound(airC)) * 1e6;
    const j = this.rng.clippedNormal(0, this.jitterUs, 3 * this.jitterUs);
    return Math.max(1, Math.round(roundTripUs + j));
  }

  pulseIn(level: number, timeoutUs: number, nowUs: number): Timed<number> {
    const timeout = { value: Status.ERR_TIMEOUT, elapsedUs: timeoutUs };
    if (this.fault === "stuck") return timeout; // echo high from before the call, never falls
    const trig = this.triggerEndUs;
    this.triggerEndUs = undefined;
    if (level !== 1 || trig === undefined) return timeout;
    const width = this.echoWidthUs(trig);
    if (width === undefined) return timeout;
    const wait = Math.max(0, trig + HCSR04.burstUs - nowUs);
    return wait + width > timeoutUs ? timeout : { value: width, elapsedUs: wait + width };
  }

  /** Echo pin level: low between rangings (the stuck fault holds it high). */
  level(): number { return this.fault === "stuck" ? 1 : 0; }
}
