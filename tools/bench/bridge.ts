// Benchmark of `iotfw bridge` (issue 6 "Figures"): frames per second from a TCP device through the
// durable spool into a real mosquitto at QoS 1, beside a bare MQTT.js publisher sending the same
// messages to the same broker in the same run (ratio, target >= 0.8); p50/p99 forward latency (receipt
// to PUBACK) at a fixed 5,000 frames/s; resident memory across a soak at that rate (duration
// IOTFW_BENCH_SOAK_S, default 20 s; the figure is 600 s). Bridge in-process, one device.
// Touches: a temp spool folder and a mosquitto it starts and stops.
import { rmSync } from "node:fs";
import mqtt from "mqtt";
import { Bridge } from "../../host/bridge/bridge.js";
import { mqttMessages, deviceName, type SpoolRecord } from "../../host/bridge/records.js";
import { Mosquitto, TcpDevice, eventFrame, helloFrame, tempDir, waitFor, TEST_HELLO_CHANNELS } from "../../host/bridge/testing.js";
import { encodeFrame, frameToJson, tcpFrame } from "../../host/protocol/index.js";
import type { BenchResult } from "./result.js";

const FRAMES = 20_000;
/** A bridge that runs for days is measured warm: one full run of each side first (JIT, the broker's
 *  topic tree), then ROUNDS alternating runs. */
const WARMUP = FRAMES;
const ROUNDS = 5;
const RATE = 5000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The same topics and payloads the bridge publishes for these frames. */
function bareMessages(device: number, n: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let s = 1; s <= n; s++) {
    const r: SpoolRecord = { device, session: 0, seq: s, rx: 0, message: frameToJson(eventFrame(device, s), TEST_HELLO_CHANNELS) };
    for (const m of mqttMessages(r)) out.push([`iotfw/${deviceName(device)}/${m.topic}`, JSON.stringify(m.payload)]);
  }
  return out;
}

async function barePublisher(url: string, messages: Array<[string, string]>): Promise<number> {
  const client = await mqtt.connectAsync(url, { clientId: "bench-bare", protocolVersion: 4 });
  const started = performance.now();
  await Promise.all(messages.map(([t, p]) => client.publishAsync(t, p, { qos: 1 })));
  const seconds = (performance.now() - started) / 1000;
  await client.endAsync();
  return messages.length / seconds;
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Frames per second from the first byte written to the device's socket to the last PUBACK, through a
 *  fresh bridge and spool (the hello is forwarded first, outside the timing). */
async function bridgeThroughput(url: string, device: number, frames: number): Promise<number> {
  const wire = Buffer.concat(Array.from({ length: frames }, (_, i) => tcpFrame(encodeFrame(eventFrame(device, i + 1)))));
  return withBridge(url, async (b, dev) => {
    dev.send(helloFrame(device));
    await waitFor(() => b.metrics.framesOut.total() === 1, "hello forwarded");
    const started = performance.now();
    dev.socket.write(wire);
    await waitFor(() => b.metrics.framesOut.total() === frames + 1, "all frames forwarded", 60_000);
    return frames / ((performance.now() - started) / 1000);
  });
}

async function withBridge<T>(url: string, run: (b: Bridge, dev: TcpDevice) => Promise<T>): Promise<T> {
  const spoolDir = tempDir("iotfw-bench-bridge-");
  const b = await Bridge.start({ listen: "tcp://127.0.0.1:0", upstreams: [url], spoolDir, http: "off", log: () => undefined });
  const dev = await TcpDevice.connect(b.tcpAddress!.port);
  try {
    return await run(b, dev);
  } finally {
    dev.close();
    await b.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

export async function benchBridge(): Promise<BenchResult[]> {
  const soakSeconds = Number(process.env.IOTFW_BENCH_SOAK_S ?? 20);
  const broker = await Mosquitto.start();
  const results: BenchResult[] = [];
  try {
    const device = 0xbe7c4;
    // Throughput: the bridge (TCP -> spool with fdatasync group commits -> QoS 1) and the bare publisher,
    // each warmed up once, then measured alternately ROUNDS times: the machine is shared, so the median
    // of each side is compared.
    const bridgeRates: number[] = [];
    const bareRates: number[] = [];
    const bare = bareMessages(device + 1, FRAMES);
    await bridgeThroughput(broker.url, device, WARMUP);
    await barePublisher(broker.url, bare.slice(0, WARMUP));
    for (let round = 0; round < ROUNDS; round++) {
      bridgeRates.push(await bridgeThroughput(broker.url, device, FRAMES));
      bareRates.push(await barePublisher(broker.url, bare));
    }
    const bridgeRate = median(bridgeRates);
    const bareRate = median(bareRates);
    const range = (a: number[]) => `${Math.round(Math.min(...a)).toLocaleString("en-US")}-${Math.round(Math.max(...a)).toLocaleString("en-US")}`;
    results.push({
      name: "bridge TCP -> spool -> mosquitto QoS 1", value: bridgeRate, unit: "frames/s", baseline: bareRate, ratio: bridgeRate / bareRate,
      note: `${FRAMES} event frames, median of ${ROUNDS} alternating runs (bridge ${range(bridgeRates)}, bare ${range(bareRates)}); baseline: bare MQTT.js QoS 1 publisher, same messages and broker; target ratio >= 0.8`,
    });

    // Latency at a fixed rate, then RSS over the soak at that rate.
    await withBridge(broker.url, async (b, dev) => {
      const latencies: number[] = [];
      let measuring = false;
      b.metrics.onLatency = (_u, s) => { if (measuring) latencies.push(s * 1000); };
      dev.send(helloFrame(device));
      let seq = 1;
      const perTick = RATE / 100; // every 10 ms
      const ticker = setInterval(() => {
        const chunk: Uint8Array[] = [];
        for (let k = 0; k < perTick; k++) chunk.push(tcpFrame(encodeFrame(eventFrame(device, seq++))));
        dev.socket.write(Buffer.concat(chunk));
      }, 10);
      const rss: number[] = [];
      const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 1000);
      try {
        await new Promise((r) => setTimeout(r, 1000)); // warm-up
        measuring = true;
        await new Promise((r) => setTimeout(r, 4000));
        measuring = false;
        const sorted = [...latencies].sort((a, b) => a - b);
        results.push({ name: `bridge forward latency p50 at ${RATE} frames/s`, value: percentile(sorted, 50), unit: "ms", note: `${sorted.length} frames, receipt to PUBACK` });
        results.push({ name: `bridge forward latency p99 at ${RATE} frames/s`, value: percentile(sorted, 99), unit: "ms" });
        await new Promise((r) => setTimeout(r, Math.max(0, soakSeconds - 5) * 1000));
      } finally {
        clearInterval(ticker);
        clearInterval(sampler);
      }
      const mb = (v: number) => v / 1024 / 1024;
      const early = rss.slice(2, 4);
      const late = rss.slice(-2);
      const avg = (a: number[]) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
      results.push({
        name: `bridge resident memory after a ${soakSeconds} s soak at ${RATE} frames/s`, value: mb(avg(late)), unit: "MiB",
        baseline: mb(avg(early)), ratio: avg(late) / avg(early),
        note: `baseline: RSS 2-4 s in; at 25/50/75 % of the soak ${[0.25, 0.5, 0.75].map((q) => mb(rss[Math.floor(q * (rss.length - 1))]).toFixed(0)).join("/")} MiB; `
          + `max ${mb(Math.max(...rss)).toFixed(1)} MiB; ${seq - 1} frames; bench process incl. the sending device`,
      });
    });
  } finally {
    await broker.stop();
    rmSync(broker.dir, { recursive: true, force: true });
  }
  return results;
}

// `node dist/tools/bench/bridge.js` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchBridge()) console.log(JSON.stringify(r));
}
