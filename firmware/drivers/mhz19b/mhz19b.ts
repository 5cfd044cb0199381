// MH-Z19B NDIR CO2 sensor read through its PWM output: the HAL captures the last complete cycle natively
// in the background (pwm_read: high_us, low_us); this file turns it into ppm. Touches only the HAL
// imports and a static 8-byte buffer.
// Source: Winsen "Intelligent Infrared CO2 Module (Model: MH-Z19B) User's Manual" V1.0, section "PWM output".
import { pwm_read, ERR_NOT_READY } from "../../hal/imports";
import { Sensor, ERR_PROTOCOL, ERR_RANGE } from "../sensor";

/** Cycle 1004 ms +-5%: 2 ms start high + 1000 ms +-5% middle + 2 ms end low (section "PWM output"). */
const CYCLE_NOMINAL_US: f64 = 1004000.0;
const CYCLE_TOLERANCE: f64 = 0.05;
const EDGE_US: f64 = 2000.0;
/** Detection ranges the PWM formula is written for (section "PWM output"). */
export const RANGE_2000: i32 = 2000;
export const RANGE_5000: i32 = 5000;

const cycleBuf = memory.data(8);

export class Mhz19b extends Sensor {
  private ppm: f64 = NaN;

  /** rangePpm: the range the module is configured for, RANGE_2000 or RANGE_5000. */
  constructor(private readonly pin: i32, private readonly rangePpm: i32 = RANGE_5000) { super(); }

  name(): string { return "mhz19b"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "co2"; }
  channelUnit(i: i32): string { return "ppm"; }
  /** One PWM cycle; fetching more often returns the same cycle again. */
  minIntervalMs(): u32 { return 1004; }

  setup(): i32 {
    if (this.rangePpm != RANGE_2000 && this.rangePpm != RANGE_5000) return ERR_RANGE;
    const s = pwm_read(this.pin, cycleBuf); // starts the background capture
    return s == 0 || s == ERR_NOT_READY ? 0 : s; // no cycle yet is expected
  }

  /** ERR_NOT_READY until the first complete cycle, ERR_TIMEOUT when the line is dead. */
  fetch(now: u32): i32 {
    this.ppm = NaN;
    const s = pwm_read(this.pin, cycleBuf);
    if (s < 0) return s;
    const th = <f64>load<u32>(cycleBuf);
    const tl = <f64>load<u32>(cycleBuf, 4);
    const cycle = th + tl;
    if (cycle < CYCLE_NOMINAL_US * (1.0 - CYCLE_TOLERANCE) || cycle > CYCLE_NOMINAL_US * (1.0 + CYCLE_TOLERANCE)) return ERR_PROTOCOL;
    // Cppm = range * (TH - 2 ms) / (TH + TL - 4 ms)
    let ppm = <f64>this.rangePpm * (th - EDGE_US) / (cycle - 2.0 * EDGE_US);
    // The fixed 2 ms edges make TH >= 2 ms and TL >= 2 ms; a few us of capture jitter may cross them.
    if (ppm < -0.01 * <f64>this.rangePpm || ppm > 1.01 * <f64>this.rangePpm) return ERR_PROTOCOL;
    this.ppm = Math.min(<f64>this.rangePpm, Math.max(0.0, ppm));
    return 0;
  }

  read(i: i32): f64 { return i == 0 ? this.ppm : NaN; }
}
