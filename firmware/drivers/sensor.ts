// The one interface every driver implements, and all the aggregation core knows of a sensor.
// Lifecycle (ESPHome's setup/update, Zephyr's fetch-then-read): setup() once, then per sample
// fetch(now) does the bus work and read(i) returns channel i from that fetch. Errors are values:
// a negative HAL status (ERR_NACK, ERR_TIMEOUT, ...) or one of the driver errors below, never a trap.
// A driver depends on firmware/hal/imports only, never on a board or the simulator.

/** Driver-level errors, beyond the HAL's bus statuses (-1..-6). */
export const ERR_CHECKSUM: i32 = -10;   // CRC or checksum mismatch
export const ERR_CHIP_ID: i32 = -11;    // wrong chip id / WHO_AM_I: absent or not the expected part
export const ERR_RANGE: i32 = -12;      // a decoded value outside the part's physical range
export const ERR_PROTOCOL: i32 = -13;   // a pulse train or reply that does not follow the datasheet's shape
export const ERR_TOO_SOON: i32 = -14;   // called before the part's minimum interval since the last read

export abstract class Sensor {
  /** Short part name, e.g. "bme280". */
  abstract name(): string;
  /** How many channels read() serves. */
  abstract channelCount(): i32;
  /** Channel i's name (e.g. "temperature") and unit (SI-ish, e.g. "degC", "%RH", "hPa", "lx", "ppm"). */
  abstract channelName(i: i32): string;
  abstract channelUnit(i: i32): string;
  /** True when channel i is a rare (event) channel, sent at once rather than summarised. */
  isRare(i: i32): bool { return false; }
  /** Probe and configure the part. 0 or a negative error. */
  abstract setup(): i32;
  /** Begin a measurement at now_ms, for parts that convert on command (forced mode, single shot).
   *  Returns how many ms the part needs before fetch() can collect the result (0: fetch at once), or a
   *  negative error. The core then sleeps (on a board) or runs other devices (in the simulator) instead
   *  of the driver polling the bus. A driver that needs no trigger keeps this default. */
  start(now: u32): i32 { return 0; }
  /** Collect one measurement at now_ms (after start() and its wait; a driver must also work when called
   *  without start(), by triggering and waiting itself). 0 or a negative error; ERR_NOT_READY and
   *  ERR_TOO_SOON mean "no reading this time" (the core skips the sample, it is not a fault). A rare
   *  sensor returns the number of new events (0 when nothing happened) and read(i) gives the value of
   *  channel i's latest. */
  abstract fetch(now: u32): i32;
  /** Channel i from the last successful fetch; NaN where the part reported the value as missing. */
  abstract read(i: i32): f64;
  /** Minimum milliseconds between fetches the part allows (datasheet), 0 if none. */
  minIntervalMs(): u32 { return 0; }
}
