// Potentiometer (or any ratiometric position) on an ADC pin, in percent of travel. Touches only the HAL
// through analog/adc.ts. A plain pot reaches both rails at its end stops, so rails are readings unless
// the pot is wired with end resistors (railsAreFaults = true: then a rail means a broken wire).
import { Sensor } from "../sensor";
import { readAdc, fullScale } from "./adc";

export class Potentiometer extends Sensor {
  private percent: f64 = NaN;

  constructor(private readonly pin: i32, private readonly adcBits: i32 = 12, private readonly railsAreFaults: bool = false) { super(); }

  name(): string { return "potentiometer"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "position"; }
  channelUnit(i: i32): string { return "%"; }

  setup(): i32 { return 0; }

  fetch(now: u32): i32 {
    this.percent = NaN;
    const raw = readAdc(this.pin, this.adcBits, this.railsAreFaults);
    if (raw < 0) return raw;
    this.percent = <f64>raw * 100.0 / <f64>fullScale(this.adcBits);
    return 0;
  }

  read(i: i32): f64 { return i == 0 ? this.percent : NaN; }
}
