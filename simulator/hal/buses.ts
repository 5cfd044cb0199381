// The bus-level interfaces sensor models implement (simulator/sensors/) and the virtual device's HAL
// (host.ts) calls. A model sees what a real part sees on its pins or its I2C address, nothing more:
// that is what makes a driver test real. Times are the device's virtual clock in microseconds.

/** A status from the HAL contract (Status.OK, Status.ERR_NACK, ...). */
export type HalStatus = number;

/** A part on an I2C bus at one 7-bit address. A transaction is START, address, bytes, STOP; an
 *  i2c_write_read is write() then read() with a repeated START between them. */
export interface I2cTarget {
  readonly address: number;
  /** False when unplugged: the address is not acknowledged (ERR_NACK). */
  present(nowUs: number): boolean;
  /** Bytes written after the address (a view of the module's memory, valid during the call only: the
   *  HAL reuses view objects, so copy what must be kept). OK, or ERR_NACK for a byte the part does not
   *  acknowledge. */
  write(data: Uint8Array, nowUs: number): HalStatus;
  /** Fill out with the part's reply (auto-incrementing registers, CRC bytes...). OK or a status. */
  read(out: Uint8Array, nowUs: number): HalStatus;
  /** Optional: microseconds the part stretches the clock for this read (conversion time), if any. */
  stretchUs?(nowUs: number): number;
}

/** What an I2C bus does to a transaction as a whole (a noisy or stuck bus in a scenario). */
export interface I2cBusFault {
  /** Return a status to fail this transaction with (ERR_BUS, ERR_TIMEOUT), or OK to let it through. */
  check(bus: number, address: number, nowUs: number): HalStatus;
}

/** The result of a HAL call that takes device time: a value (or negative status) and how long the
 *  call blocked, by which the virtual device advances its clock. */
export interface Timed<T> {
  value: T;
  elapsedUs: number;
}

/** Something wired to one GPIO pin: a button, an ultrasonic ranger's echo, a DHT22's data line, an
 *  analog source. Each method is optional; the HAL answers ERR_UNSUPPORTED for one that is missing. */
export interface PinDevice {
  /** Digital level the part drives on the pin (0/1). */
  level?(nowUs: number): number;
  /** The MCU drives the pin (an output): a trigger, a chip select. */
  driven?(level: number, nowUs: number): void;
  /** Raw ADC counts at the board's resolution. */
  adc?(nowUs: number, bits: number): number;
  /** pulse_out: the MCU drives level for widthUs (e.g. the HC-SR04 trigger). */
  pulseOut?(level: number, widthUs: number, nowUs: number): void;
  /** pulse_in: width of the next pulse at level in us, or ERR_TIMEOUT; elapsed = wait + width. */
  pulseIn?(level: number, timeoutUs: number, nowUs: number): Timed<number>;
  /** pulse_train: the entries as pulse_train returns them (bit 31 = level, bits 0..30 = us), or a status. */
  pulseTrain?(startLowUs: number, max: number, timeoutUs: number, nowUs: number): Timed<number[] | HalStatus>;
  /** pwm_read: the last complete cycle before nowUs as [highUs, lowUs], or a status. */
  pwmCycle?(nowUs: number): [number, number] | HalStatus;
  /** Edges between two instants, oldest first, as [timeUs, level] (for gpio_watch/gpio_edges). */
  edges?(fromUs: number, toUs: number): Array<[number, number]>;
}

/** Chip-internal sensors (SYS_SENSOR_TEMPERATURE, SYS_SENSOR_HALL): raw values as the chip reports them. */
export interface ChipSensors {
  read(sensor: number, nowUs: number): number | HalStatus;
}

/** Everything a virtual device's HAL is wired to. */
export interface DeviceWiring {
  i2c: Map<number, I2cTarget[]>;          // bus number -> parts on it
  i2cFault?: I2cBusFault;
  pins: Map<number, PinDevice>;           // GPIO number -> part on it
  chip?: ChipSensors;
  adcBits: number;                         // the board's ADC resolution
}
