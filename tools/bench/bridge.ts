// Benchmark of `iotfw bridge` (issues 6 and 11), with the bridge alone in a child process (`node
// bin/iotfw.js bridge`) and the sending devices in the bench, so its figures are its own: throughput at
// offered-load steps into a real mosquitto at QoS 1 (achieved rate, p50/p99 receipt-to-PUBACK latency
// from the bridge's histogram; target >= 30,000 frames/s sustained with p99 <= 50 ms); as fast as it
// goes beside a bare MQTT.js QoS 1 publisher on the same broker in the same run (ratio, target >= 0.8);
// and its memory (bridge-memory.ts). Touches: temp spool folders, a mosquitto it starts and stops.
import { rmSync } from "node:fs";
import mqtt from "mqtt";
import { mqttMessages, deviceName, type SpoolRecord } from "../../host/bridge/records.js";
import { Mosquitto, eventFrame, waitFor, TEST_HELLO_CHANNELS } from "../../host/bridge/testing.js";
import { frameToJson } from "../../host/protocol/index.js";
import { BridgeChild, Fleet, histogramPercentile } from "./bridge-child.js";
import { backlog, soak } from "./bridge-memory.js";
import type { BenchResult } from "./result.js";

const CONNECTIONS = 100;
const STEPS = [10_000, 20_000, 30_000, 40_000];
const STEP_WARMUP_MS = 1000;
const STEP_MS = 5000;
/** The bridge and the bare publisher as fast as they go: a machine that runs for days is measured
 *  warm (one run of each side first), then ROUNDS alternating runs, medians compared (shared machine). */
const BURST = 60_000;
const ROUNDS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const int = (v: number) => Math.round(v).toLocaleString("en-US");

export function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The same topics and payloads the bridge publishes for these frames, over `devices` ids. */
export function bareMessages(devices: number, n: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let s = 1; s <= n; s++) {
    const device = 0xba000 + (s % devices);
    const r: SpoolRecord = { device, session: 0, seq: s, rx: 0, message: frameToJson(eventFrame(device, s), TEST_HELLO_CHANNELS) };
    for (const m of mqttMessages(r)) out.push([`iotfw/${deviceName(device)}/${m.topic}`, JSON.stringify(m.payload)]);
  }
  return out;
}

export async function barePublisher(url: string, messages: Array<[string, string]>): Promise<number> {
  const client = await mqtt.connectAsync(url, { clientId: "bench-bare", protocolVersion: 4 });
  const started = performance.now();
  await Promise.all(messages.map(([t, p]) => client.publishAsync(t, p, { qos: 1 })));
  const seconds = (performance.now() - started) / 1000;
  await client.endAsync();
  return messages.length / seconds;
}

/** `n` frames written at once; frames/s from then to the last PUBACK (polled from /metrics). */
export async function bridgeBurst(b: BridgeChild, fleet: Fleet, n: number): Promise<number> {
  const target = (await b.scrape()).framesOut + n;
  fleet.send(n);
  const started = performance.now();
  await waitFor(async () => (await b.scrape()).framesOut >= target, "the burst forwarded", 120_000);
  return n / ((performance.now() - started) / 1000);
}

async function steps(b: BridgeChild, fleet: Fleet): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const rate of STEPS) {
    const stop = fleet.pace(rate);
    let before, after, ms;
    try {
      await sleep(STEP_WARMUP_MS);
      before = await b.scrape();
      const t0 = performance.now();
      await sleep(STEP_MS);
      after = await b.scrape();
      ms = performance.now() - t0;
    } finally { stop(); }
    const achieved = (after.framesOut - before.framesOut) / (ms / 1000);
    const p50 = histogramPercentile(before, after, 50);
    const p99 = histogramPercentile(before, after, 99);
    results.push({
      name: `bridge at ${int(rate)} frames/s offered: achieved`, value: achieved, unit: "frames/s",
      note: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms receipt to PUBACK (the bridge's histogram, interpolated in its buckets); `
        + `${CONNECTIONS} connections, ${STEP_MS / 1000} s after ${STEP_WARMUP_MS / 1000} s warm-up`,
    });
    results.push({ name: `bridge p99 latency at ${int(rate)} frames/s offered`, value: p99, unit: "ms" });
    // Let the backlog of a step it could not keep up with drain before the next one.
    const sent = fleet.sent;
    await waitFor(async () => (await b.scrape()).framesOut >= sent + CONNECTIONS, "the step drained", 120_000);
  }
  return results;
}

async function throughput(url: string): Promise<BenchResult[]> {
  const b = await BridgeChild.start(url);
  try {
    const fleet = await Fleet.connect(b, CONNECTIONS, 1);
    const results = await steps(b, fleet);
    const bare = bareMessages(CONNECTIONS, BURST);
    const bridgeRates: number[] = [];
    const bareRates: number[] = [];
    await bridgeBurst(b, fleet, BURST);
    await barePublisher(url, bare);
    for (let round = 0; round < ROUNDS; round++) {
      bridgeRates.push(await bridgeBurst(b, fleet, BURST));
      bareRates.push(await barePublisher(url, bare));
    }
    fleet.close();
    const bridgeRate = median(bridgeRates);
    const bareRate = median(bareRates);
    const range = (a: number[]) => `${int(Math.min(...a))}-${int(Math.max(...a))}`;
    results.push({
      name: "bridge TCP -> spool -> mosquitto QoS 1, as fast as it goes", value: bridgeRate, unit: "frames/s", baseline: bareRate, ratio: bridgeRate / bareRate,
      note: `${int(BURST)} event frames written at once on ${CONNECTIONS} connections, median of ${ROUNDS} alternating runs (bridge ${range(bridgeRates)}, bare ${range(bareRates)}); `
        + "baseline: bare MQTT.js QoS 1 publisher in the bench process, same messages and broker; target ratio >= 0.8",
    });
    return results;
  } finally { await b.stop(); }
}

export async function benchBridge(): Promise<BenchResult[]> {
  const soakSeconds = Number(process.env.IOTFW_BENCH_BRIDGE_SOAK_S ?? 60);
  const broker = await Mosquitto.start();
  try {
    return [...await throughput(broker.url), ...await soak(broker.url, soakSeconds), ...await backlog()];
  } finally {
    await broker.stop();
    rmSync(broker.dir, { recursive: true, force: true });
  }
}

// `node dist/tools/bench/bridge.js` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchBridge()) console.log(JSON.stringify(r));
}
