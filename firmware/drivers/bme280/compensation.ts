// Bosch's integer compensation for the BME280 (BST-BME280-DS002 section 4.2.3, "Compensation
// formulas", code revision 1.1): temperature and humidity in 32-bit, pressure in the 64-bit version.
// Used by the driver in this folder; holds the trimming parameters read from the part's NVM.
// Integer widths and shift order follow the datasheet exactly: i32 wraps like the C code's S32 type.

export class Bme280Calibration {
  // Table 16: dig_T1 u16, dig_T2..T3 s16, dig_P1 u16, dig_P2..P9 s16, dig_H1 u8, dig_H2 s16,
  // dig_H3 u8, dig_H4 and dig_H5 s12 (packed nibbles), dig_H6 s8.
  t1: i32 = 0; t2: i32 = 0; t3: i32 = 0;
  p1: i64 = 0; p2: i64 = 0; p3: i64 = 0; p4: i64 = 0; p5: i64 = 0; p6: i64 = 0; p7: i64 = 0; p8: i64 = 0; p9: i64 = 0;
  h1: i32 = 0; h2: i32 = 0; h3: i32 = 0; h4: i32 = 0; h5: i32 = 0; h6: i32 = 0;
  /** Fine temperature carried from temperature to pressure and humidity (section 4.2.3). */
  tFine: i32 = 0;

  /** Decode calib00..calib25 (0x88..0xA1, at tp) and calib26..calib32 (0xE1..0xE7, at h). */
  load(tp: usize, h: usize): void {
    this.t1 = <i32>load<u16>(tp + 0);          // 0x88/0x89, little-endian (Table 16)
    this.t2 = <i32>load<i16>(tp + 2);
    this.t3 = <i32>load<i16>(tp + 4);
    this.p1 = <i64>load<u16>(tp + 6);          // 0x8E/0x8F
    this.p2 = <i64>load<i16>(tp + 8);
    this.p3 = <i64>load<i16>(tp + 10);
    this.p4 = <i64>load<i16>(tp + 12);
    this.p5 = <i64>load<i16>(tp + 14);
    this.p6 = <i64>load<i16>(tp + 16);
    this.p7 = <i64>load<i16>(tp + 18);
    this.p8 = <i64>load<i16>(tp + 20);
    this.p9 = <i64>load<i16>(tp + 22);
    this.h1 = <i32>load<u8>(tp + 25);          // 0xA1
    this.h2 = <i32>load<i16>(h + 0);           // 0xE1/0xE2
    this.h3 = <i32>load<u8>(h + 2);            // 0xE3
    // dig_H4 = 0xE4[7:0] / 0xE5[3:0] (bits 11:4 / 3:0), dig_H5 = 0xE5[7:4] / 0xE6[7:0] (bits 3:0 /
    // 11:4), both signed 12-bit (Table 16): the MSB byte is sign-extended as a signed char.
    const e4 = <i32>load<i8>(h + 3);
    const e5 = <i32>load<u8>(h + 4);
    const e6 = <i32>load<i8>(h + 5);
    this.h4 = (e4 << 4) | (e5 & 0x0F);
    this.h5 = (e6 << 4) | (e5 >> 4);
    this.h6 = <i32>load<i8>(h + 6);            // 0xE7
  }

  /** An erased or unreadable NVM reads as zeros (or 0xFF...): dig_T1 and dig_P1 are never 0 on a
   *  trimmed part, and dig_P1 = 0 would make the pressure formula divide by zero. */
  valid(): bool { return this.t1 != 0 && this.p1 != 0 && this.t1 != 0xFFFF; }

  /** Temperature in 0.01 degC from the 20-bit adc_T; sets tFine (BME280_compensate_T_int32). */
  temperature(adcT: i32): i32 {
    const var1 = (((adcT >> 3) - (this.t1 << 1)) * this.t2) >> 11;
    const d = (adcT >> 4) - this.t1;
    const var2 = (((d * d) >> 12) * this.t3) >> 14;
    this.tFine = var1 + var2;
    return (this.tFine * 5 + 128) >> 8;
  }

  /** Pressure in Pa as Q24.8 (Pa * 256) from the 20-bit adc_P, 0 when the formula would divide by
   *  zero (BME280_compensate_P_int64). Call temperature() first. */
  pressure(adcP: i32): u32 {
    let var1: i64 = <i64>this.tFine - 128000;
    let var2: i64 = var1 * var1 * this.p6;
    var2 = var2 + ((var1 * this.p5) << 17);
    var2 = var2 + (this.p4 << 35);
    var1 = ((var1 * var1 * this.p3) >> 8) + ((var1 * this.p2) << 12);
    var1 = (((<i64>1 << 47) + var1) * this.p1) >> 33;
    if (var1 == 0) return 0;
    let p: i64 = 1048576 - <i64>adcP;
    p = (((p << 31) - var2) * 3125) / var1;
    var1 = (this.p9 * (p >> 13) * (p >> 13)) >> 25;
    var2 = (this.p8 * p) >> 19;
    p = ((p + var1 + var2) >> 8) + (this.p7 << 4);
    return <u32>p;
  }

  /** Relative humidity in %RH as Q22.10 (%RH * 1024) from the 16-bit adc_H
   *  (bme280_compensate_H_int32). Call temperature() first. */
  humidity(adcH: i32): u32 {
    let v: i32 = this.tFine - 76800;
    v = (((((adcH << 14) - (this.h4 << 20) - (this.h5 * v)) + 16384) >> 15) *
      (((((((v * this.h6) >> 10) * (((v * this.h3) >> 11) + 32768)) >> 10) + 2097152) * this.h2 + 8192) >> 14));
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * this.h1) >> 4);
    v = v < 0 ? 0 : v;
    v = v > 419430400 ? 419430400 : v;
    return <u32>(v >> 12);
  }
}
