// The PostgreSQL upstream (docs/store.md "PostgreSQL and TimescaleDB upstream") against a real
// PostgreSQL that the test starts itself (host/store/testing-postgres.ts), with `iotfw bridge` as a child
// process fed by a seeded `iotfw simulate --bridge`: the rows are those of the frames the fleet sent, with
// their values and times; PostgreSQL killed mid-stream (pg_ctl stop -m immediate) and started again, and
// the bridge killed with SIGKILL and restarted, leave every row exactly once; without TimescaleDB the
// plain-table line is logged once; a bad URL, a wrong password, a refused port and an unknown host are
// said clearly while the bridge keeps spooling. Without PostgreSQL the tests skip, except under CI.
// May touch: temp folders it creates, loopback ports, the processes it starts.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureCliBuilt, runCli, type CliRun } from "../cli/testing.js";
import { eventFrame, freePort, helloFrame, spawnBridgeCli, TcpDevice, tempDir, waitFor, type BridgeChild } from "../bridge/testing.js";
import { createTableSql, TABLES } from "./rows.js";
import { PG_PASSWORD, skipWithoutPostgres, TestPostgres } from "./testing-postgres.js";
import { postgresName } from "./upstream-postgres.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

const SKIP = skipWithoutPostgres();
let server: TestPostgres;
let databases = 0;

async function bridge(args: string[]): Promise<BridgeChild> {
  const child = await spawnBridgeCli(CLI, args);
  cleanups.push(() => kill(child, "SIGTERM"));
  return child;
}

async function kill(child: BridgeChild, signal: NodeJS.Signals): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  await new Promise<void>((resolve) => { child.proc.once("exit", () => resolve()); child.proc.kill(signal); });
}

async function framesIn(b: BridgeChild): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${b.ready.http}/metrics`)).text();
  return [...text.matchAll(/^iotfw_bridge_frames_in_total(?:\{[^}]*\})? (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

/** The test's own view of a database: a client made again after the test stopped the server under it. */
class Db {
  private client: pg.Client | null = null;
  constructor(private readonly name: string) {}
  async query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }> {
    this.client ??= await server.client(this.name);
    try { return await this.client.query(sql); } catch (e) {
      const c = this.client;
      this.client = null;
      await c.end().catch(() => undefined);
      throw e;
    }
  }
  async end(): Promise<void> { await this.client?.end().catch(() => undefined); }
}

async function framesOut(b: BridgeChild): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${b.ready.http}/metrics`)).text();
  return [...text.matchAll(/^iotfw_bridge_frames_out_total(?:\{[^}]*\})? (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

/** A database of its own for one test. */
async function database(): Promise<{ url: string; db: Db }> {
  const name = await server.createDatabase(`t${++databases}`);
  const db = new Db(name);
  cleanups.push(() => db.end());
  return { url: server.url(PG_PASSWORD, name), db };
}

/** The seeded fleet against the bridge; its own NDJSON (--out) is what it sent. */
function simulate(port: number, out: string, flags: string[]): Promise<CliRun> {
  return runCli(["simulate", "--sensors", "6", "--duration", "2h", "--seed", "7", "--workers", "1", "--bridge", `tcp://127.0.0.1:${port}`, "--out", out, ...flags]);
}

interface Sent { type: string; device: number; seq: number; t: number; windowStart?: number; value?: number; channel?: number; channels?: Array<{ channel: number; mean: number; count: number; min: number; max: number }>; samples?: number }
const hex = (d: number) => d.toString(16).padStart(8, "0");

/** Rows the sent frames must become, per table: key (device/seq[/channel]) -> what is checked of it. */
function expected(path: string) {
  const sent = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sent);
  const summaries = new Map<string, { mean: number; count: number; min: number; max: number; dt: number }>();
  const events = new Map<string, { value: number | undefined; dt: number }>();
  const status = new Map<string, { samples: number | undefined; dt: number }>();
  const devices = new Set<string>();
  for (const m of sent) {
    const k = `${hex(m.device)}/${m.seq}`;
    if (m.type === "hello") devices.add(hex(m.device));
    else if (m.type === "summary") for (const c of m.channels!) summaries.set(`${k}/${c.channel}`, { mean: c.mean, count: c.count, min: c.min, max: c.max, dt: m.windowStart ?? m.t });
    else if (m.type === "event") events.set(`${k}/${m.channel}`, { value: m.value, dt: m.t });
    else if (m.type === "status") status.set(k, { samples: m.samples, dt: m.t });
  }
  return { summaries, events, status, devices, frames: sent.length };
}

/** What is stored, with each row's time as device ms (time minus its session's anchor) and, per key
 *  without the session, how many rows there are (a replay taken for a new session would make two). */
async function stored(db: Db) {
  const q = async (sql: string) => (await db.query(sql)).rows as Array<Record<string, unknown>>;
  // A Date holds whole ms: anchor + device ms is truncated, so the whole-ms part of the anchor comes off exactly.
  const dt = (col: string) => `(extract(epoch from x.${col}) * 1000 - floor(a.anchor_ms))::float8 AS dt`;
  const summaries = await q(`SELECT x.device, x.seq::int, x.channel, x.mean, x.count, x.min, x.max, ${dt("window_start")} FROM summaries x JOIN sessions a USING (device, session)`);
  const events = await q(`SELECT x.device, x.seq::int, x.channel, x.value, ${dt("time")} FROM events x JOIN sessions a USING (device, session)`);
  const status = await q(`SELECT x.device, x.seq::int, x.samples::int, ${dt("time")} FROM status x JOIN sessions a USING (device, session)`);
  const devices = await q("SELECT device, firmware, first_seen, last_seen FROM devices");
  const sessionsPerDevice = await q("SELECT device, count(*)::int AS n FROM sessions GROUP BY device");
  return { summaries, events, status, devices, sessionsPerDevice };
}

async function rowCount(db: Db): Promise<number> {
  try {
    const r = await db.query("SELECT (SELECT count(*) FROM summaries) + (SELECT count(*) FROM events) + (SELECT count(*) FROM status) AS n");
    return Number(r.rows[0].n);
  } catch { return 0; } // tables not created yet, or the server is down
}

/** Every sent frame's rows once, values and device times as sent. */
async function expectExactlyOnce(db: Db, sentPath: string): Promise<void> {
  const want = expected(sentPath);
  const total = want.summaries.size + want.events.size + want.status.size;
  await waitFor(async () => (await rowCount(db)) >= total, `${total} rows in PostgreSQL`, 60_000);
  const got = await stored(db);
  expect(got.summaries).toHaveLength(want.summaries.size);
  expect(got.events).toHaveLength(want.events.size);
  expect(got.status).toHaveLength(want.status.size);
  for (const r of got.summaries) {
    const w = want.summaries.get(`${r.device}/${r.seq}/${r.channel}`);
    expect(w, `summary ${r.device}/${r.seq}/${r.channel} was sent`).toBeDefined();
    expect({ mean: r.mean, count: r.count, min: r.min, max: r.max, dt: r.dt }).toEqual(w);
  }
  for (const r of got.events) expect({ value: r.value, dt: r.dt }).toEqual(want.events.get(`${r.device}/${r.seq}/${r.channel}`));
  for (const r of got.status) expect({ samples: r.samples, dt: r.dt }).toEqual(want.status.get(`${r.device}/${r.seq}`));
  // One session per device: nothing replayed was taken for a new one (which the keys could not catch).
  expect(got.sessionsPerDevice.map((r) => r.n)).toEqual([...want.devices].map(() => 1));
  expect(new Set(got.devices.map((d) => d.device))).toEqual(want.devices);
  for (const d of got.devices) {
    expect(d.firmware).toBe("env-station@0.1.0");
    expect((d.last_seen as Date).getTime()).toBeGreaterThanOrEqual((d.first_seen as Date).getTime());
  }
}

describe.skipIf(SKIP)("PostgreSQL upstream (real PostgreSQL, bridge and simulator as child processes)", () => {
  beforeAll(async () => {
    ensureCliBuilt();
    server = await TestPostgres.start();
  }, 300_000);
  afterAll(async () => { await server?.destroy(); });

  it("PostgreSQL killed mid-stream and started again: every frame's rows exactly once, values and times right", async () => {
    const { url, db } = await database();
    const spool = tempDir();
    const out = join(tempDir(), "sent.ndjson");
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const b = await bridge(["--upstream", url, "--spool", spool]);
    // 2 h of device time at 1,200x: about 6 s of frames, so the outage falls in the middle of the stream.
    const fleet = simulate(b.ready.tcp, out, ["--speed", "1200"]);
    await waitFor(async () => (await rowCount(db)) > 0, "the first rows in PostgreSQL", 30_000);
    await server.stop("immediate");
    const before = await framesIn(b);
    await waitFor(async () => (await framesIn(b)) >= before + 100, "100 frames spooled while PostgreSQL is down", 30_000);
    await server.start();
    const run = await fleet;
    expect(run.code, run.stderr).toBe(0);
    await expectExactlyOnce(db, out);
    const log = b.stderr.join("");
    expect(log).toContain(`${postgresName(url)}: `); // the name it logs under: no credentials
    expect(log).not.toContain(PG_PASSWORD);
    // Said once, though the upstream reconnected after the outage and prepared the tables again.
    expect(log.split("the timescaledb extension is not available: plain PostgreSQL tables").length - 1).toBe(1);
    expect(log).toMatch(/connection to PostgreSQL at 127\.0\.0\.1:\d+\/t\d+ lost|cannot connect to PostgreSQL/);
    expect(log).toContain(`${postgresName(url)}: connected again`);
  }, 180_000);

  it("bridge killed with SIGKILL while delivering and restarted on its spool: every row exactly once", async () => {
    const { url, db } = await database();
    const spool = tempDir();
    const out = join(tempDir(), "sent.ndjson");
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const first = await bridge(["--upstream", url, "--spool", spool]);
    await waitFor(() => first.stderr.join("").includes("plain PostgreSQL tables"), "the tables made");
    // PostgreSQL down while the fleet runs: everything waits in the spool, then is delivered in batches
    // when it comes back, and the bridge dies in the middle of that (its checkpoint lags what committed).
    await server.stop("fast");
    const run = await simulate(first.ready.tcp, out, ["--speed", "max"]);
    expect(run.code, run.stderr).toBe(0);
    const sent = expected(out).frames;
    await waitFor(async () => (await framesIn(first)) >= sent, `${sent} frames accepted`);
    await server.start();
    await waitFor(async () => (await rowCount(db)) > 0, "the first batch committed", 30_000);
    await kill(first, "SIGKILL");
    await bridge(["--upstream", url, "--spool", spool]);
    await expectExactlyOnce(db, out);
  }, 180_000);

  it("a bad URL is refused at start; a wrong password, a refused port and an unknown host are logged clearly while frames are spooled", async () => {
    const bad = await runCli(["bridge", "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", "--spool", tempDir(),
      "--upstream", "postgres://iotfw:hunter2@127.0.0.1:notaport/db"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("not a URL");
    expect(bad.stderr).not.toContain("hunter2");
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const spool = tempDir();
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const refused = await freePort();
    const b = await bridge(["--spool", spool,
      "--upstream", server.url("wrong-password"),
      "--upstream", `postgres://iotfw:secret@127.0.0.1:${refused}/iotfw`,
      "--upstream", "postgresql://iotfw:secret@no-such-host.invalid/iotfw"]);
    const device = await TcpDevice.connect(b.ready.tcp);
    cleanups.push(() => device.close());
    device.send(helloFrame(0x77));
    for (let s = 1; s <= 20; s++) device.send(eventFrame(0x77, s));
    await waitFor(async () => (await framesIn(b)) >= 21, "21 frames accepted");
    const log = () => b.stderr.join("");
    await waitFor(() => log().includes('password authentication failed for user "iotfw" (check the user and password in the URL)'), "the auth failure logged");
    await waitFor(() => log().includes(`PostgreSQL at 127.0.0.1:${refused}/iotfw: connection refused`), "the refused port logged");
    await waitFor(() => log().includes("cannot connect to PostgreSQL at no-such-host.invalid/iotfw: host not found"), "the unknown host logged");
    expect(log()).not.toContain("wrong-password");
    expect(log()).not.toContain("secret");
    expect(log()).not.toMatch(/\n\s+at /);
    const health = await (await fetch(`http://127.0.0.1:${b.ready.http}/health`)).json() as { status: string; spool: { depth: number }; upstreams: Array<{ connected: boolean }> };
    expect(health.status).toBe("ok");
    expect(health.spool.depth).toBe(21); // kept for when the database takes them
    expect(health.upstreams.map((u) => u.connected)).toEqual([false, false, false]);
    expect(b.proc.exitCode).toBeNull();
  }, 120_000);

  it("with TimescaleDB (its contract stood in for): hypertables on the time columns, keys holding them, rows once across a SIGKILL", async () => {
    // Debian has no TimescaleDB package, so its SQL surface is stood in for in this database: the
    // extension listed as installed (a view ahead of pg_catalog on the search_path) and create_hypertable
    // refusing, as TimescaleDB does, a table with a unique index that lacks the time column.
    const { url, db } = await database();
    await db.query(`CREATE TABLE fake_hypertables (name text PRIMARY KEY, time_column text)`);
    await db.query(`CREATE VIEW public.pg_available_extensions AS SELECT 'timescaledb'::name AS name, '2.17.0'::text AS default_version, '2.17.0'::text AS installed_version`);
    await db.query(`CREATE FUNCTION public.create_hypertable(relation regclass, time_column_name name, if_not_exists boolean DEFAULT false, migrate_data boolean DEFAULT false) RETURNS void AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = relation AND i.indisunique AND NOT EXISTS (
             SELECT 1 FROM pg_attribute a WHERE a.attrelid = relation AND a.attnum = ANY (i.indkey) AND a.attname = time_column_name)) THEN
          RAISE EXCEPTION 'cannot create a unique index without the column "%" (used in partitioning)', time_column_name;
        END IF;
        INSERT INTO fake_hypertables VALUES (relation::text, time_column_name) ON CONFLICT DO NOTHING;
      END $$ LANGUAGE plpgsql`);
    const tsUrl = `${url}?options=${encodeURIComponent("-c search_path=public,pg_catalog")}`;
    const spool = tempDir();
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const first = await bridge(["--upstream", tsUrl, "--spool", spool]);
    const device = await TcpDevice.connect(first.ready.tcp);
    device.send(helloFrame(0x51));
    for (let s = 1; s <= 50; s++) device.send(eventFrame(0x51, s));
    await waitFor(async () => (await rowCount(db)) >= 50, "50 event rows");
    await kill(first, "SIGKILL"); // its checkpoint may lag: the restart replays some, with the same times
    device.close();
    const second = await bridge(["--upstream", tsUrl, "--spool", spool]);
    const again = await TcpDevice.connect(second.ready.tcp);
    cleanups.push(() => again.close());
    for (let s = 51; s <= 100; s++) again.send(eventFrame(0x51, s));
    // Text that an array literal must quote and escape, as the rows go to PostgreSQL.
    const text = 'quote " backslash \\ braces {a,b} NULL \'x\' 25 °C';
    again.send({ type: "log", device: 0x51, seq: 101, t: 1010, level: 2, text });
    await waitFor(async () => (await rowCount(db)) >= 100, "100 event rows");
    await waitFor(async () => (await db.query("SELECT text FROM logs").catch(() => ({ rows: [] }))).rows.length > 0, "the log row");
    expect((await db.query("SELECT text, seq::int FROM logs")).rows).toEqual([{ text, seq: 101 }]);
    await waitFor(async () => (await framesIn(second)) >= 51, "the second life's frames accepted");
    // Then the last 60 records delivered again, from the middle of the session (the checkpoint set back):
    // their times must come from the stored anchor (one made afresh from a later frame would differ by its
    // transit time, and with the time in the key they would be new rows).
    await kill(second, "SIGTERM");
    const checkpoint = join(spool, "checkpoint.json");
    const positions = JSON.parse(readFileSync(checkpoint, "utf8")) as { acked: Record<string, number> };
    expect(Object.keys(positions.acked)).toEqual([postgresName(tsUrl)]);
    positions.acked[postgresName(tsUrl)] -= 60;
    writeFileSync(checkpoint, JSON.stringify(positions));
    const third = await bridge(["--upstream", tsUrl, "--spool", spool]);
    await waitFor(async () => (await framesOut(third)) >= 60, "60 records delivered again");
    const rows = (await db.query("SELECT count(*)::int AS n, count(DISTINCT seq)::int AS keys, count(DISTINCT session)::int AS sessions FROM events")).rows[0];
    expect(rows).toEqual({ n: 100, keys: 100, sessions: 1 });
    expect((await db.query("SELECT name, time_column FROM fake_hypertables ORDER BY name")).rows).toEqual([
      { name: "events", time_column: "time" }, { name: "logs", time_column: "time" }, { name: "status", time_column: "time" }, { name: "summaries", time_column: "window_start" },
    ]);
    const keys = (await db.query(`SELECT c.relname AS t, array_to_string(array_agg(a.attname ORDER BY k.ord), ',') AS key
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indisprimary AND c.relname IN ('events', 'devices') GROUP BY c.relname ORDER BY c.relname`)).rows;
    expect(keys).toEqual([{ t: "devices", key: "device" }, { t: "events", key: "device,session,seq,channel,time" }]);
    expect(first.stderr.join("")).toContain("TimescaleDB found: summaries, events, status and logs are hypertables");
    expect(first.stderr.join("")).not.toContain("stays a plain table");
  }, 120_000);
});

describe("PostgreSQL tables", () => {
  it("with TimescaleDB the key of a table with a time column holds that column; devices and sessions keep theirs", () => {
    expect(createTableSql(TABLES.events, "pg", { timeInKey: true })).toMatch(/PRIMARY KEY \("device", "session", "seq", "channel", "time"\)\)$/);
    expect(createTableSql(TABLES.summaries, "pg", { timeInKey: true })).toMatch(/PRIMARY KEY \("device", "session", "seq", "channel", "window_start"\)\)$/);
    expect(createTableSql(TABLES.devices, "pg", { timeInKey: true })).toMatch(/PRIMARY KEY \("device"\)\)$/);
    expect(createTableSql(TABLES.events, "pg")).toMatch(/PRIMARY KEY \("device", "session", "seq", "channel"\)\)$/);
  });
  it("names carry no credentials", () => {
    expect(postgresName("postgres://u:p@db.example:5433/iot?sslmode=require")).toBe("postgres://db.example:5433/iot");
  });
});
