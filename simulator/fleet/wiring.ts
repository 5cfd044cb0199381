// Turns an app's hardware description (app.json "hardware": which part on which bus, address or pin)
// into bus-level models for one virtual device, each fed by the scenario's physical signals. Seeded per
// (fleet seed, device id): the same device gets the same world whatever shard runs it.
// Touches nothing but the models it creates.
import type { DeviceWiring, I2cTarget, PinDevice } from "../hal/buses.js";
import { deriveSeed, Random } from "../random.js";
import { PotentiometerModel, NtcModel, SoundLevelModel, type ThermistorCurve } from "../sensors/analog/models.js";
import { Bh1750Model } from "../sensors/bh1750/index.js";
import { Bme280Model } from "../sensors/bme280/index.js";
import { Esp32ChipModel } from "../sensors/chip/esp32.js";
import { Dht22Model } from "../sensors/dht22/model.js";
import { ButtonModel } from "../sensors/gpio/button.js";
import { HcSr04Model } from "../sensors/hcsr04/model.js";
import { Mhz19bModel } from "../sensors/mhz19b/model.js";
import { Mpu6050Model } from "../sensors/mpu6050/index.js";
import { Scenario, type ScenarioSpec } from "../sensors/scenario.js";
import { Sht31Model } from "../sensors/sht31/index.js";
import type { ShardDeviceFactory } from "./shard.js";

export interface HardwarePart {
  /** Model name: bme280, sht31, bh1750, mpu6050, dht22, hcsr04, mhz19b, potentiometer, ntc, sound, button, chip. */
  part: string;
  bus?: number;
  address?: number;
  pin?: number;
  /** Named extra pins (hcsr04: { trigger, echo }). */
  pins?: Record<string, number>;
  /** The scenario metric behind each of the part's quantities, when not the quantity's own name. */
  metrics?: Record<string, string>;
  options?: Record<string, unknown>;
}

export interface FleetWiringSpec {
  hardware: HardwarePart[];
  seed: number;
  adcBits: number;
  /** Which chip-internal sensors the board's chip has (boards/*.json sysSensors); default both. */
  chipSensors?: { temperature: boolean; hall: boolean };
  scenario?: ScenarioSpec;
}

/** Metrics the example parts measure beyond the city-station set (mean +- std of a typical site). */
export const PART_METRICS: NonNullable<ScenarioSpec["metrics"]> = {
  co2: { mean: 650, std: 60, unit: "ppm" },
  distance: { mean: 120, std: 5, unit: "cm" },
  position: { mean: 50, std: 10, unit: "%" },
  dieTemperature: { mean: 45, std: 1, unit: "degC" },
  hall: { mean: 20, std: 3, unit: "raw" },
  accelX: { mean: 0, std: 0.05, unit: "m/s2" },
  accelY: { mean: 0, std: 0.05, unit: "m/s2" },
  accelZ: { mean: 9.80665, std: 0.05, unit: "m/s2" },
  gyroX: { mean: 0, std: 0.5, unit: "deg/s" },
  gyroY: { mean: 0, std: 0.5, unit: "deg/s" },
  gyroZ: { mean: 0, std: 0.5, unit: "deg/s" },
};

export class WiringError extends Error {}

const NTC_10K: ThermistorCurve = { kind: "beta", r0: 10_000, t0C: 25, beta: 3950 } as ThermistorCurve;

export function createDeviceFactory(spec: FleetWiringSpec): ShardDeviceFactory {
  const scenarioSpec: ScenarioSpec = {
    name: spec.scenario?.name ?? "default",
    ...spec.scenario,
    seed: deriveSeed(spec.seed, spec.scenario?.seed ?? 1),
    metrics: { ...PART_METRICS, ...spec.scenario?.metrics },
  };
  for (const p of spec.hardware) if (!BUILDERS[p.part]) {
    throw new WiringError(`unknown part "${p.part}" in the app's hardware (known: ${Object.keys(BUILDERS).join(", ")})`);
  }
  return {
    wiring(deviceId: number): DeviceWiring {
      const scenario = new Scenario(scenarioSpec, deviceId);
      const wiring: DeviceWiring = { i2c: new Map([[0, []]]), pins: new Map(), adcBits: spec.adcBits, i2cFault: scenario.busFault() };
      spec.hardware.forEach((part, index) => {
        const metric = (quantity: string) => scenario.signal(part.metrics?.[quantity] ?? quantity);
        BUILDERS[part.part]({ part, wiring, metric, seed: deriveSeed(spec.seed, deviceId, index, part.part), spec });
      });
      return wiring;
    },
  };
}

interface BuildContext {
  part: HardwarePart;
  wiring: DeviceWiring;
  metric(quantity: string): import("../sensors/signal.js").PhysicalSignal;
  seed: number;
  spec: FleetWiringSpec;
}

function onBus(ctx: BuildContext, target: I2cTarget): void {
  const bus = ctx.part.bus ?? 0;
  const list = ctx.wiring.i2c.get(bus) ?? [];
  list.push(target);
  ctx.wiring.i2c.set(bus, list);
}

function onPin(ctx: BuildContext, name: string, pin: number | undefined, device: PinDevice): void {
  if (pin === undefined) throw new WiringError(`${ctx.part.part}: needs a ${name} pin`);
  ctx.wiring.pins.set(pin, device);
}

const BUILDERS: Record<string, (ctx: BuildContext) => void> = {
  bme280: (c) => onBus(c, new Bme280Model({ address: c.part.address ?? 0x76, temperature: c.metric("temperature"), humidity: c.metric("humidity"), pressure: c.metric("pressure") })),
  sht31: (c) => onBus(c, new Sht31Model({ address: c.part.address ?? 0x44, temperature: c.metric("temperature"), humidity: c.metric("humidity") })),
  bh1750: (c) => onBus(c, new Bh1750Model({ address: c.part.address ?? 0x23, illuminance: c.metric("illuminance") })),
  mpu6050: (c) => onBus(c, new Mpu6050Model({
    address: c.part.address ?? 0x68, accelX: c.metric("accelX"), accelY: c.metric("accelY"), accelZ: c.metric("accelZ"),
    gyroX: c.metric("gyroX"), gyroY: c.metric("gyroY"), gyroZ: c.metric("gyroZ"), temperature: c.metric("dieTemperature"),
  })),
  dht22: (c) => onPin(c, "data", c.part.pin, new Dht22Model({ temperature: c.metric("temperature"), humidity: c.metric("humidity"), seed: c.seed })),
  hcsr04: (c) => {
    const model = new HcSr04Model({ distance: c.metric("distance"), airTemperature: c.metric("temperature"), seed: c.seed });
    onPin(c, "trigger", c.part.pins?.trigger, model);
    onPin(c, "echo", c.part.pins?.echo, model);
  },
  mhz19b: (c) => onPin(c, "PWM", c.part.pin, new Mhz19bModel({
    co2: c.metric("co2"), rangePpm: (c.part.options?.rangePpm as 2000 | 5000 | undefined) ?? 5000, seed: c.seed,
    phaseUs: Math.floor(new Random(c.seed).uniform(0, 1_004_000)),
  })),
  potentiometer: (c) => onPin(c, "wiper", c.part.pin, new PotentiometerModel(c.metric("position"), 1, c.seed)),
  ntc: (c) => onPin(c, "divider", c.part.pin, new NtcModel({ temperature: c.metric("temperature"), curve: NTC_10K, seriesOhms: 10_000, noiseLsb: 1, seed: c.seed })),
  sound: (c) => onPin(c, "envelope", c.part.pin, new SoundLevelModel({ level: c.metric("noise"), noiseLsb: 1, seed: c.seed })),
  button: (c) => onPin(c, "button", c.part.pin, pressesLikeAPerson(new ButtonModel({ seed: c.seed }), c.seed, Number(c.part.options?.pressesPerHour ?? 6))),
  chip: (c) => {
    const has = c.spec.chipSensors ?? { temperature: true, hall: true };
    c.wiring.chip = new Esp32ChipModel({
      temperature: has.temperature ? c.metric("dieTemperature") : undefined,
      hall: has.hall ? c.metric("hall") : undefined,
    });
  },
};

/** A button a person presses now and then: presses at random (Poisson, ratePerHour), each held 100-600 ms.
 *  The script is extended lazily as device time advances, so it costs nothing ahead of time. */
function pressesLikeAPerson(button: ButtonModel, seed: number, ratePerHour: number): PinDevice {
  const rng = new Random(deriveSeed(seed, "presses"));
  let scriptedUntilUs = 0;
  const extend = (nowUs: number) => {
    while (ratePerHour > 0 && scriptedUntilUs <= nowUs + 1_000_000) {
      const gapUs = Math.max(1_000_000, Math.round(-Math.log(1 - rng.uniform(0, 1)) * 3.6e9 / ratePerHour));
      const at = scriptedUntilUs + gapUs;
      const hold = Math.round(rng.uniform(100_000, 600_000));
      button.press(at).release(at + hold);
      scriptedUntilUs = at + hold + 20_000;
    }
  };
  return {
    level: (nowUs) => { extend(nowUs); return button.level(nowUs); },
    edges: (fromUs, toUs) => { extend(toUs); return button.edges!(fromUs, toUs); },
  };
}
