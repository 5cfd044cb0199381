// Benchmark of the edge store (issue 12, docs/store.md): with `iotfw bridge --store` in a child process,
// (1) forwarding to mosquitto QoS 1 while storing, as fast as it goes, beside a bare MQTT.js publisher in
// the same run (ratio, target >= 0.8) and beside the same bridge without --store (the store's own cost),
// and the store's ingest in rows/s over the same bursts; (2) the memory the store adds (RSS of a bridge with --store against one without, after the same frames);
// (3) the docs' four questions on days of 100 env-station devices made with `iotfw simulate --speed
// max` into a bridge with --store (cached under the temp folder), each query's median latency of 3, and
// the store's size per device-day. One day by default (about 2-3 minutes to make here); the issue's
// week is IOTFW_BENCH_STORE_DAYS=7: 5-10 minutes the first time here (303 s quiet, 563 s loaded; 8.06 M summary rows:
// the store's ingest, 8 rows per summary frame, is what takes the time). Touches: temp folders, a mosquitto it starts, the processes it starts.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { Mosquitto, waitFor } from "../../host/bridge/testing.js";
import { REPO_ROOT } from "../../host/repo-root.js";
import { readOnlyQuery, STORE_FILE } from "../../host/store/edge-store.js";
import { BridgeChild, Fleet } from "./bridge-child.js";
import { bareMessages, barePublisher, bridgeBurst, median } from "./bridge.js";
import type { BenchResult } from "./result.js";

const CONNECTIONS = 100;
const BURST = 60_000;
const ROUNDS = 3;
const CLI = join(REPO_ROOT, "bin", "iotfw.js");
const int = (v: number) => Math.round(v).toLocaleString("en-US");
const range = (a: number[]) => `${int(Math.min(...a))}-${int(Math.max(...a))}`;

/** Bursts through a bridge with a store: forwarding rate vs the bare publisher, and the store's rows/s. */
async function forwarding(url: string): Promise<BenchResult[]> {
  const storeDir = join(tmpdir(), `iotfw-bench-store-${process.pid}`);
  const b = await BridgeChild.start(url, ["--store", storeDir]);
  const alone = await BridgeChild.start(url); // the same bridge without --store: what the store costs
  try {
    const fleet = await Fleet.connect(b, CONNECTIONS, 1);
    const aloneFleet = await Fleet.connect(alone, CONNECTIONS, 1);
    const bare = bareMessages(CONNECTIONS, BURST);
    await bridgeBurst(b, fleet, BURST);
    await bridgeBurst(alone, aloneFleet, BURST);
    await barePublisher(url, bare);
    const bridgeRates: number[] = [];
    const aloneRates: number[] = [];
    const bareRates: number[] = [];
    const storeRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const stored0 = (await b.scrape()).stored;
      const t0 = performance.now();
      bridgeRates.push(await bridgeBurst(b, fleet, BURST));
      await waitFor(async () => (await b.scrape()).stored >= stored0 + BURST, "the burst stored", 300_000);
      storeRates.push(BURST / ((performance.now() - t0) / 1000)); // one event frame = one row
      aloneRates.push(await bridgeBurst(alone, aloneFleet, BURST));
      bareRates.push(await barePublisher(url, bare));
    }
    fleet.close();
    aloneFleet.close();
    const fwd = median(bridgeRates);
    const base = median(bareRates);
    const withoutStore = median(aloneRates);
    return [
      {
        name: "bridge with --store: TCP -> spool -> mosquitto QoS 1 while storing, as fast as it goes", value: fwd, unit: "frames/s", baseline: base, ratio: fwd / base,
        note: `${int(BURST)} event frames at once on ${CONNECTIONS} connections, median of ${ROUNDS} alternating runs (bridge ${range(bridgeRates)}, bare ${range(bareRates)}); baseline: bare MQTT.js QoS 1 publisher, same broker and messages; target ratio >= 0.8`,
      },
      {
        name: "bridge with --store against the same bridge without it", value: fwd, unit: "frames/s", baseline: withoutStore, ratio: fwd / withoutStore,
        note: `the store's own cost to forwarding; without --store ${range(aloneRates)}, whose ratio to the bare publisher is ${(withoutStore / base).toFixed(2)}`,
      },
      { name: "store ingest (the same bursts, receipt to commit in DuckDB)", value: median(storeRates), unit: "rows/s", note: `event frames, one row each; ${range(storeRates)}` },
    ];
  } finally {
    await b.stop();
    await alone.stop();
    rmSync(storeDir, { recursive: true, force: true });
  }
}

/** RSS after the same frames with and without --store (each bridge alone in its process). */
async function memory(url: string): Promise<BenchResult[]> {
  const rss: number[] = [];
  for (const extra of [[], ["--store", join(tmpdir(), `iotfw-bench-store-mem-${process.pid}`)]]) {
    const b = await BridgeChild.start(url, extra);
    try {
      const fleet = await Fleet.connect(b, CONNECTIONS, 1);
      for (let i = 0; i < 3; i++) await bridgeBurst(b, fleet, BURST);
      if (extra.length) await waitFor(async () => (await b.scrape()).stored >= 3 * BURST, "stored", 300_000);
      fleet.close();
      await new Promise((r) => setTimeout(r, 2000));
      rss.push(b.memory().rss);
    } finally {
      await b.stop();
      if (extra.length) rmSync(extra[1], { recursive: true, force: true });
    }
  }
  return [{ name: "memory the store adds to the bridge (RSS after 180,000 frames from 100 devices)", value: rss[1] - rss[0], unit: "MiB", note: `with --store ${rss[1].toFixed(0)} MiB, without ${rss[0].toFixed(0)} MiB` }];
}

function run(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (c: Buffer) => { err = (err + c.toString()).slice(-2000); });
  return new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`iotfw ${args[0]} exited ${code}: ${err}`)))));
}

/** A store of `days` of 100 env-station devices, made once and kept (keyed by the days and a version). */
async function weekStore(days: number): Promise<{ dir: string; madeSeconds?: number }> {
  const dir = join(tmpdir(), `iotfw-bench-store-week-v1-${days}d`);
  if (existsSync(join(dir, "done"))) return { dir };
  rmSync(dir, { recursive: true, force: true });
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const t0 = performance.now();
  const b = await BridgeChild.start(`file:${join(building, "frames.ndjson")}`, ["--store", join(building, "store")]);
  try {
    await run(["simulate", "--sensors", "100", "--duration", `${days}d`, "--speed", "max", "--seed", "12", "--boot-id-seed", "12", "--bridge", `tcp://127.0.0.1:${b.tcp}`]);
    const s = await b.scrape();
    // The store catches up after the simulation ends: allow it ~10k rows/s (8 per frame) with room to spare.
    await waitFor(async () => (await b.scrape()).stored >= s.framesIn, "the days stored", 120_000 + Math.ceil(s.framesIn * 8 / 2000) * 1000);
  } finally {
    await b.stop();
  }
  rmSync(join(building, "frames.ndjson"), { force: true });
  renameSync(building, dir);
  mkdirSync(join(dir, "done"));
  return { dir, madeSeconds: (performance.now() - t0) / 1000 };
}

async function questions(): Promise<BenchResult[]> {
  const days = Number(process.env.IOTFW_BENCH_STORE_DAYS ?? 1);
  const { dir, madeSeconds } = await weekStore(days);
  const file = join(dir, "store", STORE_FILE);
  const doc = readFileSync(join(REPO_ROOT, "docs", "store.md"), "utf8");
  const sql = [...doc.matchAll(/```sql\n(-- question: (\S+)\n[\s\S]*?)```/g)].map((m) => [m[2], m[1]] as const);
  const db = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
  const conn = await db.connect();
  const results: BenchResult[] = [];
  try {
    const rows = Number((await readOnlyQuery(conn, "SELECT count(*) FROM summaries", 1)).rows[0][0]);
    for (const [name, text] of sql) {
      const ms: number[] = [];
      let answer = 0;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        answer = (await readOnlyQuery(conn, text, 100_000)).rows.length;
        ms.push(performance.now() - t0);
      }
      results.push({ name: `docs/store.md "${name}" on ${days} days of 100 env-station devices`, value: median(ms), unit: "ms", note: `${answer} rows out of ${int(rows)} summary rows; median of 3 (${ms.map((x) => x.toFixed(0)).join(", ")} ms)` });
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  const bytes = statSync(file).size;
  results.push({
    name: "store size per device-day (env-station: 8 channels, 60 s windows)", value: bytes / (100 * days) / 1024, unit: "KiB",
    note: `${(bytes / 1024 / 1024).toFixed(0)} MiB for 100 devices x ${days} days${madeSeconds ? `; made in ${madeSeconds.toFixed(0)} s with simulate --speed max into bridge --store` : " (cached)"}`,
  });
  return results;
}

export async function benchStore(): Promise<BenchResult[]> {
  const broker = await Mosquitto.start();
  try {
    return [...await forwarding(broker.url), ...await memory(broker.url), ...await questions()];
  } finally {
    await broker.stop();
    rmSync(broker.dir, { recursive: true, force: true });
  }
}

// `node dist/tools/bench/store.js` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchStore()) console.log(JSON.stringify(r));
}
