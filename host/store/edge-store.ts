// The edge store (docs/store.md): `iotfw bridge --store DIR` keeps every accepted frame as rows of the
// tables in host/store/rows.ts, in an embedded DuckDB file DIR/store.duckdb. It is a spool reader like an
// upstream (host/bridge/upstream.ts): the Forwarder hands it batches in spool order and acknowledges them
// only once a batch's transaction committed, so a SIGKILL replays the unacknowledged tail, and the keys
// (INSERT OR IGNORE) keep a replayed row from being stored twice. Retention deletes rows older than
// --store-retain. Also answers read-only SQL for the bridge's HTTP API (POST /query).
// May touch: DIR (the database file and its WAL).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  DuckDBInstance, StatementType, timestampTZValue, type DuckDBAppender, type DuckDBConnection,
} from "@duckdb/node-api";
import { deviceName, type SpoolRecord } from "../bridge/records.js";
import type { Upstream } from "../bridge/upstream.js";
import { addRecordRows, createTableSql, emptyRows, lastSeen, SessionClock, TABLES, type Row, type TableName } from "./rows.js";
import { queryResult, type QueryResult } from "./query-result.js";

export const STORE_FILE = "store.duckdb";
/** Rows appended between yields to the event loop: appending is synchronous, and the bridge's other
 *  readers (MQTT, the devices' sockets) must not wait behind a batch of thousands of rows. */
const APPEND_CHUNK = 500;
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

type Writer = (a: DuckDBAppender, v: Row[number]) => void;
const WRITERS: Record<string, Writer> = {
  VARCHAR: (a, v) => a.appendVarchar(String(v)),
  BIGINT: (a, v) => a.appendBigInt(BigInt(Math.trunc(Number(v)))),
  INTEGER: (a, v) => a.appendInteger(Math.trunc(Number(v))),
  DOUBLE: (a, v) => a.appendDouble(Number(v)),
  BOOLEAN: (a, v) => a.appendBoolean(Boolean(v)),
  TIMESTAMPTZ: (a, v) => a.appendTimestampTZ(timestampTZValue(BigInt(Math.round((v as Date).getTime() * 1000)))),
};

/** Every table but devices is insert-only; devices is merged (a hello updates, first_seen stays). */
const INSERTED: TableName[] = ["sessions", "summaries", "events", "status", "logs"];

export class EdgeStore implements Upstream {
  readonly name = "store";
  readonly pipeline = 1;
  readonly window = 2000;
  private instance!: DuckDBInstance;
  private writer!: DuckDBConnection;
  private readonly appenders = new Map<string, DuckDBAppender>();
  private readonly clock = new SessionClock();
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

  async deliver(records: SpoolRecord[]): Promise<void> {
    if (!this.open) throw new StoreError("the store is closed");
    await this.loadMissingAnchors(records);
    const rows = emptyRows();
    for (const r of records) addRecordRows(r, this.clock, rows);
    for (const t of [...INSERTED, "devices" as const]) await this.append(t, rows[t]);
    const seen = [...lastSeen(records)].map(([device, t]) => [device, t] as Row);
    await this.appendTo("seen", [{ duck: "VARCHAR" }, { duck: "TIMESTAMPTZ" }], seen);
    const cols = TABLES.devices.columns.map((c) => `"${c.name}"`);
    const updates = cols.filter((c) => c !== '"device"' && c !== '"first_seen"').map((c) => `${c} = excluded.${c}`).join(", ");
    const statements = [
      ...INSERTED.map((t) => `INSERT OR IGNORE INTO ${t} SELECT * FROM stage_${t}`),
      // A hello's row: everything but first_seen follows the newest hello.
      `INSERT INTO devices SELECT * FROM stage_devices ON CONFLICT (device) DO UPDATE SET ${updates}`,
      // Devices heard from without a hello (it was before the store started, or dropped) still get a row.
      "INSERT OR IGNORE INTO devices (device, first_seen, last_seen) SELECT device, min(t), max(t) FROM stage_seen GROUP BY device",
      "UPDATE devices SET last_seen = s.t FROM (SELECT device, max(t) AS t FROM stage_seen GROUP BY device) s WHERE devices.device = s.device AND (devices.last_seen IS NULL OR s.t > devices.last_seen)",
    ];
    await this.writer.run("BEGIN TRANSACTION");
    try {
      for (const sql of statements) await this.writer.run(sql);
      await this.writer.run("COMMIT");
    } catch (e) {
      await this.writer.run("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      for (const t of [...Object.keys(TABLES), "seen"]) await this.writer.run(`DELETE FROM stage_${t}`);
    }
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

  private append(table: TableName, rows: Row[]): Promise<void> {
    return this.appendTo(table, TABLES[table].columns, rows);
  }

  private async appendTo(name: string, columns: ReadonlyArray<{ duck: string }>, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const a = this.appenders.get(name)!;
    const writers = columns.map((c) => WRITERS[c.duck]);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      for (let c = 0; c < writers.length; c++) {
        const v = row[c];
        if (v === null || v === undefined) a.appendNull(); else writers[c](a, v);
      }
      a.endRow();
      if ((i + 1) % APPEND_CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    a.flushSync();
  }

  /** Delete rows older than the retention, by their own time column. */
  async applyRetention(now = Date.now()): Promise<number> {
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
    for (const a of this.appenders.values()) a.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }
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
