// NTC thermistor in a voltage divider with a series resistor, on an ADC pin, in degC: the divider gives
// the thermistor's resistance, the Beta equation or the Steinhart-Hart equation its temperature. Touches
// only the HAL through analog/adc.ts. A rail (0 or full scale) is an open or shorted thermistor: ERR_RANGE.
// Sources: Steinhart & Hart, "Calibration curves for thermistors", Deep-Sea Research 15 (1968) 497;
// the Beta form as in Vishay NTCLE100E3 datasheet ("B25/85" value, R(T) = R25 exp(B (1/T - 1/T25))).
import { Sensor } from "../sensor";
import { readAdc, fullScale } from "./adc";

const KELVIN_OFFSET: f64 = 273.15;

export abstract class NtcThermistor extends Sensor {
  private celsius: f64 = NaN;

  /** ntcToGround: Vcc - series - ADC - NTC - GND (true) or Vcc - NTC - ADC - series - GND (false). */
  constructor(private readonly pin: i32, private readonly seriesOhms: f64, private readonly ntcToGround: bool,
              private readonly adcBits: i32) { super(); }

  /** Temperature in kelvin of the thermistor at resistance ohms. */
  abstract kelvin(ohms: f64): f64;

  name(): string { return "ntc"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "temperature"; }
  channelUnit(i: i32): string { return "degC"; }

  setup(): i32 { return 0; }

  fetch(now: u32): i32 {
    this.celsius = NaN;
    const raw = readAdc(this.pin, this.adcBits, true);
    if (raw < 0) return raw;
    const counts = <f64>raw;
    const rest = <f64>fullScale(this.adcBits) - counts;
    // Divider: fraction = raw / full = R_ntc / (R_ntc + R_s) (to ground), or R_s / (R_ntc + R_s).
    const ohms = this.ntcToGround ? this.seriesOhms * counts / rest : this.seriesOhms * rest / counts;
    this.celsius = this.kelvin(ohms) - KELVIN_OFFSET;
    return 0;
  }

  read(i: i32): f64 { return i == 0 ? this.celsius : NaN; }
}

/** Beta model: 1/T = 1/T0 + ln(R/R0) / Beta. */
export class NtcBeta extends NtcThermistor {
  private readonly invT0: f64;
  constructor(pin: i32, seriesOhms: f64, private readonly r0: f64, t0C: f64, private readonly beta: f64,
              ntcToGround: bool = true, adcBits: i32 = 12) {
    super(pin, seriesOhms, ntcToGround, adcBits);
    this.invT0 = 1.0 / (t0C + KELVIN_OFFSET);
  }
  kelvin(ohms: f64): f64 { return 1.0 / (this.invT0 + Math.log(ohms / this.r0) / this.beta); }
}

/** Steinhart-Hart: 1/T = A + B ln R + C (ln R)^3. */
export class NtcSteinhartHart extends NtcThermistor {
  constructor(pin: i32, seriesOhms: f64, private readonly a: f64, private readonly b: f64, private readonly c: f64,
              ntcToGround: bool = true, adcBits: i32 = 12) {
    super(pin, seriesOhms, ntcToGround, adcBits);
  }
  kelvin(ohms: f64): f64 {
    const l = Math.log(ohms);
    return 1.0 / (this.a + this.b * l + this.c * l * l * l);
  }
}
