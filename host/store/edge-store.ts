// The edge store (docs/store.md): `iotfw bridge --store DIR` keeps every accepted frame as rows of the
// tables in host/store/rows.ts, in an embedded DuckDB file DIR/store.duckdb. It is a spool reader like an
// upstream (host/bridge/upstream.ts): the Forwarder hands it batches in spool order, the batches handed
// over while one group is being stored make the next group, one transaction per group, and a batch is
// acknowledged only once its group's transaction committed, so a SIGKILL replays the unacknowledged
// tail and the keys keep a replayed row from being stored twice (a plain INSERT, and INSERT OR IGNORE
// again when a key is already there). Retention deletes rows older than --store-retain. Also answers
// read-only SQL for the bridge's HTTP API (POST /query).
// May touch: DIR (the database file and its WAL).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance, StatementType, type DuckDBAppender, type DuckDBConnection } from "@duckdb/node-api";
import { appendChunk, type Columns } from "./duck-append.js";
import { deviceName, type SpoolRecord } from "../bridge/records.js";
import type { Upstream } from "../bridge/upstream.js";
import { addRecordRows, createTableSql, emptyRows, lastSeen, SessionClock, TABLES, type Row, type TableName } from "./rows.js";
import { queryResult, type QueryResult } from "./query-result.js";

export const STORE_FILE = "store.duckdb";
/** Rows (and records made rows) between yields to the event loop: that work is synchronous, and the
 *  bridge's other readers (MQTT, the devices' sockets) must not wait behind a group of thousands. */
const APPEND_CHUNK = 500;
/** Rows appended between flushes of an appender: a flush is synchronous too (~0.6 ms plus ~0.6 us a row;
 *  a group's 64,000 rows at once held the event loop ~40-90 ms). */
const FLUSH_ROWS = 8 * APPEND_CHUNK;
/** Yield to the event loop; if other work ran meanwhile (the bridge busy taking frames in and
 *  forwarding them), wait twice as long as that took (at most 40 ms) before going on: the store catches up
 *  once the burst is over, forwarding is hardly slowed by it. In a burst, keeping pace, the store took
 *  forwarding to 0.54 of a bare MQTT publisher (0.78 without the store); leaving it as long again, to
 *  0.80-0.84 of the bridge alone; twice as long, 0.88-0.96, its ingest unchanged (28-29k rows/s);
 *  three times (to 60 ms), 0.90-1.01 and ingest 10 % less. */
async function yieldToLoop(): Promise<void> {
  const t0 = performance.now();
  await new Promise<void>((resolve) => setImmediate(resolve));
  const busy = performance.now() - t0;
  if (busy > 1) await new Promise<void>((resolve) => setTimeout(resolve, Math.min(2 * busy, 40)));
}
/** Statements /query runs: reading only (DuckDB's own classification of the prepared statement). */
const READ_ONLY = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);

export class StoreError extends Error {}

export interface EdgeStoreOptions {
  /** Delete rows older than this (ms; absent or 0: keep everything). */
  retainMs?: number;
  /** DuckDB's memory_limit in bytes (its buffer pool: the key index and the pages it caches; past it,
   *  DuckDB evicts and spills instead of growing). Default STORE_MEMORY_DEFAULT. */
  memoryBytes?: number;
  /** A query (POST /query) running longer is interrupted (ms; default QUERY_TIMEOUT_MS). */
  queryTimeoutMs?: number;
  log?: (line: string) => void;
}

/** DuckDB's own default is 80 % of the machine's RAM: on a Pi that is the bridge's RSS at a week of data
 *  (~1.5 GiB was measured, docs/BENCHMARKS.md). 256 MiB held 5 M keyed rows at 200-268 MiB RSS (docs/store.md "Memory"). */
export const STORE_MEMORY_DEFAULT = 256 * 1024 * 1024;
/** A question asked of a bridge on a Pi must not hold a core for ever (it shares it with forwarding). */
export const QUERY_TIMEOUT_MS = 30_000;

const SEEN_COLUMNS = [{ duck: "VARCHAR" }, { duck: "TIMESTAMPTZ" }];
/** Every this many groups stored, the anchors of all but each device's newest session are forgotten
 *  (bounded memory over months of reboots; one needed again, a late frame's, is read back from sessions). */
const FORGET_EVERY = 256;

/** Every table but devices is insert-only; devices is merged (a hello updates, first_seen stays). */
const INSERTED: TableName[] = ["sessions", "summaries", "events", "status", "logs"];
const DEVICE_COLUMNS = TABLES.devices.columns.map((c) => `"${c.name}"`);
/** A hello's row: everything but first_seen and last_seen follows the newest session's hello (a batch
 *  retried after a newer one was stored must not bring an older hello back). */
const HELLO_SQL = `INSERT INTO devices SELECT * FROM stage_devices ON CONFLICT (device) DO UPDATE SET ${
  DEVICE_COLUMNS.filter((c) => !['"device"', '"first_seen"', '"last_seen"'].includes(c)).map((c) => `${c} = excluded.${c}`).join(", ")
} WHERE devices.session IS NULL OR excluded.session >= devices.session`;
/** Every device heard from gets a row (its hello may be before the store started, or dropped), and
 *  last_seen only moves forward. */
const SEEN_SQL = "INSERT INTO devices (device, first_seen, last_seen) SELECT device, t, t FROM stage_seen "
  + "ON CONFLICT (device) DO UPDATE SET last_seen = greatest(devices.last_seen, excluded.last_seen)";

/** A batch the Forwarder handed over, waiting for its group's commit. */
interface Queued { records: SpoolRecord[]; done: () => void; fail: (e: unknown) => void }

export class EdgeStore implements Upstream {
  readonly name = "store";
  /** Batches in flight (the Forwarder's batches are at most 1,000 records): those handed over while a
   *  group is stored make the next group, so under load a transaction holds up to `window` records
   *  and its fixed cost (the statements, the WAL's commit) is paid once for all of them. */
  readonly pipeline = 8;
  readonly window = 8000;
  private instance!: DuckDBInstance;
  private writer!: DuckDBConnection;
  private readonly appenders = new Map<string, DuckDBAppender>();
  private readonly clock = new SessionClock();
  private queued: Queued[] = [];
  private draining = false;
  /** The writer's work in order (a group, a retention pass): one statement at a time on the connection,
   *  and close() waits for it (closing DuckDB under a running statement is not safe). */
  private writing: Promise<unknown> = Promise.resolve();
  /** Sessions rows of anchors made for a group that failed: the anchors stay in memory (the retry maps
   *  alike), so their rows go with the next group instead. */
  private readonly unsaved: Row[] = [];
  /** Each device's newest session stored, and the groups stored (for FORGET_EVERY). */
  private readonly newest = new Map<string, number>();
  private groups = 0;
  private retention: NodeJS.Timeout | null = null;
  private open = false;
  readonly path: string;

  constructor(readonly dir: string, private readonly options: EdgeStoreOptions = {}) {
    this.path = join(dir, STORE_FILE);
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    try {
      const mib = Math.max(16, Math.floor((this.options.memoryBytes ?? STORE_MEMORY_DEFAULT) / 2 ** 20));
      this.instance = await DuckDBInstance.create(this.path, { memory_limit: `${mib}MiB` });
    } catch (e) {
      throw new StoreError(`--store ${this.dir}: ${storeOpenError(e)}`);
    }
    this.writer = await this.instance.connect();
    for (const t of Object.values(TABLES)) {
      await this.writer.run(createTableSql(t, "duck"));
      // A staging table per table (temporary: never in the file): appended to, then merged by key.
      await this.writer.run(`CREATE TEMP TABLE stage_${t.name} AS SELECT * FROM ${t.name} LIMIT 0`);
      this.appenders.set(t.name, await this.writer.createAppender(`stage_${t.name}`, "main", "temp"));
    }
    await this.writer.run("CREATE TEMP TABLE stage_seen (device VARCHAR, t TIMESTAMPTZ)");
    this.appenders.set("seen", await this.writer.createAppender("stage_seen", "main", "temp"));
    // The anchors of each device's newest session: older ones are read on a miss (a replay of them).
    const anchors = await this.writer.runAndReadAll(
      "SELECT device, session, anchor_ms FROM sessions QUALIFY row_number() OVER (PARTITION BY device ORDER BY session DESC) = 1");
    for (const [device, session, anchor] of anchors.getRowsJS()) this.clock.remember(String(device), Number(session), Number(anchor));
    this.open = true;
    const retain = this.options.retainMs ?? 0;
    if (retain > 0) {
      // Often enough that the store never holds much more than it should, rarely enough to cost nothing.
      const every = Math.max(1000, Math.min(retain / 10, 3_600_000));
      this.retention = setInterval(() => void this.applyRetention().catch((e) => this.options.log?.(`store: retention failed: ${(e as Error).message}`)), every);
      this.retention.unref();
      await this.applyRetention();
    }
  }

  connected(): boolean { return this.open; }

  deliver(records: SpoolRecord[]): Promise<void> {
    if (!this.open) return Promise.reject(new StoreError("the store is closed"));
    const p = new Promise<void>((done, fail) => { this.queued.push({ records, done, fail }); });
    if (!this.draining) void this.drain();
    return p;
  }

  /** Run `work` once the writer's previous work is done. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const p = this.writing.then(work);
    this.writing = p.catch(() => undefined);
    return p;
  }

  /** Store the queued batches as one group, and again while more came meanwhile. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queued.length > 0 && this.open) {
        const group = this.queued;
        this.queued = [];
        try {
          await this.exclusive(() => this.store(group.length === 1 ? group[0].records : group.flatMap((g) => g.records)));
          for (const g of group) g.done();
        } catch (e) {
          for (const g of group) g.fail(e);
        }
      }
      for (const g of this.queued.splice(0)) g.fail(new StoreError("the store is closed"));
    } finally {
      this.draining = false;
    }
  }

  /** One group's rows, appended to the staging tables, then merged and the staging emptied in one
   *  transaction and one DuckDB call (each call costs ~0.3-1 ms). A plain INSERT first: DuckDB's INSERT OR
   *  IGNORE costs 2-5x as much per row and grows with the table; a key already there (a replay) fails
   *  it, and the group is merged again with OR IGNORE from the same staging rows (the ROLLBACK restored
   *  them). Any other failure, or of both, leaves nothing of the group stored and the staging tables empty. */
  private async store(records: SpoolRecord[]): Promise<void> {
    await this.loadMissingAnchors(records);
    const rows = emptyRows();
    rows.sessions.push(...this.unsaved.splice(0));
    const staged: string[] = [];
    try {
      for (let i = 0; i < records.length; i++) {
        addRecordRows(records[i], this.clock, rows);
        if ((i + 1) % APPEND_CHUNK === 0) await yieldToLoop();
      }
      for (const t of INSERTED) if (await this.append(t, TABLES[t].columns, rows[t])) staged.push(t);
      const hellos = await this.append("devices", TABLES.devices.columns, newestHellos(rows.devices));
      await this.append("seen", SEEN_COLUMNS, [...lastSeen(records)].map(([device, t]) => [device, t] as Row));
      const merge = (ignore: boolean) => [
        "BEGIN TRANSACTION",
        ...staged.map((t) => `INSERT ${ignore ? "OR IGNORE " : ""}INTO ${t} SELECT * FROM stage_${t}`),
        ...(hellos ? [HELLO_SQL] : []),
        SEEN_SQL,
        ...[...staged, ...(hellos ? ["devices"] : []), "seen"].map((t) => `DELETE FROM stage_${t}`),
        "COMMIT",
      ].join(";\n");
      try {
        await this.writer.run(merge(false));
      } catch (e) {
        // Only a key already there is a replay; anything else (a full disk, a broken table) fails the group as it is.
        if (!/Constraint Error/.test(String(e))) throw e;
        await this.writer.run("ROLLBACK").catch(() => undefined);
        await this.writer.run(merge(true));
      }
    } catch (e) {
      this.unsaved.push(...rows.sessions);
      await this.writer.run("ROLLBACK").catch(() => undefined); // none active if the commit itself failed
      await this.writer.run([...Object.keys(TABLES), "seen"].map((t) => `DELETE FROM stage_${t}`).join("; ")).catch(() => undefined);
      throw e;
    }
    this.forgetOldSessions(records);
  }

  /** After a group is stored (never after a failure: the retry needs the anchors it made). */
  private forgetOldSessions(records: SpoolRecord[]): void {
    for (const r of records) {
      const device = deviceName(r.device);
      if (r.session >= (this.newest.get(device) ?? -Infinity)) this.newest.set(device, r.session);
    }
    if (++this.groups % FORGET_EVERY === 0) this.clock.forgetAllBut(new Set([...this.newest].map(([d, s]) => `${d}/${s}`)));
  }

  /** A replay may reach back to a session whose anchor is not in memory: read it from the file, so the
   *  replayed rows get the same times as the first pass (and are then ignored by key). */
  private async loadMissingAnchors(records: SpoolRecord[]): Promise<void> {
    const missing = new Map<string, [string, number]>();
    for (const r of records) {
      const device = deviceName(r.device);
      if (!this.clock.has(device, r.session)) missing.set(`${device}/${r.session}`, [device, r.session]);
    }
    if (missing.size === 0) return;
    const list = [...missing.values()].map(([d, s]) => `('${d}', ${s})`).join(", ");
    const found = await this.writer.runAndReadAll(`SELECT s.device, s.session, s.anchor_ms FROM sessions s JOIN (VALUES ${list}) v(device, session) USING (device, session)`);
    for (const [device, session, anchor] of found.getRowsJS()) this.clock.remember(String(device), Number(session), Number(anchor));
  }

  /** Append rows to a table's staging table (stage_<table>), APPEND_CHUNK rows per data chunk with a yield between, flushed every
   *  FLUSH_ROWS; false if there were none. */
  private async append(table: string, columns: Columns, rows: Row[]): Promise<boolean> {
    if (rows.length === 0) return false;
    const a = this.appenders.get(table)!;
    for (let start = 0; start < rows.length; start += APPEND_CHUNK) {
      if (start > 0) await yieldToLoop();
      const n = Math.min(APPEND_CHUNK, rows.length - start);
      appendChunk(a, columns, rows, start, n);
      if ((start + n) % FLUSH_ROWS === 0) a.flushSync();
    }
    if (rows.length % FLUSH_ROWS !== 0) a.flushSync();
    return true;
  }

  /** Delete rows older than the retention, by their own time column. */
  applyRetention(now = Date.now()): Promise<number> {
    return this.exclusive(() => this.deleteOlder(now));
  }

  private async deleteOlder(now: number): Promise<number> {
    const retain = this.options.retainMs ?? 0;
    if (!this.open || retain <= 0) return 0;
    const cutoff = new Date(now - retain).toISOString();
    let deleted = 0;
    for (const t of Object.values(TABLES)) {
      if (!("time" in t) || !t.time) continue;
      const r = await this.writer.run(`DELETE FROM ${t.name} WHERE "${t.time}" < '${cutoff}'::TIMESTAMPTZ`);
      deleted += Number(r.rowsChanged);
    }
    if (deleted > 0) this.options.log?.(`store: retention deleted ${deleted} rows older than ${cutoff}`);
    return deleted;
  }

  /** Run one read-only statement on its own connection (the writer keeps writing). */
  async query(sql: string, maxRows = 10_000): Promise<QueryResult> {
    if (!this.open) throw new StoreError("the store is closed");
    const conn = await this.instance.connect();
    const limitMs = this.options.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    let interrupted = false;
    const timer = setTimeout(() => { interrupted = true; conn.interrupt(); }, limitMs);
    try {
      return await readOnlyQuery(conn, sql, maxRows);
    } catch (e) {
      if (interrupted) throw new StoreError(`the query ran longer than ${limitMs / 1000} s and was interrupted`);
      throw e;
    } finally {
      clearTimeout(timer);
      conn.closeSync();
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    if (this.retention) clearInterval(this.retention);
    await this.writing; // the group or retention pass in progress ends (committed or not) first
    for (const a of this.appenders.values()) a.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }
}

const SESSION_AT = TABLES.devices.columns.findIndex((c) => c.name === "session");
/** The devices rows of a group's hellos, one per device (one statement may not update a row twice):
 *  its newest session's, the last in spool order. */
function newestHellos(rows: Row[]): Row[] {
  const newest = new Map<string, Row>();
  for (const r of rows) {
    const had = newest.get(String(r[0]));
    if (!had || Number(r[SESSION_AT]) >= Number(had[SESSION_AT])) newest.set(String(r[0]), r);
  }
  return [...newest.values()];
}

/** Prepare `sql`, refuse anything but a read (with DuckDB's classification), run it, up to maxRows rows. */
export async function readOnlyQuery(conn: DuckDBConnection, sql: string, maxRows: number): Promise<QueryResult> {
  const statements = await conn.extractStatements(sql);
  if (statements.count !== 1) throw new StoreError(`give exactly one SQL statement (got ${statements.count})`);
  const prepared = await statements.prepare(0);
  if (!READ_ONLY.has(prepared.statementType)) {
    throw new StoreError(`only SELECT (or EXPLAIN) is answered here: this is a ${StatementType[prepared.statementType] ?? prepared.statementType} statement`);
  }
  const reader = await prepared.runAndReadUntil(maxRows + 1);
  return queryResult(reader, maxRows);
}

/** DuckDB's open errors said for a user: a lock held by another process is a running bridge. */
export function storeOpenError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const pid = /PID (\d+)/.exec(message)?.[1];
  if (/lock/i.test(message)) return `the store is in use by another process${pid ? ` (pid ${pid}, a running bridge?)` : ""}: ask the bridge with --bridge http://host:port instead`;
  return message.split("\n")[0];
}
