// STUB interface (the models helper implements the generators): the physical quantity behind a sensor
// model. A model asks its signal for the true value at a device time and then quantises it as the part
// would (register counts, pulse widths, ADC counts).
export interface PhysicalSignal {
  /** The true physical value at device time tMs (degC, %RH, hPa, lx, ppm, cm, ...), or NaN while the
   *  sensor is "unplugged" by a scenario. Called with non-decreasing tMs. */
  at(tMs: number): number;
}

/** A signal that holds one value until set again: what tests use to put a known value in a model. */
export class FixedSignal implements PhysicalSignal {
  constructor(public value: number) {}
  at(): number { return this.value; }
}
