// DHT22 / AM2302 temperature and humidity sensor on one data pin. The start signal and the capture of
// the reply's level durations are native (HAL pulse_train); this file decodes the 40-bit frame. Touches
// only the HAL imports and its own static capture buffer.
// Source for every timing: Aosong "AM2302 Digital-output relative humidity & temperature sensor/module"
// datasheet, section 7 (single-bus communication), table "single-bus signal characteristics".
import { pulse_train, gpio_mode, time_ms, GPIO_INPUT_PULLUP, ERR_TIMEOUT, PULSE_LEVEL_BIT } from "../../hal/imports";
import { Sensor, ERR_CHECKSUM, ERR_PROTOCOL, ERR_RANGE, ERR_TOO_SOON } from "../sensor";

/** Host start signal: low for Tbe (datasheet min 0.8 ms, typ 1 ms; "1-10 ms" in older DHT22 sheets). */
const START_LOW_US: u32 = 1100;
/** A level longer than this ends the capture: the longest legal level is Tgo (release wait), max 200 us. */
const LEVEL_TIMEOUT_US: u32 = 300;
/** Leading release-high + 80/80 response + 40 bits x 2 levels + the 50 us end low = 84; room for 4 more. */
const MAX_ENTRIES: u32 = 88;
/** Where to look for the response: the capture may or may not start with the release high (Tgo). */
const RESPONSE_SEARCH: i32 = 4;
/** Response low Trel and high Treh: 75-85 us (typ 80). Accepted with margin for capture jitter. */
const RESPONSE_MIN_US: u32 = 60;
const RESPONSE_MAX_US: u32 = 100;
/** Bit start low TLOW: 48-55 us (typ 50). */
const BIT_LOW_MIN_US: u32 = 35;
const BIT_LOW_MAX_US: u32 = 75;
/** Bit high: TH0 22-30 us (typ 26) = 0, TH1 68-75 us (typ 70) = 1; decide at the midpoint of the typicals. */
const BIT_HIGH_MIN_US: u32 = 10;
const BIT_HIGH_MAX_US: u32 = 95;
const BIT_ONE_THRESHOLD_US: u32 = 48;
/** Minimum interval between reads: 2 s ("collecting period", datasheet section 5 / 7.4). */
const MIN_INTERVAL_MS: u32 = 2000;
/** No instruction within 1 s of power-up (datasheet section 7.4, "unstable status"). */
const POWER_UP_MS: u32 = 1000;
/** Measurement range (datasheet section 5): RH 0-99.9 %, T -40..80 degC. */
const RH_MAX: f64 = 100.0;
const T_MIN: f64 = -40.0;
const T_MAX: f64 = 80.0;

const trainBuf = memory.data(<i32>MAX_ENTRIES * 4);

export class Dht22 extends Sensor {
  private temperature: f64 = NaN;
  private humidity: f64 = NaN;
  private lastStartMs: u32 = 0;
  private started: bool = false;
  private setupMs: u32 = 0;
  private poweredUp: bool = false;

  constructor(private readonly pin: i32) { super(); }

  name(): string { return "dht22"; }
  channelCount(): i32 { return 2; }
  channelName(i: i32): string { return i == 0 ? "temperature" : "humidity"; }
  channelUnit(i: i32): string { return i == 0 ? "degC" : "%RH"; }
  minIntervalMs(): u32 { return MIN_INTERVAL_MS; }

  setup(): i32 {
    this.setupMs = time_ms();
    this.poweredUp = false;
    this.started = false;
    return gpio_mode(this.pin, GPIO_INPUT_PULLUP); // idle high through the pull-up (datasheet section 7.1)
  }

  fetch(now: u32): i32 {
    if (!this.poweredUp) {
      if (now - this.setupMs < POWER_UP_MS) return ERR_TOO_SOON;
      this.poweredUp = true; // once: the u32 difference would wrap after 49.7 days
    }
    if (this.started && now - this.lastStartMs < MIN_INTERVAL_MS) return ERR_TOO_SOON;
    this.started = true;
    this.lastStartMs = now;
    this.temperature = NaN;
    this.humidity = NaN;

    const n = pulse_train(this.pin, START_LOW_US, trainBuf, MAX_ENTRIES, LEVEL_TIMEOUT_US);
    if (n < 0) return n;
    if (n == 0) return ERR_TIMEOUT; // the line never changed level: nothing answered
    return this.decode(n);
  }

  read(i: i32): f64 { return i == 0 ? this.temperature : i == 1 ? this.humidity : NaN; }

  /** Find the 80 us low + 80 us high response, then 40 (low, high) bit cells; check the checksum. */
  private decode(n: i32): i32 {
    let at: i32 = -1;
    for (let i = 0; i < RESPONSE_SEARCH && i + 1 < n; i++) {
      if (isLevel(i, 0, RESPONSE_MIN_US, RESPONSE_MAX_US) && isLevel(i + 1, 1, RESPONSE_MIN_US, RESPONSE_MAX_US)) { at = i + 2; break; }
    }
    if (at < 0 || n - at < 80) return ERR_PROTOCOL; // no response, or a truncated train
    let hi: u32 = 0;   // bits 0..31: RH high, RH low, T high, T low
    let check: u32 = 0; // bits 32..39: checksum
    for (let bit = 0; bit < 40; bit++) {
      const low = at + bit * 2;
      if (!isLevel(low, 0, BIT_LOW_MIN_US, BIT_LOW_MAX_US) || !isLevel(low + 1, 1, BIT_HIGH_MIN_US, BIT_HIGH_MAX_US)) return ERR_PROTOCOL;
      const one: u32 = durationAt(low + 1) > BIT_ONE_THRESHOLD_US ? 1 : 0;
      if (bit < 32) hi = (hi << 1) | one; else check = (check << 1) | one;
    }
    // Checksum: the low 8 bits of the sum of the four data bytes (datasheet section 7.2).
    const sum = ((hi >>> 24) + ((hi >>> 16) & 0xff) + ((hi >>> 8) & 0xff) + (hi & 0xff)) & 0xff;
    if (sum != check) return ERR_CHECKSUM;
    // RH and T are 16-bit values x10; T's bit 15 is the sign, the rest its magnitude (section 7.2).
    const rhRaw = hi >>> 16;
    const tRaw = hi & 0xffff;
    const rh = <f64>rhRaw / 10.0;
    const tMag = <f64>(tRaw & 0x7fff) / 10.0;
    const t = (tRaw & 0x8000) != 0 ? -tMag : tMag;
    if (rh > RH_MAX || t < T_MIN || t > T_MAX) return ERR_RANGE;
    this.humidity = rh;
    this.temperature = t;
    return 0;
  }
}

function entryAt(i: i32): u32 { return load<u32>(trainBuf + (<usize>i << 2)); }
function durationAt(i: i32): u32 { return entryAt(i) & ~PULSE_LEVEL_BIT; }
function isLevel(i: i32, level: u32, minUs: u32, maxUs: u32): bool {
  const e = entryAt(i);
  const d = e & ~PULSE_LEVEL_BIT;
  return ((e & PULSE_LEVEL_BIT) != 0 ? 1 : 0) == level && d >= minUs && d <= maxUs;
}
