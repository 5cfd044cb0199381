// Shared by the analog drivers (potentiometer, NTC thermistor, sound level, joystick axes): one raw ADC
// conversion with the rail check, and the full-scale count. Touches only the HAL's adc_read.
// The ADC is taken as ratiometric: counts = round(V / Vref * (2^bits - 1)) (ESP32: 12 bits, Espressif
// "ESP32 Technical Reference Manual", chapter "On-Chip Sensors and Analog Signal Processing", SAR ADC).
import { adc_read } from "../../hal/imports";
import { ERR_RANGE } from "../sensor";

/** The highest count of a bits-wide ADC (4095 for the ESP32's 12 bits). */
export function fullScale(bits: i32): i32 { return (1 << bits) - 1; }

/** One conversion: the raw count, or a negative status. With railsAreFaults, 0 and full scale (an open
 *  or shorted divider, a clipped signal) are ERR_RANGE rather than readings. */
export function readAdc(pin: i32, bits: i32, railsAreFaults: bool): i32 {
  const raw = adc_read(pin);
  if (raw < 0) return raw;
  if (railsAreFaults && (raw == 0 || raw >= fullScale(bits))) return ERR_RANGE;
  return raw;
}
