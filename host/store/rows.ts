// The store's tables (docs/store.md "Tables") and how one spooled record becomes their rows: the one
// definition the edge store (DuckDB, host/store/duckdb-store.ts), the rules (host/store/rules.ts) and the
// PostgreSQL upstream (host/store/upstream-postgres.ts) share, so the same frame is the same rows in every
// engine. Device time becomes wall time through a per-session anchor (SessionClock). Pure; touches nothing.
import { deviceName, upstreamMessage, type SpoolRecord } from "../bridge/records.js";
import type { JsonObject } from "../protocol/index.js";

/** A column: its name and its type in DuckDB and in PostgreSQL. */
export interface Column { name: string; duck: string; pg: string }
export interface Table {
  name: string; columns: Column[]; /** The de-duplication key (a primary key). */ key: string[];
  /** The row's time column, where it has one: a TimescaleDB hypertable is partitioned on it. */ time?: string;
}

const col = (name: string, duck: string, pg = duck): Column => ({ name, duck, pg });
const DEVICE = col("device", "VARCHAR", "TEXT"); // 8 hex digits, as in topics and the JSON
const SESSION = col("session", "BIGINT");
const SEQ = col("seq", "BIGINT"); // u32
const CHANNEL = col("channel", "INTEGER");
const NAME = col("name", "VARCHAR", "TEXT");
const UNIT = col("unit", "VARCHAR", "TEXT");
const TIME = (name: string) => col(name, "TIMESTAMPTZ");
const DOUBLE = (name: string) => col(name, "DOUBLE", "DOUBLE PRECISION");

export const TABLES = {
  devices: {
    name: "devices",
    columns: [DEVICE, col("firmware", "VARCHAR", "TEXT"), col("board", "VARCHAR", "TEXT"), col("app_hash", "VARCHAR", "TEXT"),
      col("abi", "INTEGER"), col("boot_id", "BIGINT"), col("sample_period_ms", "INTEGER"), col("channels", "VARCHAR", "TEXT"),
      TIME("first_seen"), TIME("last_seen"), SESSION],
    key: ["device"],
  },
  summaries: {
    name: "summaries",
    time: "window_start",
    columns: [DEVICE, SESSION, SEQ, CHANNEL, NAME, UNIT, TIME("window_start"), col("window_ms", "INTEGER"), col("count", "INTEGER"),
      DOUBLE("min"), DOUBLE("max"), DOUBLE("mean"), DOUBLE("std"), DOUBLE("last")],
    key: ["device", "session", "seq", "channel"],
  },
  events: {
    name: "events",
    time: "time",
    columns: [DEVICE, SESSION, SEQ, TIME("time"), CHANNEL, NAME, UNIT, col("kind", "VARCHAR", "TEXT"), DOUBLE("value"), col("code", "INTEGER")],
    key: ["device", "session", "seq", "channel"],
  },
  status: {
    name: "status",
    time: "time",
    columns: [DEVICE, SESSION, SEQ, TIME("time"), DOUBLE("uptime_s"), col("samples", "BIGINT"), col("dropped", "BIGINT"),
      col("faults", "BIGINT"), col("frames_sent", "BIGINT"), col("resets", "BIGINT"), col("sleeping", "BOOLEAN")],
    key: ["device", "session", "seq"],
  },
  logs: {
    name: "logs",
    time: "time",
    columns: [DEVICE, SESSION, SEQ, TIME("time"), col("level", "VARCHAR", "TEXT"), col("text", "VARCHAR", "TEXT")],
    key: ["device", "session", "seq"],
  },
  sessions: {
    // Each session's anchor: wall ms at device time 0 (see SessionClock); kept so a restart maps alike.
    name: "sessions",
    columns: [DEVICE, SESSION, col("anchor_ms", "DOUBLE", "DOUBLE PRECISION")],
    key: ["device", "session"],
  },
} as const satisfies Record<string, Table>;

export type TableName = keyof typeof TABLES;
/** A row: values in the table's column order; times as JS Dates; null where the frame has none. */
export type Row = Array<string | number | boolean | Date | null>;
export type Rows = { [T in TableName]: Row[] };

export function emptyRows(): Rows {
  return { devices: [], summaries: [], events: [], status: [], logs: [], sessions: [] };
}

/** CREATE TABLE IF NOT EXISTS for a table in the given dialect, with its key as the primary key.
 *  `timeInKey` (a TimescaleDB hypertable, whose unique keys must hold its time column) appends the time
 *  column to the key: still one row per key, as a key's time is the same on every replay. */
export function createTableSql(t: Table, dialect: "duck" | "pg", opts: { timeInKey?: boolean } = {}): string {
  const cols = t.columns.map((c) => `"${c.name}" ${dialect === "duck" ? c.duck : c.pg}`).join(", ");
  const key = opts.timeInKey && t.time ? [...t.key, t.time] : t.key;
  return `CREATE TABLE IF NOT EXISTS ${t.name} (${cols}, PRIMARY KEY (${key.map((k) => `"${k}"`).join(", ")}))`;
}

/**
 * Device time (ms since boot, u32) to wall time. A session's anchor is the receive time of the first of
 * its records the store sees minus that frame's device time, so the whole session keeps the device's own
 * spacing (a simulated week at --speed max spans a week) and a replay maps exactly as the first pass did
 * once the anchor is stored (the sessions table). Rows for anchors made here go out with the batch.
 */
export class SessionClock {
  private readonly anchors = new Map<string, number>();

  /** Anchors already stored (read back at start, or on a miss). */
  remember(device: string, session: number, anchorMs: number): void {
    this.anchors.set(`${device}/${session}`, anchorMs);
  }

  has(device: string, session: number): boolean { return this.anchors.has(`${device}/${session}`); }

  /** The anchor for a record, made (and a sessions row added to `rows`) the first time. */
  anchor(r: SpoolRecord, deviceT: number, rows: Rows): number {
    const device = deviceName(r.device);
    const key = `${device}/${r.session}`;
    let a = this.anchors.get(key);
    if (a === undefined) {
      a = r.rx - deviceT;
      this.anchors.set(key, a);
      rows.sessions.push([device, r.session, a]);
    }
    return a;
  }

  /** Drop anchors of sessions older than the newest per device (bounded memory for long runs). */
  forgetAllBut(keep: ReadonlySet<string>): void {
    for (const k of this.anchors.keys()) if (!keep.has(k)) this.anchors.delete(k);
  }
}

const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Append the rows one record becomes to `rows`. Frames the tables do not keep (acks, control echoes,
 *  channel tables) add nothing; a hello updates `devices`. */
export function addRecordRows(r: SpoolRecord, clock: SessionClock, rows: Rows): void {
  const m: JsonObject = upstreamMessage(r);
  const device = m.device as string;
  const t = typeof m.t === "number" ? m.t : 0;
  const at = (deviceT: number) => new Date(clock.anchor(r, t, rows) + deviceT);
  switch (m.type) {
    case "hello": {
      const seen = new Date(r.rx);
      rows.devices.push([device, strOrNull(m.firmware), strOrNull(m.board), strOrNull(m.appHash), numOrNull(m.abi),
        typeof m.bootId === "string" ? parseInt(m.bootId, 16) : numOrNull(m.bootId), numOrNull(m.samplePeriodMs),
        JSON.stringify(m.channels ?? []), seen, seen, r.session]);
      at(t);
      return;
    }
    case "summary": {
      const start = at(numOrNull(m.windowStart) ?? t);
      // A frame's summary lists its channels; one MQTT message (docs/mqtt.md, taken by a sink bridge's
      // --subscribe) is one channel's, its fields at the top level: one row.
      for (const c of Array.isArray(m.channels) ? (m.channels as JsonObject[]) : [m]) {
        rows.summaries.push([device, r.session, r.seq, c.channel as number, strOrNull(c.name), strOrNull(c.unit), start,
          numOrNull(m.windowMs), numOrNull(c.count), numOrNull(c.min), numOrNull(c.max), numOrNull(c.mean), numOrNull(c.std), numOrNull(c.last)]);
      }
      return;
    }
    case "event":
      rows.events.push([device, r.session, r.seq, at(t), m.channel as number, strOrNull(m.name), strOrNull(m.unit),
        strOrNull(m.kind), numOrNull(m.value), numOrNull(m.code)]);
      return;
    case "status":
      rows.status.push([device, r.session, r.seq, at(t), t / 1000, numOrNull(m.samples), numOrNull(m.dropped),
        numOrNull(m.faults), numOrNull(m.framesSent), numOrNull(m.resets), m.sleeping === true]);
      return;
    case "log":
      rows.logs.push([device, r.session, r.seq, at(t), strOrNull(m.level), strOrNull(m.text)]);
      return;
    case "data": {
      // A MicroPython node's readings (docs/bridge.md "MicroPython"): one event row per reading, kind "reading".
      const readings = Array.isArray(m.readings) ? (m.readings as JsonObject[]) : [];
      readings.forEach((x, i) => rows.events.push([device, r.session, r.seq, at(t), i, strOrNull(x.name), strOrNull(x.unit),
        "reading", numOrNull(x.value), 0]));
      return;
    }
    default:
      return;
  }
}

/** Every device's `last_seen` moves with any of its rows: the devices rows for a batch, merged per device
 *  (a hello's row wins; otherwise only last_seen changes). */
export function lastSeen(records: readonly SpoolRecord[]): Map<string, Date> {
  const out = new Map<string, Date>();
  for (const r of records) out.set(deviceName(r.device), new Date(r.rx));
  return out;
}
