// MPU-6050 register addresses, values and scale factors (InvenSense RM-MPU-6000A-00 rev 4.2 "Register
// Map and Descriptions", and PS-MPU-6000A-00 rev 3.4 "Product Specification"), for the driver in
// this folder only.

export const MPU6050_ADDRESS: i32 = 0x68;      // AD0 low (RM section 4.32); 0x69 with AD0 high
export const MPU6050_ADDRESS_ALT: i32 = 0x69;

export const REG_GYRO_CONFIG: u8 = 0x1B;       // FS_SEL[4:3] (RM section 4.4)
export const REG_ACCEL_CONFIG: u8 = 0x1C;      // AFS_SEL[4:3] (RM section 4.5)
export const REG_ACCEL_XOUT_H: u8 = 0x3B;      // 0x3B..0x48: accel XYZ, temp, gyro XYZ, big-endian (RM 4.17-4.19)
export const DATA_LEN: i32 = 14;
export const REG_PWR_MGMT_1: u8 = 0x6B;        // DEVICE_RESET[7] SLEEP[6] CYCLE[5] TEMP_DIS[3] CLKSEL[2:0] (RM 4.28)
export const REG_WHO_AM_I: u8 = 0x75;          // RM section 4.32
export const WHO_AM_I: u8 = 0x68;              // bits 6:1 of the address, AD0 not reflected (RM 4.32)

/** Wake (SLEEP = 0) with the X gyro's PLL as clock source, as RM section 4.28 recommends over the
 *  internal 8 MHz oscillator. */
export const PWR_WAKE_PLL_X: u8 = 0x01;

/** Sensitivity in LSB/g for AFS_SEL 0..3 = +-2, 4, 8, 16 g (RM section 4.17, PS Table 6.2). */
export function accelLsbPerG(afs: u8): f64 {
  if (afs == 0) return 16384.0;
  if (afs == 1) return 8192.0;
  if (afs == 2) return 4096.0;
  return 2048.0;
}

/** Sensitivity in LSB/(deg/s) for FS_SEL 0..3 = +-250, 500, 1000, 2000 deg/s (RM section 4.19, PS Table 6.1). */
export function gyroLsbPerDps(fs: u8): f64 {
  if (fs == 0) return 131.0;
  if (fs == 1) return 65.5;
  if (fs == 2) return 32.8;
  return 16.4;
}

/** Die temperature in degC = TEMP_OUT / 340 + 36.53 (RM section 4.18). */
export const TEMP_LSB_PER_DEGC: f64 = 340.0;
export const TEMP_OFFSET_DEGC: f64 = 36.53;

/** Standard gravity, to report acceleration in m/s2 (CGPM 1901; ISO 80000-3). */
export const STANDARD_GRAVITY: f64 = 9.80665;
