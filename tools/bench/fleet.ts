// Fleet figures for `npm run bench` (issue 4 and the foundation's edge reduction): virtual-time
// throughput of env-station in sensor samples per second of wall time, beside a bare-JavaScript baseline
// that draws the same signals and aggregates them with the reference algorithm (no Wasm, no bus models)
// in the same run; the bytes on the link per raw sample at 10 Hz with 10 s windows against one JSON
// object per reading; memory per device; and the real-time capacity those figures imply.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp, type BuildResult } from "../../host/build/build.js";
import { encodeFrame } from "../../host/protocol/index.js";
import { Fleet } from "../../simulator/fleet/fleet.js";
import { FleetTelemetry } from "../../simulator/fleet/telemetry.js";
import { createDeviceFactory, PART_METRICS, type HardwarePart } from "../../simulator/fleet/wiring.js";
import { ReferenceAggregator } from "../../simulator/reference/aggregator.js";
import { Scenario } from "../../simulator/sensors/scenario.js";
import { deriveSeed } from "../../simulator/random.js";
import type { BenchResult } from "./result.js";

const SEED = 1;

async function envStation(): Promise<BuildResult> {
  return buildApp({ board: "esp32", outDir: mkdtempSync(join(tmpdir(), "iotfw-bench-")) });
}

function fleetOptions(built: BuildResult, devices: number, workers: number, inProcess: boolean) {
  return {
    binary: built.binary, appHash: Buffer.from(built.manifest.sha256, "hex"), board: "esp32", devices, workers, inProcess,
    wiring: { hardware: built.manifest.app.hardware as HardwarePart[], seed: SEED, adcBits: 12 },
  };
}

/** Run a fleet for durationMs of device time at full speed; samples summarised per wall second. */
async function runFleet(built: BuildResult, devices: number, durationMs: number, workers: number, inProcess: boolean) {
  const fleet = await Fleet.start(fleetOptions(built, devices, workers, inProcess));
  const telemetry = new FleetTelemetry();
  const started = performance.now();
  try {
    for (let t = 10_000; t <= durationMs; t += 10_000) for (const _ of telemetry.ingest((await fleet.runUntil(t)).batch)) { /* count */ }
  } finally {
    await fleet.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { samplesPerSecond: telemetry.counters.samples / seconds, deviceSecondsPerSecond: (devices * durationMs) / 1000 / seconds, telemetry };
}

/** The same work in bare JavaScript: env-station's eight frequent channels, the same scenario signals per
 *  device, sampled at the app's rates (1 s; CO2 every 5 s) into the reference aggregator (60 s windows). */
function runBaseline(hardware: HardwarePart[], devices: number, durationMs: number) {
  // The metric behind each env-station channel, in the app's channel order, and its sample period.
  const channels: Array<[string, number]> = [["temperature", 1000], ["humidity", 1000], ["pressure", 1000], ["temperature", 1000],
    ["humidity", 1000], ["illuminance", 1000], ["co2", 5000], ["noise", 1000]];
  void hardware;
  const spec = { name: "default", seed: deriveSeed(SEED, 1), metrics: PART_METRICS };
  let samples = 0;
  const started = performance.now();
  for (let id = 1; id <= devices; id++) {
    const scenario = new Scenario(spec, id);
    const signals = channels.map(([metric]) => scenario.signal(metric));
    const agg = new ReferenceAggregator(channels.length);
    for (let t = 0; t < durationMs; t += 1000) {
      for (let ch = 0; ch < channels.length; ch++) if (t % channels[ch][1] === 0) agg.sample(ch, signals[ch].at(t), t);
      agg.tick(t);
    }
    samples += agg.samples;
  }
  return { samplesPerSecond: samples / ((performance.now() - started) / 1000) };
}

/** Link bytes per raw sample at 10 Hz with 10 s windows, set on running devices by control frames. */
async function edgeReduction(built: BuildResult): Promise<{ ratio: number; bytesPerSample: number; jsonBytesPerSample: number }> {
  const devices = 20;
  const fleet = await Fleet.start(fleetOptions(built, devices, 1, true));
  const telemetry = new FleetTelemetry();
  try {
    await fleet.runUntil(1000);
    for (let id = 1; id <= devices; id++) {
      await fleet.control(id, encodeFrame({ type: "control", device: id, seq: 1, t: 0, op: "set_rate", periodMs: 100 }), 1000);
      await fleet.control(id, encodeFrame({ type: "control", device: id, seq: 2, t: 0, op: "set_window", channel: 0xff, ms: 10_000, count: 0 }), 1000);
    }
    await fleet.runUntil(10_000); // let the first (partial) windows close
    for (let t = 20_000; t <= 610_000; t += 10_000) for (const _ of telemetry.ingest((await fleet.runUntil(t)).batch)) { /* count */ }
  } finally {
    await fleet.close();
  }
  const c = telemetry.counters;
  return { ratio: telemetry.edgeReduction, bytesPerSample: c.linkBytes / c.samples, jsonBytesPerSample: c.jsonBytes / c.samples };
}

/** Resident memory per device (all of it: JS objects, the instance, the resident part of its page). */
async function memoryPerDevice(built: BuildResult, devices: number): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const fleet = await Fleet.start({ ...fleetOptions(built, devices, 1, true), devicesPerProcess: devices });
  try {
    await fleet.runUntil(120_000);
    (globalThis as { gc?: () => void }).gc?.();
    return (process.memoryUsage().rss - before) / devices / 1024;
  } finally {
    await fleet.close();
  }
}

export async function benchFleet(options: { devices?: number; durationMs?: number } = {}): Promise<BenchResult[]> {
  const devices = options.devices ?? 1000;
  const durationMs = options.durationMs ?? 600_000;
  const built = await envStation();
  void createDeviceFactory;
  // One core each, same run: the Wasm fleet in this process against the bare-JS baseline.
  const oneCore = await runFleet(built, devices, durationMs, 1, true);
  const baseline = runBaseline(built.manifest.app.hardware as HardwarePart[], devices, durationMs);
  // The whole machine: one shard process per core.
  const allCores = await runFleet(built, devices, durationMs, 0, false);
  const edge = await edgeReduction(built);
  const kib = await memoryPerDevice(built, 2000);
  return [
    { name: "fleet throughput, env-station, one core (samples/s of wall time)", value: oneCore.samplesPerSecond, unit: "samples/s",
      baseline: baseline.samplesPerSecond, ratio: oneCore.samplesPerSecond / baseline.samplesPerSecond,
      note: `${devices} devices x ${durationMs / 60_000} min device time; baseline: same signals, reference aggregator, bare JS` },
    { name: "fleet throughput, env-station, all cores (shard processes)", value: allCores.samplesPerSecond, unit: "samples/s",
      baseline: baseline.samplesPerSecond, ratio: allCores.samplesPerSecond / baseline.samplesPerSecond, note: "target >= 1,000,000" },
    { name: "real-time capacity at 1 Hz (device-seconds per wall second, all cores)", value: allCores.deviceSecondsPerSecond, unit: "devices",
      note: "devices that keep real time if nothing else limits; target 100,000" },
    { name: "memory per device (RSS, includes the resident part of its 64 KiB page)", value: kib, unit: "KiB", note: "2,000 devices in one process; target <= 100 KiB beyond the page" },
    { name: "edge reduction at 10 Hz, 10 s windows (JSON bytes per link byte)", value: edge.ratio, unit: "x",
      baseline: edge.jsonBytesPerSample, ratio: edge.ratio, note: `${edge.bytesPerSample.toFixed(3)} link bytes per raw sample vs ${edge.jsonBytesPerSample.toFixed(1)} as JSON; target >= 100` },
  ];
}
