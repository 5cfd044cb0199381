// STUB until the sensor models land: turns an app's hardware description (app.json "hardware") into
// bus models for one device, seeded from the fleet seed and the device id.
import type { DeviceWiring } from "../hal/buses.js";
import type { ShardDeviceFactory } from "./shard.js";

export interface HardwarePart {
  /** Model name, e.g. "bme280", "dht22". */
  part: string;
  bus?: number;
  address?: number;
  pin?: number;
  /** Named extra pins (e.g. { trigger: 5, echo: 18 }). */
  pins?: Record<string, number>;
  options?: Record<string, unknown>;
}

export interface FleetWiringSpec {
  hardware: HardwarePart[];
  seed: number;
  adcBits: number;
}

export function createDeviceFactory(spec: FleetWiringSpec): ShardDeviceFactory {
  return {
    wiring(): DeviceWiring {
      const i2c = new Map<number, never[]>([[0, []]]);
      if (spec.hardware.length) throw new Error(`no models yet for ${spec.hardware.map((p) => p.part).join(", ")}`);
      return { i2c, pins: new Map(), adcBits: spec.adcBits };
    },
  };
}
