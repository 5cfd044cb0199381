// BME280 register map, command values and timing (Bosch BST-BME280-DS002, rev 1.6), for the driver
// in this folder only. Every number names the datasheet section or table it comes from.

export const BME280_ADDRESS_PRIMARY: i32 = 0x76;   // SDO to GND (section 6.2)
export const BME280_ADDRESS_SECONDARY: i32 = 0x77; // SDO to VDDIO (section 6.2)

export const REG_CALIB_TP: u8 = 0x88;   // calib00..calib25 = 0x88..0xA1 (Table 18, Table 16)
export const CALIB_TP_LEN: i32 = 26;    // 0x88..0xA1: dig_T1..dig_P9 (24 bytes), 0xA0 unused, 0xA1 dig_H1
export const REG_CHIP_ID: u8 = 0xD0;    // "id" (section 5.4.1)
export const CHIP_ID: u8 = 0x60;        // id of a BME280 (section 5.4.1)
export const REG_RESET: u8 = 0xE0;      // "reset" (section 5.4.2)
export const RESET_WORD: u8 = 0xB6;     // writing 0xB6 performs a power-on reset (section 5.4.2)
export const REG_CALIB_H: u8 = 0xE1;    // calib26..calib41: dig_H2..dig_H6 at 0xE1..0xE7 (Table 16)
export const CALIB_H_LEN: i32 = 7;
export const REG_CTRL_HUM: u8 = 0xF2;   // osrs_h[2:0]; effective only after a write to ctrl_meas (5.4.3)
export const REG_STATUS: u8 = 0xF3;     // measuring[3], im_update[0] (section 5.4.4)
export const STATUS_MEASURING: u8 = 0x08;
export const STATUS_IM_UPDATE: u8 = 0x01;
export const REG_CTRL_MEAS: u8 = 0xF4;  // osrs_t[7:5], osrs_p[4:2], mode[1:0] (section 5.4.5)
export const REG_CONFIG: u8 = 0xF5;     // t_sb[7:5], filter[4:2], spi3w_en[0]; written in sleep mode (5.4.6)
export const REG_DATA: u8 = 0xF7;       // press 0xF7..0xF9, temp 0xFA..0xFC, hum 0xFD..0xFE (5.4.7-5.4.9)
export const DATA_LEN: i32 = 8;         // burst read of all data registers (section 4, "data readout")

export const MODE_SLEEP: u8 = 0b00;     // section 3.3.1, Table 25
export const MODE_FORCED: u8 = 0b01;

/** "Skipped" outputs: the value a data register holds when its measurement is off (section 3.3.1,
 *  5.4.7-5.4.9: reset values 0x80000 and 0x8000). */
export const SKIPPED_20BIT: i32 = 0x80000;
export const SKIPPED_16BIT: i32 = 0x8000;

/** Maximum measurement time in microseconds for the oversampling settings (osrs codes 0..5), from
 *  Appendix B, section 9.1: t_max = 1.25 + 2.3*T + (2.3*P + 0.575) + (2.3*H + 0.575) ms, where T, P,
 *  H are the oversampling ratios and a skipped measurement's term is 0. */
export function maxMeasurementUs(osrsT: u8, osrsP: u8, osrsH: u8): u32 {
  let us: u32 = 1250 + 2300 * oversampling(osrsT);
  if (osrsP != 0) us += 2300 * oversampling(osrsP) + 575;
  if (osrsH != 0) us += 2300 * oversampling(osrsH) + 575;
  return us;
}

/** Oversampling ratio for an osrs_x code: 0 = skipped, 1..5 = x1, x2, x4, x8, x16 (Tables 20, 22, 24). */
export function oversampling(osrs: u8): u32 {
  if (osrs == 0) return 0;
  const shift: u32 = min<u8>(osrs, 5) - 1; // not "<u32>1 << <u32>(...)" in one line: TypeScript (an editor, tsc) cannot parse that
  return (1 as u32) << shift;
}

/** Start-up time after power-on or soft reset (Table 1, t_startup: 2 ms). */
export const STARTUP_US: u32 = 2000;
