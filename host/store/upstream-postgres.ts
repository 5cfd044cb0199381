// The PostgreSQL (and TimescaleDB) upstream of the bridge (docs/store.md "PostgreSQL and TimescaleDB
// upstream"): `--upstream postgres://user@host/db` keeps the store's tables (host/store/rows.ts, the one
// definition) in PostgreSQL. At every (re)connection it creates the tables that are missing — hypertables
// when the timescaledb extension is available, plain tables otherwise — and loads the session anchors,
// so a record replayed after a crash maps to the same rows. A batch is one transaction: each table's rows
// in one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, the devices upserted. Exactly once
// comes from the keys plus the Forwarder's ack-after-commit: a batch whose COMMIT reached the server but
// not its answer is sent again and its rows are already there. Any error rejects the batch (the Forwarder
// retries with backoff) and drops the connection, so the next try starts clean.
// May touch: the PostgreSQL database it is given (its own tables only); logs without credentials.
import pg from "pg";
import { deviceName, type SpoolRecord } from "../bridge/records.js";
import type { Upstream } from "../bridge/upstream.js";
import { addRecordRows, createTableSql, emptyRows, lastSeen, SessionClock, TABLES, type Row, type Rows, type Table, type TableName } from "./rows.js";

export interface PostgresOptions {
  log?: (line: string) => void;
  /** Giving up on a connection attempt (an unreachable host that drops packets). */
  connectTimeoutMs?: number;
  /** Giving up on one statement (a server that stopped answering without closing the connection). */
  queryTimeoutMs?: number;
}

/** Tables written from records, in the order a batch inserts them (anchors first). */
const ROW_TABLES: TableName[] = ["sessions", "summaries", "events", "status", "logs"];
/** Every this many batches, anchors of all but each device's newest session are forgotten (they are
 *  read back from the sessions table on a miss), so memory stays bounded over months. */
const FORGET_EVERY = 256;

const quote = (name: string) => `"${name}"`;

/** The URL without credentials: the upstream's name in logs, metrics and the spool's checkpoint. */
export function postgresName(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
}

/** A clear one-line reason for a failed connection or statement (no stack, no credentials). */
export function describePgError(e: unknown, where: string): string {
  const err = e as NodeJS.ErrnoException & { errors?: Array<NodeJS.ErrnoException>; severity?: string };
  // Node reports a refused connection to a name with several addresses as an AggregateError without a message.
  const code = err?.code ?? err?.errors?.[0]?.code;
  switch (code) {
    case "ECONNREFUSED": return `cannot connect to ${where}: connection refused (is PostgreSQL running there?)`;
    case "ENOTFOUND": case "EAI_AGAIN": return `cannot connect to ${where}: host not found`;
    case "ETIMEDOUT": return `cannot connect to ${where}: timed out`;
    case "EHOSTUNREACH": case "ENETUNREACH": return `cannot connect to ${where}: host unreachable`;
    case "ECONNRESET": case "EPIPE": return `connection to ${where} lost`;
    case "28P01": case "28000": return `${where}: ${err.message} (check the user and password in the URL)`;
    case "3D000": return `${where}: ${err.message} (create it, or name another database in the URL)`;
    default: break;
  }
  const message = err instanceof Error ? err.message : String(e);
  if (/timeout/i.test(message)) return `${where}: ${message}`;
  if (/Connection terminated|terminating connection|server closed the connection/i.test(message)) return `connection to ${where} lost (${message})`;
  return `${where}: ${message || code || "unknown error"}`;
}

interface Session { client: pg.Client; timescale: boolean }

export class PostgresUpstream implements Upstream {
  readonly pipeline = 2;
  readonly window = 1000;
  readonly name: string;
  private readonly where: string;
  private session: Session | null = null;
  private connecting: Promise<Session> | null = null;
  private clock = new SessionClock();
  /** Newest session per device (the anchors kept when forgetting). */
  private readonly newest = new Map<string, number>();
  private batches = 0;
  /** last_seen as last committed per device: moved at most once a second (a row update per device and
   *  batch cost a fifth of the throughput), at once with a hello. */
  private readonly seenWritten = new Map<string, number>();
  /** Bumped when the clock starts over (a reconnection): rows made before it are made again. */
  private generation = 0;
  /** The transaction of the batch before (the next waits for it). */
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private saidTables = false;
  /** A connection was lost or refused since the last one: its return is logged. */
  private lost = false;
  private readonly log: (line: string) => void;

  constructor(private readonly url: string, private readonly options: PostgresOptions = {}) {
    this.name = postgresName(url);
    const u = new URL(url);
    this.where = `PostgreSQL at ${u.host}${u.pathname === "/" ? "" : u.pathname}`;
    this.log = options.log ?? (() => undefined);
  }

  /** Connects in the background: a database that is down must not hold up the bridge's start (frames
   *  are spooled meanwhile and delivered once it is up). */
  async start(): Promise<void> {
    this.connect().catch((e) => this.log(`${this.name}: ${describePgError(e, this.where)}; frames stay in the spool until it can connect`));
  }

  connected(): boolean { return this.session !== null; }

  private connect(): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    if (this.closed) return Promise.reject(new Error("closed"));
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async open(): Promise<Session> {
    const client = new pg.Client({
      connectionString: this.url, connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      query_timeout: this.options.queryTimeoutMs ?? 60_000, keepAlive: true, application_name: "iotfw bridge",
    });
    // A server that dies emits 'error' on an idle client; unhandled, it would end the bridge.
    client.on("error", (e) => {
      if (this.session?.client !== client) return;
      this.log(`${this.name}: ${describePgError(e, this.where)}; reconnecting`);
      this.drop(client);
    });
    try {
      await client.connect();
      const timescale = await this.prepare(client);
      const s: Session = { client, timescale };
      if (this.closed) { await client.end().catch(() => undefined); throw new Error("closed"); }
      this.session = s;
      if (this.lost) { this.lost = false; this.log(`${this.name}: connected again`); }
      return s;
    } catch (e) {
      this.lost = this.saidTables;
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  /** Tables (and hypertables) created if missing, anchors loaded; true with TimescaleDB. */
  private async prepare(c: pg.Client): Promise<boolean> {
    const timescale = await this.timescale(c);
    await c.query("BEGIN");
    try {
      // Several bridges sharing one database (docs/store.md "Scale past one host") may start together:
      // CREATE TABLE IF NOT EXISTS races with itself, so creation is serialised on an advisory lock.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('iotfw schema'))");
      for (const t of Object.values(TABLES) as Table[]) {
        await c.query(createTableSql(t, "pg", { timeInKey: timescale }));
        if (timescale && t.time) {
          // migrate_data: a table made before the extension was installed becomes a hypertable too, if its
          // key holds the time column; when it does not, TimescaleDB refuses and the table stays plain (said
          // once), which the rows do not mind. The savepoint keeps the refusal from aborting the rest.
          await c.query("SAVEPOINT hypertable");
          try {
            await c.query(`SELECT create_hypertable('${t.name}', '${t.time}', if_not_exists => TRUE, migrate_data => TRUE)`);
            await c.query("RELEASE SAVEPOINT hypertable");
          } catch (e) {
            await c.query("ROLLBACK TO SAVEPOINT hypertable");
            if (!this.saidTables) this.log(`${this.name}: ${t.name} stays a plain table (${describePgError(e, this.where)})`);
          }
        }
      }
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
    // Rows already stored keep their times: the newest session's anchor of every device is read back
    // (older ones on a miss, see deliver); the clock starts over so nothing made in a rolled-back batch stays.
    this.clock = new SessionClock();
    this.generation++;
    this.newest.clear();
    const anchors = await c.query<{ device: string; session: string; anchor_ms: number }>(
      "SELECT DISTINCT ON (device) device, session, anchor_ms FROM sessions ORDER BY device, session DESC");
    for (const a of anchors.rows) this.remember(a.device, Number(a.session), a.anchor_ms);
    if (!this.saidTables) {
      this.saidTables = true;
      this.log(timescale
        ? `${this.name}: TimescaleDB found: summaries, events, status and logs are hypertables`
        : `${this.name}: the timescaledb extension is not available: plain PostgreSQL tables`);
    }
    return timescale;
  }

  /** TimescaleDB installed in this database, or installable (then installed). */
  private async timescale(c: pg.Client): Promise<boolean> {
    const r = await c.query<{ installed: string | null }>("SELECT installed_version AS installed FROM pg_available_extensions WHERE name = 'timescaledb'");
    if (r.rows.length === 0) return false;
    if (r.rows[0].installed) return true;
    try {
      await c.query("CREATE EXTENSION IF NOT EXISTS timescaledb");
      return true;
    } catch (e) {
      // Available but not loadable here (shared_preload_libraries) or not ours to install: plain tables.
      if (!this.saidTables) this.log(`${this.name}: timescaledb is available but could not be installed (${describePgError(e, this.where)})`);
      return false;
    }
  }

  private remember(device: string, session: number, anchorMs: number): void {
    this.clock.remember(device, session, anchorMs);
    if (session >= (this.newest.get(device) ?? -Infinity)) this.newest.set(device, session);
  }

  private drop(client: pg.Client): void {
    if (this.session?.client === client) this.session = null;
    this.lost = true;
    client.end().catch(() => undefined);
  }

  /** Two batches in flight (pipeline 2): the next one's rows are made while the database commits the
   *  one before, then its transaction runs after it (one connection, one transaction at a time). */
  async deliver(records: SpoolRecord[]): Promise<void> {
    if (this.closed) throw new Error("closed");
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => { release = resolve; });
    try {
      // Made now when every anchor is known; a batch made before a failure is made again (the clock was
      // reset: its anchors must be those the database holds or this transaction stores).
      let made = this.missingAnchors(records) ? null : this.makeRows(records);
      await prev;
      let s: Session;
      try { s = await this.connect(); } catch (e) { throw new Error(describePgError(e, this.where)); }
      const c = s.client;
      try {
        await c.query("BEGIN");
        if (!made || made.generation !== this.generation) {
          await this.loadMissingAnchors(c, records);
          made = this.makeRows(records);
        }
        const { rows } = made;
        for (const t of ROW_TABLES) if (rows[t].length) await c.query(insertSql(TABLES[t]), columns(TABLES[t], rows[t]));
        const devices = deviceRows(records, rows, this.seenWritten);
        if (devices.length) await c.query(UPSERT_DEVICES, columns(TABLES.devices, devices));
        await c.query("COMMIT");
        for (const d of devices) this.seenWritten.set(d[0] as string, (d[LAST_SEEN] as Date).getTime());
      } catch (e) {
        // The connection is dropped whatever went wrong, so the retry reconnects, re-creates what is
        // missing and reloads the anchors (a rolled-back batch's new anchors were never stored).
        this.drop(c);
        throw new Error(describePgError(e, this.where));
      }
    } finally {
      release();
    }
    if (++this.batches % FORGET_EVERY === 0) {
      this.clock.forgetAllBut(new Set([...this.newest].map(([d, sess]) => `${d}/${sess}`)));
    }
  }

  private missingAnchors(records: SpoolRecord[]): boolean {
    return records.some((r) => !this.clock.has(deviceName(r.device), r.session));
  }

  private makeRows(records: SpoolRecord[]): { rows: Rows; generation: number } {
    const rows = emptyRows();
    for (const r of records) addRecordRows(r, this.clock, rows);
    for (const row of rows.sessions) this.remember(row[0] as string, row[1] as number, row[2] as number);
    return { rows, generation: this.generation };
  }

  /** Anchors of sessions in this batch that the clock does not know, read from the sessions table: a
   *  record replayed from an older session maps as it did when first stored. */
  private async loadMissingAnchors(c: pg.Client, records: SpoolRecord[]): Promise<void> {
    const devices: string[] = [];
    const sessions: number[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      const d = deviceName(r.device);
      const k = `${d}/${r.session}`;
      if (seen.has(k) || this.clock.has(d, r.session)) continue;
      seen.add(k);
      devices.push(d);
      sessions.push(r.session);
    }
    if (!devices.length) return;
    const found = await c.query<{ device: string; session: string; anchor_ms: number }>(
      "SELECT s.device, s.session, s.anchor_ms FROM sessions s JOIN unnest($1::text[], $2::bigint[]) AS k(device, session) USING (device, session)",
      [devices, sessions]);
    for (const a of found.rows) this.remember(a.device, Number(a.session), a.anchor_ms);
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = null;
    await s?.client.end().catch(() => undefined);
  }
}

const arrayType = (t: string) => `${t.toLowerCase()}[]`;

/** INSERT of a whole table's rows with one parameter per column (arrays, expanded by unnest): no limit on
 *  rows per statement (a VALUES list stops at 65,535 parameters) and one plan per table. */
function insertSql(t: Table, conflict = "ON CONFLICT DO NOTHING"): string {
  const cols = t.columns.map((c) => quote(c.name)).join(", ");
  const params = t.columns.map((c, i) => `$${i + 1}::${arrayType(c.pg)}`).join(", ");
  return `INSERT INTO ${t.name} (${cols}) SELECT * FROM unnest(${params}) ${conflict}`;
}

/** Rows to one PostgreSQL array literal per column, written here rather than by node-postgres (which
 *  quotes and escapes every element through two regular expressions: a tenth of the bridge's time per
 *  batch): numbers bare, strings quoted, times as ISO strings (exact to the ms, no local time zone). */
function columns(t: Table, rows: Row[]): string[] {
  return t.columns.map((_, j) => {
    let out = "{";
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i][j];
      if (i > 0) out += ",";
      if (v === null || v === undefined) out += "NULL";
      else if (typeof v === "number") out += Number.isFinite(v) ? String(v) : "NULL";
      else if (typeof v === "boolean") out += v ? "t" : "f";
      else if (v instanceof Date) out += `"${v.toISOString()}"`;
      else out += `"${v.replace(/[\\"]/g, "\\$&")}"`;
    }
    return out + "}";
  });
}

const FIRST_SEEN = TABLES.devices.columns.findIndex((c) => c.name === "first_seen");
const LAST_SEEN = TABLES.devices.columns.findIndex((c) => c.name === "last_seen");
const SEEN_RESOLUTION_MS = 1000;

/** One devices row per device in the batch: its last hello's row if it sent one, else the device with
 *  only its times (the upsert then moves last_seen alone), skipped while its stored last_seen is less than
 *  a second old. */
function deviceRows(records: SpoolRecord[], rows: Rows, written: ReadonlyMap<string, number>): Row[] {
  const seen = lastSeen(records);
  const hellos = new Map<string, Row>();
  for (const row of rows.devices) hellos.set(row[0] as string, row);
  const out: Row[] = [];
  for (const [device, at] of seen) {
    const hello = hellos.get(device);
    if (!hello && at.getTime() - (written.get(device) ?? -Infinity) < SEEN_RESOLUTION_MS) continue;
    const row = hello?.slice() ?? TABLES.devices.columns.map(() => null);
    row[0] = device;
    row[FIRST_SEEN] ??= at;
    row[LAST_SEEN] = at;
    out.push(row);
  }
  return out;
}

/** first_seen is kept; last_seen only moves forward (a replay does not move it back); what a hello says
 *  replaces what an older or equal session's hello said. */
const UPSERT_DEVICES = (() => {
  const t = TABLES.devices;
  const hello = t.columns.map((c) => c.name).filter((n) => !["device", "first_seen", "last_seen", "session"].includes(n));
  const newer = "EXCLUDED.session IS NOT NULL AND EXCLUDED.session >= COALESCE(devices.session, -1)";
  const sets = [
    ...hello.map((n) => `${quote(n)} = CASE WHEN ${newer} THEN EXCLUDED.${quote(n)} ELSE devices.${quote(n)} END`),
    `session = GREATEST(devices.session, EXCLUDED.session)`,
    `first_seen = COALESCE(devices.first_seen, EXCLUDED.first_seen)`,
    `last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen)`,
  ];
  return insertSql(t, `ON CONFLICT (device) DO UPDATE SET ${sets.join(", ")}`);
})();
