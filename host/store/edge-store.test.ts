// The edge store (docs/store.md) with `iotfw bridge --store` as a child process fed by a seeded
// `iotfw simulate --bridge` with the heat-wave scenario (alerts, an unplugged sensor): every frame the
// fleet sent is its rows once, with its values and device times, across a SIGKILL of the bridge in the
// middle and a restart on the same spool and store; the four questions of docs/store.md, read from that
// file and run as written, answer what the sent frames say; `iotfw query` prints a table, JSON and CSV,
// refuses writes and a locked store clearly; POST /query needs the token; retention deletes old rows;
// in process: batches handed over together are one group, a replayed or repeated row is stored once, a
// device's newest hello wins, a group whose statement fails leaves nothing and is retried cleanly, and
// old sessions' anchors are forgotten and read back for a late frame.
// May touch: temp folders it creates, loopback ports, the processes it starts.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureCliBuilt, runCli } from "../cli/testing.js";
import type { DuckDBConnection } from "@duckdb/node-api";
import { eventFrame, helloFrame, spawnBridgeCli, TcpDevice, tempDir, TEST_HELLO_CHANNELS, waitFor, type BridgeChild } from "../bridge/testing.js";
import type { SpoolRecord } from "../bridge/records.js";
import { decodeFrame, encodeFrame, type Frame } from "../protocol/index.js";
import { REPO_ROOT } from "../repo-root.js";
import { EdgeStore } from "./edge-store.js";
import type { SessionClock } from "./rows.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

interface Sent { type: string; device: number; seq: number; t: number; windowStart?: number; kind?: string; name?: string; channel?: number; value?: number;
  channels?: Array<{ channel: number; name: string; count: number; mean: number }> }
const hex = (d: number) => d.toString(16).padStart(8, "0");

/** The SQL of each `-- question: <id>` block in docs/store.md, exactly as the reader sees it. */
function questions(): Record<string, string> {
  const doc = readFileSync(join(REPO_ROOT, "docs", "store.md"), "utf8");
  return Object.fromEntries([...doc.matchAll(/```sql\n(-- question: (\S+)\n[\s\S]*?)```/g)].map((m) => [m[2], m[1]]));
}

/** A spooled record of `frame` as the bridge makes it (decoded, with its hello's channels). */
function recordOf(frame: Frame, session: number, rx: number): SpoolRecord {
  const bytes = encodeFrame(frame);
  const d = decodeFrame(bytes);
  return { device: frame.device, session, seq: frame.seq, rx, frame: bytes, decoded: d.ok ? d.frame : undefined, channels: TEST_HELLO_CHANNELS };
}

/** A store of its own, closed and removed after the test. */
async function openStore(options: ConstructorParameters<typeof EdgeStore>[1] = {}): Promise<EdgeStore> {
  const dir = tempDir("iotfw-store-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const s = new EdgeStore(dir, options);
  await s.start();
  cleanups.push(() => s.close());
  return s;
}

async function kill(child: BridgeChild, signal: NodeJS.Signals): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  await new Promise<void>((resolve) => { child.proc.once("exit", () => resolve()); child.proc.kill(signal); });
}

async function bridge(args: string[]): Promise<BridgeChild> {
  const child = await spawnBridgeCli(CLI, args);
  cleanups.push(() => kill(child, "SIGTERM"));
  return child;
}

async function query(b: BridgeChild, spool: string, sql: string, ...flags: string[]): Promise<Array<Record<string, unknown>>> {
  const r = await runCli(["query", "--bridge", `http://127.0.0.1:${b.ready.http}`, "--spool", spool, "--json", ...flags, "--", sql]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
}

describe("the edge store", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("keeps every frame once across a SIGKILL, and answers docs/store.md's questions as the frames say", async () => {
    const dir = tempDir("iotfw-store-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const spool = join(dir, "spool");
    const store = join(dir, "store");
    const sentPath = join(dir, "sent.ndjson");
    const first = await bridge(["--spool", spool, "--store", store, "--upstream", `file:${join(dir, "up.ndjson")}`]);
    const sim = await runCli(["simulate", "--sensors", "4", "--duration", "40m", "--speed", "max", "--seed", "4", "--boot-id-seed", "4",
      "--workers", "1", "--scenario", "heat-wave", "--bridge", `tcp://127.0.0.1:${first.ready.tcp}`, "--out", sentPath]);
    expect(sim.code, sim.stderr).toBe(0);
    const sent = readFileSync(sentPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sent);
    const summaries = sent.filter((m) => m.type === "summary");
    const summaryRows = summaries.reduce((n, m) => n + m.channels!.length, 0);
    const events = sent.filter((m) => m.type === "event");
    // Killed as soon as some rows are in: the rest is in the spool, some batch possibly half done.
    await waitFor(async () => Number((await query(first, spool, "SELECT count(*) AS n FROM events"))[0].n) > 0, "the first rows stored", 30_000);
    await kill(first, "SIGKILL");

    const second = await bridge(["--spool", spool, "--store", store, "--upstream", `file:${join(dir, "up.ndjson")}`]);
    const counts = async () => (await query(second, spool,
      "SELECT (SELECT count(*) FROM summaries) AS s, (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM status) AS st"))[0];
    await waitFor(async () => { const c = await counts(); return c.s === summaryRows && c.e === events.length; }, "every row stored", 60_000);
    expect((await counts()).st).toBe(sent.filter((m) => m.type === "status").length);
    // Once each, one session per device (a replay taken for a new boot would be a second session).
    const perKey = await query(second, spool, "SELECT max(n) AS worst FROM (SELECT count(*) AS n FROM events GROUP BY device, seq, channel)");
    expect(perKey[0].worst).toBe(1);
    const sessions = await query(second, spool, "SELECT device, count(DISTINCT session) AS n FROM summaries GROUP BY device ORDER BY device");
    expect(sessions).toEqual([1, 2, 3, 4].map((d) => ({ device: hex(d), n: 1 })));
    // Device time kept exactly: window_start minus the session's anchor is the frame's windowStart.
    const spacing = await query(second, spool, `SELECT s.device, s.seq, s.channel, s.mean, s.count,
      epoch_ms(s.window_start) - floor(a.anchor_ms) AS dt FROM summaries s JOIN sessions a USING (device, session)`);
    const want = new Map(summaries.flatMap((m) => m.channels!.map((c) => [`${hex(m.device)}/${m.seq}/${c.channel}`, { mean: c.mean, count: c.count, dt: m.windowStart }])));
    for (const r of spacing) expect({ mean: r.mean, count: r.count, dt: r.dt }).toEqual(want.get(`${r.device}/${r.seq}/${r.channel}`));

    const q = questions();
    expect(Object.keys(q).sort()).toEqual(["above-threshold-now", "alerts-per-day", "gaps", "last-hour-means"]);
    // The last hour's means: the fleet's 40 minutes are all within it (anchored at the bridge's clock).
    const means = await query(second, spool, q["last-hour-means"]);
    const acc = new Map<string, { sum: number; n: number }>();
    for (const m of summaries) for (const c of m.channels!) {
      if (c.count === 0) continue;
      const k = `${hex(m.device)}/${c.channel}`;
      const a = acc.get(k) ?? { sum: 0, n: 0 };
      a.sum += c.mean * c.count; a.n += c.count; acc.set(k, a);
    }
    expect(means).toHaveLength(acc.size);
    for (const r of means) {
      const a = acc.get(`${r.device}/${r.channel}`)!;
      expect(r.samples).toBe(a.n);
      expect(r.mean as number).toBeCloseTo(a.sum / a.n, 2);
    }
    // Alerts per day: the alert_high events the heat wave raised, per device.
    const alerts = await query(second, spool, q["alerts-per-day"]);
    const raised = new Map<string, number>();
    for (const e of events) if (e.kind === "alert_high" || e.kind === "alert_low") raised.set(hex(e.device), (raised.get(hex(e.device)) ?? 0) + 1);
    expect(raised.size).toBeGreaterThan(0);
    const perDevice = new Map<string, number>();
    for (const r of alerts) perDevice.set(r.device as string, (perDevice.get(r.device as string) ?? 0) + (r.alerts as number));
    expect(perDevice).toEqual(raised);
    // Above the threshold now: each device's newest temperature windows over 28.
    const newest = new Map<string, number>();
    for (const m of summaries) for (const c of m.channels!) if (c.name === "temperature") newest.set(`${hex(m.device)}/${c.channel}`, c.mean);
    const hot = [...newest].filter(([, mean]) => mean > 28).map(([k]) => k).sort();
    expect((await query(second, spool, q["above-threshold-now"])).map((r) => `${r.device}/${r.channel}`)).toEqual(hot);
    // Gaps: the unplugged humidity sensor (and the noisy bus's victims) leave windows without their channel.
    const gaps = await query(second, spool, q.gaps);
    const missing = new Map<string, number>();
    const has = new Map<string, Set<number>>();
    for (const m of summaries) for (const c of m.channels!) (has.get(hex(m.device)) ?? has.set(hex(m.device), new Set()).get(hex(m.device))!).add(c.channel);
    for (const m of summaries) for (const ch of has.get(hex(m.device))!) {
      if (!m.channels!.some((c) => c.channel === ch)) missing.set(`${hex(m.device)}/${ch}`, (missing.get(`${hex(m.device)}/${ch}`) ?? 0) + 1);
    }
    expect(missing.size).toBeGreaterThan(0);
    expect(new Map(gaps.map((r) => [`${r.device}/${r.channel}`, r.missing]))).toEqual(missing);

    // The CLI's other forms, and its refusals.
    const csv = await runCli(["query", "--bridge", `http://127.0.0.1:${second.ready.http}`, "--spool", spool, "--csv", "SELECT device, firmware FROM devices ORDER BY device"]);
    expect(csv.stdout).toBe(["device,firmware", ...[1, 2, 3, 4].map((d) => `${hex(d)},env-station@0.1.0`)].join("\r\n") + "\r\n");
    const table = await runCli(["query", "--bridge", `http://127.0.0.1:${second.ready.http}`, "--spool", spool, "SELECT device, count(*) AS n FROM status GROUP BY device ORDER BY device"]);
    expect(table.stdout.split("\n").slice(0, 3)).toEqual(["device     n", "--------  --", expect.stringMatching(/^00000001 +\d+$/)]);
    const write = await runCli(["query", "--bridge", `http://127.0.0.1:${second.ready.http}`, "--spool", spool, "DELETE FROM events"]);
    expect(write.code).toBe(1);
    expect(write.stderr).toContain("only SELECT (or EXPLAIN) is answered here: this is a DELETE statement");
    const bad = await runCli(["query", "--bridge", `http://127.0.0.1:${second.ready.http}`, "--spool", spool, "SELECT nope FROM events"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Binder Error.*nope/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const locked = await runCli(["query", "--store", store, "SELECT 1"]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain("the store is in use by another process");
    const noToken = await fetch(`http://127.0.0.1:${second.ready.http}/query`, { method: "POST", body: "SELECT 1" });
    expect(noToken.status).toBe(401);

    // Stopped, the store file is the CLI's to open read-only.
    await kill(second, "SIGTERM");
    const offline = await runCli(["query", "--store", store, "--json", "SELECT count(*) AS n FROM summaries"]);
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toEqual([{ n: summaryRows }]);
  }, 240_000);

  it("--store without --upstream: no embedded broker is started, the frames are kept in the store; --store-memory bounds DuckDB", async () => {
    const dir = tempDir("iotfw-store-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const spool = join(dir, "spool");
    const b = await bridge(["--spool", spool, "--store", join(dir, "store"), "--store-memory", "64M", "--broker", "127.0.0.1:1"]); // a broker there could not start
    const device = await TcpDevice.connect(b.ready.tcp);
    cleanups.push(() => device.close());
    device.send(helloFrame(0x51));
    for (let seq = 1; seq <= 5; seq++) device.send(eventFrame(0x51, seq));
    await waitFor(async () => Number((await query(b, spool, "SELECT count(*) AS n FROM events"))[0].n) === 5, "the five events stored", 30_000);
    const log = b.stderr.join("");
    expect(log).toContain("no --upstream: frames are kept in the store only");
    expect(log).not.toMatch(/embedded MQTT broker/);
    expect((await query(b, spool, "SELECT current_setting('memory_limit') AS m"))[0].m).toMatch(/^64(\.0)? MiB$/);
  }, 60_000);

  it("a query running past the time limit is interrupted with a clear error; the store answers the next", async () => {
    const dir = tempDir("iotfw-store-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const s = new EdgeStore(dir, { queryTimeoutMs: 300 });
    await s.start();
    cleanups.push(() => s.close());
    const started = performance.now();
    await expect(s.query("SELECT sum(a.range * b.range) AS x FROM range(1000000) a, range(1000000) b")).rejects.toThrow(/ran longer than 0.3 s and was interrupted/);
    expect(performance.now() - started).toBeLessThan(20_000); // not the hours the cross product takes
    expect((await s.query("SELECT 42 AS answer")).rows).toEqual([[42]]);
  }, 60_000);

  it("retention deletes rows older than --store-retain by their own time; devices stay", async () => {
    const rx = Date.parse("2026-01-01T00:00:00Z");
    const s = await openStore({ retainMs: 60 * 60_000 });
    const record = (frame: Frame, seq: number) => recordOf(frame, 1, rx + frame.t);
    // One event per 10 minutes of device time over 3 hours, from a session anchored at `rx`.
    const recs = [record({ type: "hello", device: 7, seq: 0, t: 0, abi: 2, firmware: "t@1", board: "esp32", appHash: "00".repeat(8), bootId: "00000001", samplePeriodMs: 1000, channels: TEST_HELLO_CHANNELS }, 0)];
    for (let i = 1; i <= 18; i++) recs.push(record({ type: "event", device: 7, seq: i, t: i * 600_000, channel: 0, kind: 1, value: i, code: 0 }, i));
    await s.deliver(recs);
    const deleted = await s.applyRetention(rx + 3 * 3_600_000); // "now" = the last event: keep its hour
    expect(deleted).toBe(11); // cutoff at 120 min: seq 1..11 are older, seq 12 is on it
    const left = await s.query("SELECT min(seq) AS first, count(*) AS n FROM events");
    expect(left.rows).toEqual([[12, 7]]); // 120 min and later of 180: seq 12..18
    expect((await s.query("SELECT count(*) FROM devices")).rows).toEqual([[1]]);
  }, 60_000);

  const rx = Date.parse("2026-01-01T00:00:00Z");
  const hello = (session: number, firmware: string, at: number) => recordOf({ ...helloFrame(7), firmware }, session, at);
  const event = (session: number, seq: number, at = rx + seq) => recordOf(eventFrame(7, seq), session, at);
  const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it("stores batches handed over together as one group, a replayed or repeated row once, and a device's newest hello", async () => {
    const s = await openStore();
    const first = [hello(1, "a@1", rx), ...seqs(1, 10).map((q) => event(1, q))];
    // As the Forwarder hands them over (several in flight): each confirmed once its group committed.
    await Promise.all([s.deliver(first), s.deliver(seqs(11, 20).map((q) => event(1, q))), s.deliver(seqs(21, 22).map((q) => event(1, q)))]);
    // A replay of stored rows among new ones (after a SIGKILL), and a row twice in one batch.
    await s.deliver([...seqs(5, 25).map((q) => event(1, q)), event(1, 25)]);
    const counts = async () => (await s.query("SELECT count(*), count(DISTINCT (session, seq)), min(seq), max(seq) FROM events")).rows[0];
    expect(await counts()).toEqual([25, 25, 1, 25]);
    // A newer session's hello, then the older session's batch again (a retry after a failure): the
    // newer hello stays, first_seen is the first hello's, last_seen never moves back.
    await s.deliver([hello(2, "a@2", rx + 1000), event(2, 1, rx + 1001)]);
    await s.deliver(first);
    const device = async () => (await s.query(`SELECT firmware, session, epoch_ms(first_seen) - ${rx} AS first, epoch_ms(last_seen) - ${rx} AS last FROM devices`)).rows;
    expect(await device()).toEqual([["a@2", 2, 0, 1001]]);
    // Two hellos of one device in one batch: the later session's.
    await s.deliver([hello(3, "a@3", rx + 2000), hello(4, "a@4", rx + 3000)]);
    expect(await device()).toEqual([["a@4", 4, 0, 3000]]);
    expect(await counts()).toEqual([26, 26, 1, 25]);
    expect((await s.query(`SELECT session, anchor_ms - ${rx} FROM sessions ORDER BY session`)).rows).toEqual([[1, 0], [2, 1000], [3, 2000], [4, 3000]]);
  }, 60_000);

  it("a group whose statement fails leaves nothing of it stored, and its retry stores it once with the anchor it made", async () => {
    const s = await openStore();
    await s.deliver([hello(1, "a@1", rx), event(1, 1)]);
    // Break the events table under the store (its statement then fails in the group's transaction,
    // after the sessions row and before the devices merge), and mend it for the retry.
    const writer = (s as unknown as { writer: DuckDBConnection }).writer;
    await writer.run("ALTER TABLE events ADD COLUMN extra INTEGER");
    const batch = [hello(2, "b@2", rx + 5000), ...seqs(1, 3).map((q) => event(2, q, rx + 6000 + q))];
    await expect(s.deliver(batch)).rejects.toThrow(/Binder Error/);
    const state = async () => (await s.query(`SELECT (SELECT count(*) FROM events), (SELECT string_agg(session::VARCHAR, ',' ORDER BY session) FROM sessions),
      (SELECT firmware || ' ' || session::VARCHAR || ' ' || (epoch_ms(last_seen) - ${rx})::VARCHAR FROM devices)`)).rows[0];
    expect(await state()).toEqual([1, "1", "a@1 1 1"]);
    await writer.run("ALTER TABLE events DROP COLUMN extra");
    await s.deliver(batch);
    expect(await state()).toEqual([4, "1,2", "b@2 2 6003"]);
    // The retry mapped the frames with the anchor the failed attempt made (the hello's receipt), and stored it.
    const times = await s.query(`SELECT e.seq, epoch_ms(e.time) - ${rx} AS at, a.anchor_ms - ${rx} AS anchor FROM events e JOIN sessions a USING (device, session) WHERE session = 2 ORDER BY seq`);
    expect(times.rows).toEqual(seqs(1, 3).map((q) => [q, 5000 + q * 10, 5000]));
  }, 60_000);
  it("forgets old sessions' anchors every 256 groups, and maps a late frame of one with its stored anchor", async () => {
    const s = await openStore();
    await s.deliver([hello(1, "a@1", rx), event(1, 1)]);
    for (let q = 1; q <= 256; q++) await s.deliver([event(2, q, rx + 100_000 + q)]); // a group each
    const clock = (s as unknown as { clock: SessionClock }).clock;
    expect([clock.has("00000007", 1), clock.has("00000007", 2)]).toEqual([false, true]);
    // Received long after (a peer catching up): its device time (t = 20) is mapped with session 1's
    // anchor (its hello's receipt, read back from sessions), not with its own receipt.
    await s.deliver([event(1, 2, rx + 900_000)]);
    const times = await s.query(`SELECT seq, epoch_ms(time) - ${rx} AS at FROM events WHERE session = 1 ORDER BY seq`);
    expect(times.rows).toEqual([[1, 10], [2, 20]]);
    expect(clock.has("00000007", 1)).toBe(true);
  }, 60_000);
});
