// Benchmark of the PostgreSQL upstream (issue 12, docs/store.md "PostgreSQL and TimescaleDB upstream"):
// rows/s sustained into a real PostgreSQL through `iotfw bridge` (a child process: TCP -> spool -> rows
// -> one transaction per batch of 1,000 records), beside a bare node-postgres client in the bench process
// inserting the same rows with the same batch size and statement in the same run (the ratio is what the
// bridge costs: decoding, its fsync'ed spool, rows, the devices upsert); and loss/duplicates through an
// outage (PostgreSQL killed with pg_ctl stop -m immediate mid-stream and started again; 0/0 expected).
// The server is the tests' (host/store/testing-postgres.ts: Debian's PostgreSQL, fsync off, for both).
// Touches: temp folders, the PostgreSQL and the bridge it starts and stops.
import pg from "pg";
import { deviceName, type SpoolRecord } from "../../host/bridge/records.js";
import { eventFrame, waitFor, TEST_HELLO_CHANNELS } from "../../host/bridge/testing.js";
import { frameToJson } from "../../host/protocol/index.js";
import { addRecordRows, createTableSql, emptyRows, SessionClock, TABLES } from "../../host/store/rows.js";
import { postgresMissing, PG_PASSWORD, TestPostgres } from "../../host/store/testing-postgres.js";
import { BridgeChild, Fleet } from "./bridge-child.js";
import type { BenchResult } from "./result.js";

const DEVICES = 100;
const BURST = 40_000;
const ROUNDS = 5;
const BATCH = 1000; // the Forwarder's batch
const OUTAGE_RATE = 2000; // frames/s offered through the outage
const int = (v: number) => Math.round(v).toLocaleString("en-US");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try { return await fn(c); } finally { await c.end().catch(() => undefined); }
}

/** `n` event frames through the bridge, written at once; rows/s from then to the last commit (the
 *  bridge's frames_out counts a record once its batch committed). */
async function bridgeBurst(b: BridgeChild, fleet: Fleet, n: number): Promise<number> {
  const target = (await b.scrape()).framesOut + n;
  fleet.send(n);
  const started = performance.now();
  await waitFor(async () => (await b.scrape()).framesOut >= target, "the burst committed", 120_000);
  return n / ((performance.now() - started) / 1000);
}

/** The events rows the bridge makes of the same frames (one per frame), built before the clock starts. */
function eventRows(n: number, round: number): unknown[][][] {
  const clock = new SessionClock();
  const batches: unknown[][][] = [];
  let rows = emptyRows();
  for (let s = 1; s <= n; s++) {
    const device = 0xba000 + (s % DEVICES);
    const seq = round * n + s;
    const r: SpoolRecord = { device, session: 0, seq, rx: Date.now(), message: frameToJson(eventFrame(device, seq), TEST_HELLO_CHANNELS) };
    addRecordRows(r, clock, rows);
    if (rows.events.length === BATCH || s === n) {
      batches.push(TABLES.events.columns.map((_, j) => rows.events.map((row) => (row[j] instanceof Date ? (row[j] as Date).toISOString() : row[j]))));
      rows = emptyRows();
    }
  }
  return batches;
}

/** A bare client: one transaction per batch, the upstream's INSERT ... SELECT FROM unnest ... ON CONFLICT. */
async function bareInsert(c: pg.Client, batches: unknown[][][]): Promise<number> {
  const t = TABLES.events;
  const sql = `INSERT INTO events (${t.columns.map((x) => `"${x.name}"`).join(", ")}) SELECT * FROM unnest(${t.columns.map((x, i) => `$${i + 1}::${x.pg.toLowerCase()}[]`).join(", ")}) ON CONFLICT DO NOTHING`;
  const started = performance.now();
  let rows = 0;
  for (const b of batches) {
    await c.query("BEGIN");
    await c.query(sql, b);
    await c.query("COMMIT");
    rows += b[0].length;
  }
  return rows / ((performance.now() - started) / 1000);
}

async function throughput(server: TestPostgres): Promise<BenchResult[]> {
  const bridgeDb = await server.createDatabase("bench_bridge");
  const bareDb = await server.createDatabase("bench_bare");
  await withClient(server.url(PG_PASSWORD, bareDb), async (c) => { await c.query(createTableSql(TABLES.events, "pg")); });
  const b = await BridgeChild.start(server.url(PG_PASSWORD, bridgeDb));
  const bare = new pg.Client({ connectionString: server.url(PG_PASSWORD, bareDb) });
  await bare.connect();
  try {
    const fleet = await Fleet.connect(b, DEVICES, 1);
    const bridgeRates: number[] = [];
    const bareRates: number[] = [];
    await bridgeBurst(b, fleet, BURST / 4); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      bridgeRates.push(await bridgeBurst(b, fleet, BURST));
      bareRates.push(await bareInsert(bare, eventRows(BURST, round)));
    }
    fleet.close();
    const bridgeRate = median(bridgeRates);
    const bareRate = median(bareRates);
    const range = (a: number[]) => `${int(Math.min(...a))}-${int(Math.max(...a))}`;
    return [{
      name: "PostgreSQL via the bridge: rows/s sustained (TCP -> spool -> INSERT, batches of 1,000)", value: bridgeRate, unit: "rows/s",
      baseline: bareRate, ratio: bridgeRate / bareRate,
      note: `${int(BURST)} event frames (a row each) from ${DEVICES} devices written at once, median of ${ROUNDS} alternating runs `
        + `(bridge ${range(bridgeRates)}, bare ${range(bareRates)}); baseline: a bare node-postgres client inserting the same rows, `
        + `${BATCH} per transaction, same statement and server (PostgreSQL ${await serverVersion(bare)}, fsync off)`,
    }];
  } finally {
    await bare.end().catch(() => undefined);
    await b.stop();
  }
}

async function serverVersion(c: pg.Client): Promise<string> {
  return String((await c.query("SHOW server_version")).rows[0].server_version).split(" ")[0];
}

/** Frames offered at a steady rate; PostgreSQL killed after 2 s, started again 2 s later; then every
 *  sent (device, seq) counted in the events table, whatever its session. */
async function outage(server: TestPostgres): Promise<BenchResult[]> {
  const db = await server.createDatabase("bench_outage");
  const url = server.url(PG_PASSWORD, db);
  const b = await BridgeChild.start(url);
  try {
    const fleet = await Fleet.connect(b, DEVICES, 1, 0xc0000);
    const stop = fleet.pace(OUTAGE_RATE);
    const started = performance.now();
    await sleep(2000);
    await server.stop("immediate");
    const downAt = performance.now();
    await sleep(2000);
    await server.start();
    const downMs = performance.now() - downAt;
    await sleep(2000);
    stop();
    const sent = fleet.sent; // events; the hellos are not in the events table
    await waitFor(async () => (await b.scrape()).framesOut >= sent + DEVICES, "everything committed after the outage", 120_000);
    const drainedS = (performance.now() - started) / 1000;
    fleet.close();
    const r = await withClient(url, async (c) => (await c.query(
      "SELECT count(*)::int AS rows, count(DISTINCT (device, seq))::int AS distinct_keys FROM events")).rows[0] as { rows: number; distinct_keys: number });
    const expectedKeys = new Set<string>();
    fleet.ids.forEach((d, i) => { for (let s = 1; s <= fleet.seq[i]; s++) expectedKeys.add(`${deviceName(d)}/${s}`); });
    const lost = expectedKeys.size - r.distinct_keys;
    const duplicates = r.rows - r.distinct_keys;
    const note = `${int(sent)} event frames at ${int(OUTAGE_RATE)}/s from ${DEVICES} devices; PostgreSQL stopped (-m immediate) for ${(downMs / 1000).toFixed(1)} s mid-stream; all committed ${drainedS.toFixed(1)} s after the start`;
    return [
      { name: "PostgreSQL outage: rows lost", value: lost, unit: "rows", note },
      { name: "PostgreSQL outage: rows stored twice", value: duplicates, unit: "rows", note: "per (device, seq), over all sessions; target 0/0" },
    ];
  } finally {
    await b.stop();
  }
}

export async function benchPostgres(): Promise<BenchResult[]> {
  const missing = postgresMissing();
  if (missing) return [{ name: "PostgreSQL upstream", value: NaN, unit: "", note: `not measured: ${missing}` }];
  const server = await TestPostgres.start();
  try {
    return [...await throughput(server), ...await outage(server)];
  } finally {
    await server.destroy();
  }
}

// `node dist/tools/bench/postgres.js` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchPostgres()) console.log(JSON.stringify(r));
}
