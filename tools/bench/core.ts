// Benchmark of the aggregation core: samples per second of wall time through the compiled Wasm core
// in Node (an exported hot loop feeding N samples, and sample() called once per sample from JS), beside
// the plain TypeScript reference (simulator/reference/aggregator.ts) on the same inputs in the same run.
// Setup: one frequent channel, a 10 s window by time, a threshold rule, a sample every 10 ms (so a
// SUMMARY frame every 1000 samples), values 1e6 + N(0, 0.5). Touches only the compiler, a HalHost
// and the reference; frames are counted, not decoded.
import { compileAssemblyScript } from "../../host/build/compile.js";
import { HalHost, VirtualClock, emptyWiring } from "../../simulator/hal/host.js";
import { ReferenceAggregator } from "../../simulator/reference/aggregator.js";

import type { BenchResult } from "./result.js";

const ENTRY = "firmware/tests/entries/core-test.ts";
const VALUES = 1024;          // the entry's value buffer holds 1024 f64
const DT_MS = 10;
const WINDOW_MS = 10_000;
const THRESHOLD_HIGH = 1e6 + 3;  // 6 sigma: rules are evaluated on every sample, alerts are rare
const THRESHOLD_LOW = 1e6 - 3;
const HYSTERESIS = 0.25;

interface CoreBenchExports {
  memory: WebAssembly.Memory;
  init(): number;
  addTestChannel(kind: number): number;
  setWindow(ch: number, ms: number, count: number): void;
  setThreshold(ch: number, high: number, low: number, hysteresis: number): void;
  valuesBuf(): number;
  feedSamples(ch: number, n: number, t0: number, dt: number, nValues: number): void;
  sample(ch: number, v: number, now: number): void;
}

/** Deterministic inputs (mulberry32 + Box-Muller), shared by the Wasm core and the reference. */
function inputs(seed: number): Float64Array {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float64Array.from({ length: VALUES }, () => 1e6 + 0.5 * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand()));
}

async function instantiateCore(module: WebAssembly.Module, values: Float64Array): Promise<{ x: CoreBenchExports; ch: number; frames: () => number }> {
  let frames = 0;
  const host = new HalHost({ deviceId: 1, board: "esp32", appHash: new Uint8Array(32), clock: new VirtualClock(), wiring: emptyWiring(), onFrame: () => { frames++; } });
  const instance = await WebAssembly.instantiate(module, host.imports());
  const x = instance.exports as unknown as CoreBenchExports;
  host.bind(x.memory);
  const ch = x.addTestChannel(0);
  x.setWindow(ch, WINDOW_MS, 0);
  x.setThreshold(ch, THRESHOLD_HIGH, THRESHOLD_LOW, HYSTERESIS);
  x.init();
  new Float64Array(x.memory.buffer, x.valuesBuf(), VALUES).set(values);
  return { x, ch, frames: () => frames };
}

function seconds(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

export async function benchCore(samples = 2_000_000): Promise<BenchResult[]> {
  const compiled = await compileAssemblyScript([ENTRY]);
  if (!compiled.ok || !compiled.binary) throw new Error(`${ENTRY} did not compile:\n${compiled.diagnostics}`);
  const module = await WebAssembly.compile(compiled.binary as BufferSource);
  const values = inputs(1);
  const rounds = 5;

  // The three contenders run in turn within each round (same machine load), best round of each kept.
  const hot = await instantiateCore(module, values);
  const percall = await instantiateCore(module, values);
  let refSummaries = 0;
  const ref = new ReferenceAggregator(1, () => { refSummaries++; });
  ref.windows[0].setBounds(WINDOW_MS, 0, 0);
  ref.rules[0].setThreshold(THRESHOLD_HIGH, THRESHOLD_LOW, HYSTERESIS);
  const n2 = samples >> 1;
  let tHot = 0;
  let tCall = 0;
  let tRef = 0;
  let hotS = Infinity;
  let callS = Infinity;
  let refS = Infinity;
  for (let r = 0; r < rounds; r++) {
    // Wasm, the hot loop inside the module; device time goes on across rounds (windows keep closing).
    hotS = Math.min(hotS, seconds(() => { hot.x.feedSamples(hot.ch, samples, tHot, DT_MS, VALUES); tHot += samples * DT_MS; }));
    // Wasm, one sample() call per sample from JS.
    callS = Math.min(callS, seconds(() => {
      const { x, ch } = percall;
      for (let i = 0, k = 0; i < n2; i++) { x.sample(ch, values[k], tCall); tCall += DT_MS; if (++k === VALUES) k = 0; }
    }));
    // The TypeScript reference on the same inputs.
    refS = Math.min(refS, seconds(() => {
      for (let i = 0, k = 0; i < samples; i++) { ref.sample(0, values[k], tRef); tRef += DT_MS; if (++k === VALUES) k = 0; }
    }));
  }

  const hotRate = samples / hotS;
  const callRate = n2 / callS;
  const refRate = samples / refS;
  const round = (v: number, digits = 3) => Number(v.toPrecision(digits));
  return [
    { name: "core: samples/s, Wasm hot loop (feedSamples)", value: Math.round(hotRate), unit: "samples/s", baseline: Math.round(refRate), ratio: round(hotRate / refRate) },
    { name: "core: samples/s, Wasm sample() per call from JS", value: Math.round(callRate), unit: "samples/s", baseline: Math.round(refRate), ratio: round(callRate / refRate) },
    { name: "core: samples/s, TypeScript reference", value: Math.round(refRate), unit: "samples/s" },
    { name: "core: frames per 1000 samples (Wasm, 10 s windows at 10 ms)", value: round((hot.frames() / (samples * rounds)) * 1000), unit: "frames" },
    { name: "core: reference summaries per 1000 samples", value: round((refSummaries / (samples * rounds)) * 1000), unit: "summaries" },
  ];
}
