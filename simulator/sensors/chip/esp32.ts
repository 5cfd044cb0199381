// Model of the ESP32's chip-internal sensors (ChipSensors, for sys_sensor_read): the die temperature as
// temprature_sens_read() reports it (8-bit, degrees Fahrenheit) and the Hall sensor's raw value. A signal
// left out is a sensor the chip lacks (ESP32-S2/S3/C3: no Hall), answered with ERR_UNSUPPORTED; so is a
// NaN. Touches only its signals.
import { HalConst, Status } from "../../hal/abi.generated.js";
import type { ChipSensors, HalStatus } from "../../hal/buses.js";
import type { PhysicalSignal } from "../signal.js";

export interface Esp32ChipOptions {
  temperature?: PhysicalSignal;  // die temperature, degC
  hall?: PhysicalSignal;         // raw units
}

export class Esp32ChipModel implements ChipSensors {
  constructor(private readonly options: Esp32ChipOptions) {}

  read(sensor: number, nowUs: number): number | HalStatus {
    const tMs = nowUs / 1000;
    if (sensor === HalConst.SYS_SENSOR_TEMPERATURE && this.options.temperature) {
      const c = this.options.temperature.at(tMs);
      return Number.isNaN(c) ? Status.ERR_UNSUPPORTED : Math.max(0, Math.min(255, Math.round(c * 1.8 + 32)));
    }
    if (sensor === HalConst.SYS_SENSOR_HALL && this.options.hall) {
      const h = this.options.hall.at(tMs);
      return Number.isNaN(h) ? Status.ERR_UNSUPPORTED : Math.round(h);
    }
    return Status.ERR_UNSUPPORTED;
  }
}
