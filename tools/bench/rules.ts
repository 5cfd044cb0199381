// Benchmark of the bridge's rules (issue 12, docs/store.md "Rules"): the latency of a per-frame rule at
// 5,000 frames/s offered (target p99 <= 10 ms), with `iotfw bridge` in a child process (the CLI a user
// runs) and 100 TCP devices in the bench sending event frames in 10 ms ticks. The rule sends one frame in
// ten (`seq % 10 = 0`) to a topic of a real mosquitto. The rule's own latency is the bridge's histogram
// iotfw_bridge_rule_latency_seconds (receipt to the row handed to the broker's connection); end to end,
// the bench, subscribed, takes each matched row's latency from the tick that sent its frame to the row's
// arrival (one clock: the bench's), which adds the bench's sockets and mosquitto's delivery. The baseline,
// in the same run: the same bridge without --rules, the same load, the same frames' plain forwarding to
// the same broker (receipt of the event messages), as a ratio. Also the bridge's own histogram for the
// rules (receipt to the broker's PUBACK of the rule's row, interpolated in its buckets).
// Touches: temp folders, a mosquitto it starts and stops, the bridges it starts and stops.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { deviceName } from "../../host/bridge/records.js";
import { Mosquitto, tempDir } from "../../host/bridge/testing.js";
import { BridgeChild, Fleet, histogramPercentile, type Scrape } from "./bridge-child.js";
import type { BenchResult } from "./result.js";

const DEVICES = 100;
const RATE = 5000;
const WARMUP_MS = 6000;
const MEASURE_MS = 10_000;
/** One frame in EVERY matches the rule (and is measured in the baseline). */
const EVERY = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const int = (v: number) => Math.round(v).toLocaleString("en-US");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (rank - lo);
}

interface Percentiles { p50: number; p99: number }
interface Run { latencies: number[]; matched: number; achieved: number; rulesHistogram?: Percentiles; ruleLatency?: Percentiles }

/** The rules' part of the bridge's histograms: the forwarder's (upstream="rules", receipt to the batch
 *  confirmed) and the rule's own (iotfw_bridge_rule_latency_seconds, receipt to its rows handed over). */
async function rulesScrapes(b: BridgeChild): Promise<{ confirmed: Scrape; rule: Scrape }> {
  const text = await (await fetch(`http://127.0.0.1:${b.http}/metrics`)).text();
  const empty = (): Scrape => ({ framesIn: 0, framesOut: 0, stored: 0, buckets: new Map(), count: 0 });
  const out = { confirmed: empty(), rule: empty() };
  for (const line of text.split("\n")) {
    const s = line.includes('upstream="rules"') && line.startsWith("iotfw_bridge_forward_latency_seconds") ? out.confirmed
      : line.startsWith("iotfw_bridge_rule_latency_seconds") ? out.rule : null;
    if (!s) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.includes("_bucket")) {
      const le = /[{,]le="([^"]+)"/.exec(line)![1]; // (not the end of rule="...")
      s.buckets.set(le === "+Inf" ? Infinity : Number(le), v);
    } else if (line.includes("_count")) s.count = v;
  }
  return out;
}

/** RATE frames/s for WARMUP_MS + MEASURE_MS into a bridge started with `extra`; the latency of every
 *  measured frame (seq % EVERY = 0, sent after the warm-up) seen on `topic`. */
async function run(url: string, topic: string, extra: string[]): Promise<Run> {
  const sub = await mqtt.connectAsync(url, { clientId: `bench-rules-${process.pid}-${extra.length}`, protocolVersion: 4 });
  const b = await BridgeChild.start(url, extra);
  try {
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let measuring = false;
    sub.on("message", (_t, payload) => {
      const now = performance.now();
      const m = JSON.parse(payload.toString()) as { device: string; seq: number };
      const at = sentAt.get(`${m.device}/${m.seq}`);
      if (at !== undefined) { latencies.push(now - at); sentAt.delete(`${m.device}/${m.seq}`); }
    });
    await sub.subscribeAsync(topic, { qos: 0 });
    const fleet = await Fleet.connect(b, DEVICES, 1);
    const started = performance.now();
    let sent = 0;
    let outBefore = 0;
    let histBefore: { confirmed: Scrape; rule: Scrape } | undefined;
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((now - started) / 1000) * RATE) - sent;
      if (due <= 0) return;
      const before = [...fleet.seq];
      fleet.send(due);
      sent += due;
      if (!measuring) return;
      fleet.ids.forEach((id, i) => {
        for (let s = before[i] + 1; s <= fleet.seq[i]; s++) if (s % EVERY === 0) sentAt.set(`${deviceName(id)}/${s}`, now);
      });
    }, 10);
    let measured = 0;
    let ms = 0;
    let outAfter = 0;
    let histAfter: { confirmed: Scrape; rule: Scrape } | undefined;
    try {
      await sleep(WARMUP_MS);
      outBefore = (await b.scrape()).framesOut;
      if (extra.length) histBefore = await rulesScrapes(b);
      measuring = true;
      const t0 = performance.now();
      await sleep(MEASURE_MS);
      measuring = false;
      ms = performance.now() - t0;
      outAfter = (await b.scrape()).framesOut;
      if (extra.length) histAfter = await rulesScrapes(b);
      measured = sentAt.size + latencies.length;
    } finally { clearInterval(tick); }
    // The last measured frames' rows still on their way.
    for (let waited = 0; sentAt.size > 0 && waited < 5000; waited += 50) await sleep(50);
    fleet.close();
    // framesOut sums the upstreams (with --rules: the broker and the rules): per upstream, per frame.
    const achieved = (outAfter - outBefore) / (extra.length ? 2 : 1) / (ms / 1000);
    const r: Run = { latencies: latencies.sort((x, y) => x - y), matched: measured, achieved };
    if (histBefore && histAfter) {
      const pcts = (a: Scrape, z: Scrape): Percentiles => ({ p50: histogramPercentile(a, z, 50), p99: histogramPercentile(a, z, 99) });
      r.rulesHistogram = pcts(histBefore.confirmed, histAfter.confirmed);
      r.ruleLatency = pcts(histBefore.rule, histAfter.rule);
    }
    if (latencies.length < measured) throw new Error(`rules bench: ${measured - latencies.length} of ${measured} measured frames never arrived on ${topic}`);
    return r;
  } finally {
    await b.stop();
    await sub.endAsync(true);
  }
}

export async function benchRules(): Promise<BenchResult[]> {
  const broker = await Mosquitto.start();
  const dir = tempDir("iotfw-bench-rules-");
  try {
    const rulesFile = join(dir, "rules.sql");
    writeFileSync(rulesFile, `-- rule: rare\n-- to: ${broker.url}/bench/rare\nSELECT * FROM events WHERE seq % ${EVERY} = 0;\n`);
    // Baseline first, then the rules: each bridge alone in its process, the same load.
    const base = await run(broker.url, "iotfw/+/+/event", []);
    const rules = await run(broker.url, "bench/rare", ["--rules", rulesFile]);
    const [p50, p99] = [percentile(rules.latencies, 50), percentile(rules.latencies, 99)];
    const [b50, b99] = [percentile(base.latencies, 50), percentile(base.latencies, 99)];
    const load = `${int(RATE)} frames/s offered on ${DEVICES} connections in 10 ms ticks, ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up`;
    const h = rules.rulesHistogram;
    const own = rules.ruleLatency;
    return [
      {
        name: `per-frame rule p99 latency at ${int(RATE)} frames/s offered (frame's receipt -> the rule's row handed to the broker's connection)`, value: own?.p99 ?? NaN, unit: "ms",
        note: `p50 ${own?.p50.toFixed(2)} ms; the bridge's iotfw_bridge_rule_latency_seconds, interpolated in its buckets (1, 2.5, 5, 7.5, 10, 15, 25 ms ...); ${load}; target p99 <= 10 ms`,
      },
      {
        name: `per-frame rule p99, end to end (frame sent by the bench -> rule's row received from mosquitto)`, value: p99, unit: "ms",
        baseline: b99, ratio: p99 / b99,
        note: `p50 ${p50.toFixed(2)} ms, max ${rules.latencies[rules.latencies.length - 1].toFixed(1)} ms over ${int(rules.latencies.length)} matched rows (1 frame in ${EVERY}); `
          + `baseline: the same bridge without --rules, the same frames forwarded as MQTT events (p50 ${b50.toFixed(2)} ms, p99 ${b99.toFixed(2)} ms); both include the bench's sockets and mosquitto's delivery`,
      },
      { name: "per-frame rule p50, end to end", value: p50, unit: "ms", baseline: b50, ratio: p50 / b50 },
      {
        name: "bridge's rules histogram p99: receipt -> the rules confirming its batch (PUBACK of its matched rows)", value: h?.p99 ?? NaN, unit: "ms",
        note: `p50 ${h?.p50.toFixed(2)} ms (interpolated in the histogram's buckets); achieved ${int(rules.achieved)} frames/s with rules, ${int(base.achieved)} without`,
      },
    ];
  } finally {
    await broker.stop();
    rmSync(broker.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/tools/bench/rules.js` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchRules()) console.log(JSON.stringify(r));
}
