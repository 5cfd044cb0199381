// Analog sound level: a microphone module's envelope output on an ADC pin, in dB through a calibration
// dB = offsetDb + 20 log10(V_envelope / 1 V). offsetDb is the level that gives a 1 V envelope; measure it
// once against a reference meter (default 80 dB: 50 dB -> 31.6 mV = 39 counts at 12 bits/3.3 V, 1 LSB
// ~0.2 dB there). Touches only the HAL through analog/adc.ts. 0 counts (no signal: -inf dB, or an open
// wire) and full scale (clipped) are ERR_RANGE.
import { Sensor } from "../sensor";
import { readAdc, fullScale } from "./adc";

export class SoundLevel extends Sensor {
  private db: f64 = NaN;

  constructor(private readonly pin: i32, private readonly offsetDb: f64 = 80.0, private readonly vrefV: f64 = 3.3,
              private readonly adcBits: i32 = 12) { super(); }

  name(): string { return "sound"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "noise"; }
  channelUnit(i: i32): string { return "dB"; }

  setup(): i32 { return 0; }

  fetch(now: u32): i32 {
    this.db = NaN;
    const raw = readAdc(this.pin, this.adcBits, true);
    if (raw < 0) return raw;
    const volts = <f64>raw * this.vrefV / <f64>fullScale(this.adcBits);
    this.db = this.offsetDb + 20.0 * Math.log10(volts);
    return 0;
  }

  read(i: i32): f64 { return i == 0 ? this.db : NaN; }
}
