// HC-SR04 ultrasonic ranger on a trigger pin and an echo pin: a native 10 us trigger (pulse_out), the echo
// width measured natively (pulse_in), the distance computed here. Touches only the HAL imports.
// Sources: ElecFreaks "Ultrasonic Ranging Module HC-SR04" datasheet ("Electric Parameter" table, "Timing
// diagram"); Cytron "HC-SR04 User's Manual" v1.0, section 6 (38 ms echo when nothing is in range).
import { gpio_mode, gpio_write, pulse_out, pulse_in, GPIO_OUTPUT, GPIO_INPUT, ERR_TIMEOUT } from "../../hal/imports";
import { Sensor, ERR_RANGE, ERR_TOO_SOON } from "../sensor";

/** Trigger: a 10 us high pulse (ElecFreaks datasheet, "Trigger Input Signal: 10uS TTL pulse"). */
const TRIGGER_US: u32 = 10;
/** Echo capture limit: the 38 ms no-echo pulse (Cytron manual section 6) plus the ~0.5 ms burst delay. */
const ECHO_TIMEOUT_US: u32 = 40000;
/** An echo this long is the module's "nothing in range" pulse, not a distance (400 cm is ~23.3 ms). */
const NO_ECHO_US: i32 = 36000;
/** Ranging distance 2 cm - 400 cm (ElecFreaks datasheet, "Max Range 4m, Min Range 2cm"). */
const MIN_CM: f64 = 2.0;
const MAX_CM: f64 = 400.0;
/** Measurement cycle: "over 60ms ... to prevent trigger signal to the echo signal" (ElecFreaks datasheet). */
const MIN_INTERVAL_MS: u32 = 60;
/** Speed of sound in dry air, ideal gas: c = 331.3 m/s * sqrt(1 + T / 273.15 K); 343.2 m/s at 20 degC. */
const C0_M_PER_S: f64 = 331.3;
const KELVIN_OFFSET: f64 = 273.15;
const DEFAULT_AIR_C: f64 = 20.0;

/** Speed of sound in m/s at an air temperature in degC (shared with the simulator's model by formula). */
export function speedOfSound(airC: f64): f64 { return C0_M_PER_S * Math.sqrt(1.0 + airC / KELVIN_OFFSET); }

export class HcSr04 extends Sensor {
  private distanceCm: f64 = NaN;
  private cmPerUs: f64;
  private lastMs: u32 = 0;
  private measured: bool = false;

  constructor(private readonly triggerPin: i32, private readonly echoPin: i32) {
    super();
    this.cmPerUs = 0;
    this.setAirTemperature(DEFAULT_AIR_C);
  }

  name(): string { return "hcsr04"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "distance"; }
  channelUnit(i: i32): string { return "cm"; }
  minIntervalMs(): u32 { return MIN_INTERVAL_MS; }

  /** Temperature compensation: the air temperature in degC (20 degC until told otherwise). */
  setAirTemperature(airC: f64): void {
    // The echo covers the distance twice: d = width * c / 2; c in m/s = 1e-4 cm/us.
    this.cmPerUs = speedOfSound(airC) * 1e-4 / 2.0;
  }

  setup(): i32 {
    this.measured = false;
    let s = gpio_mode(this.triggerPin, GPIO_OUTPUT);
    if (s < 0) return s;
    s = gpio_write(this.triggerPin, 0);
    if (s < 0) return s;
    return gpio_mode(this.echoPin, GPIO_INPUT);
  }

  fetch(now: u32): i32 {
    if (this.measured && now - this.lastMs < MIN_INTERVAL_MS) return ERR_TOO_SOON;
    this.measured = true;
    this.lastMs = now;
    this.distanceCm = NaN;
    const t = pulse_out(this.triggerPin, 1, TRIGGER_US);
    if (t < 0) return t;
    const width = pulse_in(this.echoPin, 1, ECHO_TIMEOUT_US);
    if (width < 0) return width;
    if (width >= NO_ECHO_US) return ERR_TIMEOUT;
    const cm = <f64>width * this.cmPerUs;
    if (cm < MIN_CM || cm > MAX_CM) return ERR_RANGE;
    this.distanceCm = cm;
    return 0;
  }

  read(i: i32): f64 { return i == 0 ? this.distanceCm : NaN; }
}
