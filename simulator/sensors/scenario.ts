// Scripted scenarios for the simulator: a JSON-able description (ScenarioSpec) of what the physical world
// and the buses do to a device — city-station metrics with their noise, a heat-wave ramp, a sensor
// unplugged or stuck at a time, a noisy I2C bus — its validating loader, and Scenario, which turns a spec
// into PhysicalSignals and an I2cBusFault for one device. Reads a scenario file when asked; touches
// nothing else. All randomness is seeded (simulator/random.ts).
import { readFileSync } from "node:fs";
import { Status } from "../hal/abi.generated.js";
import type { HalStatus, I2cBusFault } from "../hal/buses.js";
import { deriveSeed, hashInts } from "../random.js";
import { NOISY_DEFAULTS, NoisySignal, RampSignal, StuckSignal, UnpluggedSignal, type PhysicalSignal } from "./signal.js";

export interface MetricDefault {
  mean: number;
  std: number;
  unit: string;
}

/** Defaults for a city station (the city sensor network of docs/ARCHITECTURE.md): mean +- std. */
export const CITY_STATION: Readonly<Record<string, MetricDefault>> = Object.freeze({
  temperature: { mean: 25, std: 2, unit: "degC" },
  humidity: { mean: 60, std: 3, unit: "%RH" },
  pressure: { mean: 1013, std: 2, unit: "hPa" },
  airQuality: { mean: 200, std: 20, unit: "index" },
  pm: { mean: 30, std: 2, unit: "ug/m3" },
  noise: { mean: 50, std: 3, unit: "dB" },
  illuminance: { mean: 500, std: 50, unit: "lx" },
});

/** How one metric behaves; fields left out come from CITY_STATION (known metrics) and the scenario. */
export interface MetricSpec {
  mean?: number;
  std?: number;
  unit?: string;
  recalibration?: number;
  momentum?: number;
  outlierRate?: number;
  outlierSigmas?: number;
}

export type ScenarioEvent =
  /** Heat wave: the metric's value rises by delta over rampMs from atMs, holds until untilMs, falls back over rampMs. */
  | { type: "ramp"; metric: string; atMs: number; rampMs: number; delta: number; untilMs?: number }
  /** The part reading this metric is unplugged from atMs (until untilMs): NaN, so models NACK or time out. */
  | { type: "unplug"; metric: string; atMs: number; untilMs?: number }
  /** The metric sticks at value (or at its value at atMs) from atMs (until untilMs). */
  | { type: "stuck"; metric: string; atMs: number; untilMs?: number; value?: number }
  /** A noisy I2C bus: from atMs (until untilMs) each transaction on `bus` (every bus if omitted) fails
   *  with ERR_BUS with probability failRate. */
  | { type: "noisyBus"; failRate: number; atMs?: number; untilMs?: number; bus?: number };

export interface ScenarioSpec {
  name: string;
  /** Seed of every random stream of the scenario (mixed with the device's seed). Default 1. */
  seed?: number;
  /** Walk step and defaults for every metric (see NoisySignal). */
  stepMs?: number;
  recalibration?: number;
  momentum?: number;
  outlierRate?: number;
  /** Metrics beyond or overriding CITY_STATION; a metric not in CITY_STATION needs mean and std. */
  metrics?: Record<string, MetricSpec>;
  events?: ScenarioEvent[];
}

export class ScenarioError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: invalid scenario:\n  ${problems.join("\n  ")}`);
  }
}

const EVENT_FIELDS: Record<ScenarioEvent["type"], { required: string[]; optional: string[] }> = {
  ramp: { required: ["metric", "atMs", "rampMs", "delta"], optional: ["untilMs"] },
  unplug: { required: ["metric", "atMs"], optional: ["untilMs"] },
  stuck: { required: ["metric", "atMs"], optional: ["untilMs", "value"] },
  noisyBus: { required: ["failRate"], optional: ["atMs", "untilMs", "bus"] },
};
const NUMBER_FIELDS = new Set(["seed", "stepMs", "recalibration", "momentum", "outlierRate", "outlierSigmas",
  "mean", "std", "atMs", "rampMs", "delta", "untilMs", "value", "failRate", "bus"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Check the fields of obj at path against allowed names; numbers must be finite. */
function checkFields(obj: Record<string, unknown>, path: string, allowed: string[], problems: string[]): void {
  for (const [key, value] of Object.entries(obj)) {
    if (!allowed.includes(key)) problems.push(`${path}.${key}: unknown field (allowed: ${allowed.join(", ")})`);
    else if (NUMBER_FIELDS.has(key) && !(typeof value === "number" && Number.isFinite(value)))
      problems.push(`${path}.${key}: must be a finite number (got ${JSON.stringify(value)})`);
  }
}

/** Validate a parsed JSON value as a ScenarioSpec. Throws a ScenarioError listing every problem found. */
export function parseScenario(value: unknown, source = "scenario"): ScenarioSpec {
  const problems: string[] = [];
  if (!isObject(value)) throw new ScenarioError(source, ["top level: must be an object"]);
  const top = ["name", "seed", "stepMs", "recalibration", "momentum", "outlierRate", "metrics", "events"];
  checkFields(value, "scenario", top, problems);
  if (typeof value.name !== "string" || value.name === "") problems.push("scenario.name: required, a non-empty string");

  const metrics = new Set(Object.keys(CITY_STATION));
  if (value.metrics !== undefined) {
    if (!isObject(value.metrics)) problems.push("scenario.metrics: must be an object of metric name -> settings");
    else for (const [name, spec] of Object.entries(value.metrics)) {
      const path = `metrics.${name}`;
      if (!isObject(spec)) { problems.push(`${path}: must be an object`); continue; }
      checkFields(spec, path, ["mean", "std", "unit", "recalibration", "momentum", "outlierRate", "outlierSigmas"], problems);
      if (spec.unit !== undefined && typeof spec.unit !== "string") problems.push(`${path}.unit: must be a string`);
      if (!(name in CITY_STATION) && (spec.mean === undefined || spec.std === undefined))
        problems.push(`${path}: not a city-station metric (${Object.keys(CITY_STATION).join(", ")}), so mean and std are required`);
      metrics.add(name);
    }
  }
  if (value.events !== undefined) {
    if (!Array.isArray(value.events)) problems.push("scenario.events: must be an array");
    else value.events.forEach((ev: unknown, i: number) => {
      const path = `events[${i}]`;
      if (!isObject(ev)) { problems.push(`${path}: must be an object`); return; }
      const kind = EVENT_FIELDS[ev.type as ScenarioEvent["type"]];
      if (!kind) { problems.push(`${path}.type: must be one of ${Object.keys(EVENT_FIELDS).join(", ")} (got ${JSON.stringify(ev.type)})`); return; }
      checkFields(ev, path, ["type", ...kind.required, ...kind.optional], problems);
      for (const f of kind.required) if (ev[f] === undefined) problems.push(`${path}.${f}: required for a ${String(ev.type)} event`);
      if ("metric" in ev && !metrics.has(ev.metric as string))
        problems.push(`${path}.metric: unknown metric ${JSON.stringify(ev.metric)} (known: ${[...metrics].join(", ")})`);
      if (typeof ev.untilMs === "number" && typeof ev.atMs === "number" && ev.untilMs <= ev.atMs)
        problems.push(`${path}.untilMs: must be after atMs`);
      if (typeof ev.failRate === "number" && (ev.failRate < 0 || ev.failRate > 1)) problems.push(`${path}.failRate: must be in [0, 1]`);
      if (typeof ev.rampMs === "number" && ev.rampMs < 0) problems.push(`${path}.rampMs: must be >= 0`);
    });
  }
  if (problems.length === 0) {
    // Walk parameters: checked once resolved, so a bad default and a bad override are both caught.
    const spec = value as unknown as ScenarioSpec;
    for (const name of metrics) {
      const p = resolveMetric(spec, name);
      const problem = NoisySignal.check(p);
      if (problem) problems.push(`metrics.${name}: ${problem}`);
    }
  }
  if (problems.length) throw new ScenarioError(source, problems);
  return value as unknown as ScenarioSpec;
}

/** Read and validate a scenario file (JSON). Errors name the file. */
export function loadScenario(path: string): ScenarioSpec {
  let text: string;
  try { text = readFileSync(path, "utf8"); } catch (e) { throw new ScenarioError(path, [`cannot read: ${(e as Error).message}`]); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new ScenarioError(path, [`not JSON: ${(e as Error).message}`]); }
  return parseScenario(json, path);
}

type ResolvedMetric = Required<Omit<MetricSpec, "unit">> & { unit: string; stepMs: number };

function resolveMetric(spec: ScenarioSpec, name: string): ResolvedMetric {
  const base = CITY_STATION[name] ?? { mean: NaN, std: NaN, unit: "" };
  const m = spec.metrics?.[name] ?? {};
  return {
    mean: m.mean ?? base.mean,
    std: m.std ?? base.std,
    unit: m.unit ?? base.unit,
    stepMs: spec.stepMs ?? NOISY_DEFAULTS.stepMs,
    recalibration: m.recalibration ?? spec.recalibration ?? NOISY_DEFAULTS.recalibration,
    momentum: m.momentum ?? spec.momentum ?? NOISY_DEFAULTS.momentum,
    outlierRate: m.outlierRate ?? spec.outlierRate ?? NOISY_DEFAULTS.outlierRate,
    outlierSigmas: m.outlierSigmas ?? NOISY_DEFAULTS.outlierSigmas,
  };
}

/** A scenario for one device: its signals and its I2C bus fault. deviceSeed separates the devices of a
 *  fleet (same scenario, different noise); the same (spec, deviceSeed) always gives the same run. */
export class Scenario {
  constructor(readonly spec: ScenarioSpec, readonly deviceSeed: number = 0) {}

  /** Every metric the scenario knows: CITY_STATION's and the spec's own. */
  metrics(): string[] {
    return [...new Set([...Object.keys(CITY_STATION), ...Object.keys(this.spec.metrics ?? {})])];
  }

  unit(metric: string): string { return resolveMetric(this.spec, metric).unit; }

  /** A fresh signal for metric (its own state, same values as any other signal of the same metric). */
  signal(metric: string): PhysicalSignal {
    if (!this.metrics().includes(metric)) throw new ScenarioError(this.spec.name, [`unknown metric ${JSON.stringify(metric)}`]);
    const m = resolveMetric(this.spec, metric);
    let s: PhysicalSignal = new NoisySignal({ ...m, seed: deriveSeed(this.spec.seed ?? 1, this.deviceSeed, metric) });
    for (const ev of this.spec.events ?? []) {
      if (!("metric" in ev) || ev.metric !== metric) continue;
      if (ev.type === "ramp") s = new RampSignal(s, { fromMs: ev.atMs, untilMs: ev.untilMs, rampMs: ev.rampMs, delta: ev.delta });
      else if (ev.type === "stuck") s = new StuckSignal(s, { fromMs: ev.atMs, untilMs: ev.untilMs, value: ev.value });
      else if (ev.type === "unplug") s = new UnpluggedSignal(s, { fromMs: ev.atMs, untilMs: ev.untilMs });
    }
    return s;
  }

  /** The scenario's I2C fault for DeviceWiring.i2cFault, or undefined when the bus is clean. */
  busFault(): I2cBusFault | undefined {
    const noisy = (this.spec.events ?? []).filter((e): e is Extract<ScenarioEvent, { type: "noisyBus" }> => e.type === "noisyBus");
    return noisy.length ? new NoisyBus(noisy, deriveSeed(this.spec.seed ?? 1, this.deviceSeed, "i2c")) : undefined;
  }
}

/**
 * Fails a fraction of I2C transactions with ERR_BUS. The decision for a transaction is a hash of
 * (seed, bus, address, time in us, how many transactions came before at that same microsecond), so it
 * depends on the device's time and what it does at each instant, not on other devices or wall time.
 */
export class NoisyBus implements I2cBusFault {
  private lastUs = -1;
  private sameInstant = 0;
  constructor(private readonly windows: Array<{ failRate: number; atMs?: number; untilMs?: number; bus?: number }>,
              private readonly seed: number) {}

  check(bus: number, address: number, nowUs: number): HalStatus {
    if (nowUs !== this.lastUs) { this.lastUs = nowUs; this.sameInstant = 0; } else this.sameInstant++;
    const tMs = nowUs / 1000;
    let rate = 0;
    for (const w of this.windows) {
      if ((w.bus === undefined || w.bus === bus) && tMs >= (w.atMs ?? 0) && (w.untilMs === undefined || tMs < w.untilMs))
        rate = Math.max(rate, w.failRate);
    }
    if (rate === 0) return Status.OK;
    const draw = hashInts(this.seed, bus, address, nowUs, this.sameInstant) / 4294967296;
    return draw < rate ? Status.ERR_BUS : Status.OK;
  }
}

/** One example of each scripted scenario (loadable as JSON the same way). Times in device ms. */
export const EXAMPLE_SCENARIOS: Readonly<Record<string, ScenarioSpec>> = Object.freeze({
  calm: { name: "calm", seed: 1 },
  heatWave: { name: "heat-wave", seed: 2, events: [{ type: "ramp", metric: "temperature", atMs: 3_600_000, rampMs: 7_200_000, delta: 12, untilMs: 21_600_000 }] },
  unplugged: { name: "unplugged", seed: 3, events: [{ type: "unplug", metric: "temperature", atMs: 600_000 }] },
  stuck: { name: "stuck", seed: 4, events: [{ type: "stuck", metric: "humidity", atMs: 600_000 }] },
  noisyBus: { name: "noisy-bus", seed: 5, events: [{ type: "noisyBus", failRate: 0.1 }] },
  outliers: { name: "outliers", seed: 6, outlierRate: 0.01 },
});
