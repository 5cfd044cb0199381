// The rules of `iotfw bridge --rules rules.sql` (docs/store.md "Rules"): SQL over the store's tables
// (host/store/rows.ts), evaluated by DuckDB in memory, never by a parser of our own. The engine is a spool
// reader like an upstream (named "rules"): it sees every accepted frame once, in spool order, and the
// spool acknowledges a batch only after the rules' targets confirmed it, so a crash replays it (at least
// once, like every upstream). Per-frame rules run over the rows of each batch (schema `batch`); window
// rules run every N seconds over the rows received in their window (schema `wstore`, seen through views
// per rule that hide the receive-time column). A rule DuckDB refuses is refused at start, with DuckDB's
// message and the line in the file; a rule failing at run time is counted and logged once, never stops
// the bridge or its spool. Every evaluation plans the rule's SQL afresh: a statement prepared once keeps
// the plan DuckDB made from the statistics of the tables as they were then (empty at start), and DuckDB
// 1.5's statistics-based rewrites (compressed materialisation, statistics propagation) then give wrong
// strings and filters on the rows loaded later; the statement is prepared only to check it at start.
// May touch: the rules file (read), the targets' connections, an in-memory DB.
import { readFileSync } from "node:fs";
import { DuckDBInstance, StatementType, type DuckDBAppender, type DuckDBConnection } from "@duckdb/node-api";
import { Counter, Histogram } from "../bridge/metrics.js";
import { deviceName, type SpoolRecord } from "../bridge/records.js";
import type { Upstream } from "../bridge/upstream.js";
import { appendRows, timestampOf, type Columns } from "./duck-append.js";
import { queryResult } from "./query-result.js";
import { addRecordRows, emptyRows, SessionClock, TABLES, type Rows, type TableName } from "./rows.js";
import { parseRules, RulesError, type RuleSpec } from "./rules-file.js";
import { BridgeTarget, frameKey, logRow, MqttTarget, type ResultRow } from "./rules-targets.js";

export { RulesError } from "./rules-file.js";

export interface RulesOptions {
  log: (line: string) => void;
  /** A CONTROL frame a bridge target sends down (for one of our devices). */
  onControl?: (frame: Uint8Array) => void;
  /** A device's HELLO when the rules have not seen one since start (from the bridge's device state). */
  helloOf?: (device: number) => SpoolRecord | undefined;
  /** --ca: the CA certificate (PEM file) for mqtts:// targets, as the MQTT upstream takes it. */
  caFile?: string;
}

interface Rule extends RuleSpec {
  /** The connection whose search path is the rule's tables (schema batch, or its window's views). */
  conn: DuckDBConnection;
  /** Window rules: index into wstore.cutoff. */
  index: number;
  failed: boolean;
  running: boolean;
}

const TABLE_NAMES = Object.keys(TABLES) as TableName[];
/** Seconds; finer than the forwarding histogram's around the 10 ms a per-frame rule aims at (issue 12). */
const RULE_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Tables whose rows come and go with the batch or the window (devices and sessions are kept: they
 *  describe the devices seen since start, a device's latest HELLO replacing its row). */
const WINDOWED: TableName[] = ["summaries", "events", "status", "logs"];
const q = (name: string) => `"${name}"`;
const copyRecord = (r: SpoolRecord): SpoolRecord => ({ device: r.device, session: r.session, seq: r.seq, rx: r.rx, frame: Uint8Array.from(r.frame!) });

/** A windowed table's columns in the window store: its own, then the time the bridge received the row. */
const WINDOW_COLUMNS = Object.fromEntries(TABLE_NAMES.map((t): [TableName, Columns] => [t, [...TABLES[t].columns, { duck: "TIMESTAMPTZ" }]])) as Record<TableName, Columns>;

/** DuckDB's message with its "LINE n:" made a line of the file; the statement starts at `line`. */
function duckMessage(e: unknown, line: number): { text: string; line: number } {
  const text = (e instanceof Error ? e.message : String(e)).trim();
  const m = /^LINE (\d+):/m.exec(text);
  return { text: text.replace(/^LINE (\d+):/m, (_, n: string) => `LINE ${line + Number(n) - 1}:`), line: m ? line + Number(m[1]) - 1 : line };
}

export class RulesUpstream implements Upstream {
  readonly name = "rules";
  /** Batches in flight. The rules run over one group of batches at a time (the batch tables are shared):
   *  the batches handed over while a group is evaluated make the next group, so under load there are
   *  fewer, larger evaluations (as the spool's group commit), and a group's targets confirm while the
   *  next one is evaluated. */
  readonly pipeline = 8;
  /** A per-frame rule's row need not wait for the spool's commit (docs/store.md "Rules"). */
  readonly readsAhead = true;
  readonly window = 1000;
  readonly matched = new Counter("iotfw_bridge_rule_rows_total", "Result rows of each rule (per-frame: rows matched in a batch; window: rows of an evaluation).", "rule");
  readonly latency = new Histogram("iotfw_bridge_rule_latency_seconds", "Per-frame rules: from receipt of a frame to its result rows handed to the rule's targets (published, logged, sent to the peer), per row, by rule.", "rule", RULE_LATENCY_BUCKETS);
  readonly errors = new Counter("iotfw_bridge_rule_errors_total", "Rule evaluations that failed at run time (logged once per rule), by rule.", "rule");
  private readonly perFrame: Rule[] = [];
  private readonly windowed: Rule[] = [];
  private readonly bridges = new Map<string, BridgeTarget>();
  private readonly brokers = new Map<string, MqttTarget>();
  /** Each device's latest HELLO and the CHANNELS frames right after it (the rest of its table). */
  private readonly hellos = new Map<number, SpoolRecord[]>();
  private readonly clock = new SessionClock();
  private readonly newestSession = new Map<string, string>();
  private readonly appenders = new Map<string, DuckDBAppender>();
  /** Batch tables holding the previous batch's rows (emptied before the next). */
  private readonly filled = new Set<TableName>();
  /** The batch tables being emptied (the next batch's rows wait for it). */
  private clearing: Promise<void> | null = null;
  /** Batches already added to the window: a batch retried (a target failed) is not counted twice. */
  private readonly inWindow = new WeakSet<SpoolRecord[]>();
  private timers: NodeJS.Timeout[] = [];
  /** Evaluations in progress: close() waits for them (a while) before it closes the database. */
  private readonly busy = new Set<Promise<unknown>>();
  /** DuckDB calls in flight: close() always waits for these. A connection closed under its running
   *  query deadlocks DuckDB 1.5 (the query's end destroys the context while holding its lock), and the
   *  bridge then never exits. */
  private readonly inDuck = new Set<Promise<unknown>>();
  private batches = 0;
  /** Batches handed over while a group was being evaluated: the next group. */
  private queued: Array<{ records: SpoolRecord[]; done: (confirmed: Promise<void>) => void; fail: (e: unknown) => void }> = [];
  private evaluating = false;
  private closed = false;

  private constructor(private readonly db: DuckDBInstance, private readonly batchConn: DuckDBConnection,
    private readonly windowConn: DuckDBConnection, private readonly options: RulesOptions) {}

  /** Read, check and prepare the rules of `file`; a RulesError (file:line: DuckDB's message) if any is refused. */
  static async open(file: string, options: RulesOptions): Promise<RulesUpstream> {
    let text: string;
    try { text = readFileSync(file, "utf8"); } catch (e) {
      throw new RulesError(`--rules ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    }
    const specs = parseRules(text, file);
    const db = await DuckDBInstance.create(":memory:", { threads: "1" }); // one core is the bridge's share on a Pi
    const batchConn = await db.connect();
    const windowConn = await db.connect();
    const r = new RulesUpstream(db, batchConn, windowConn, options);
    try {
      await r.prepare(specs, file);
    } catch (e) {
      r.closeDb();
      throw e;
    }
    return r;
  }

  private async prepare(specs: RuleSpec[], file: string): Promise<void> {
    const cols = (t: TableName) => TABLES[t].columns.map((c) => `${q(c.name)} ${c.duck}`).join(", ");
    const ddl = ["CREATE SCHEMA batch", "CREATE SCHEMA wstore", "CREATE TABLE wstore.cutoff (rule INTEGER, since TIMESTAMPTZ)"];
    for (const t of TABLE_NAMES) {
      ddl.push(`CREATE TABLE batch.${t} (${cols(t)})`);
      ddl.push(`CREATE TABLE wstore.${t} (${cols(t)}${WINDOWED.includes(t) ? ", _rx TIMESTAMPTZ" : ""})`);
    }
    await this.batchConn.run(ddl.join(";\n"));
    await this.batchConn.run("SET schema = 'batch'");
    let index = 0;
    for (const spec of specs) {
      let conn = this.batchConn;
      if (spec.everyMs !== undefined) {
        // A schema per window rule whose views show its own window of wstore, with exactly the tables' columns.
        conn = await this.db.connect();
        const s = `w${index}`;
        const views = [`CREATE SCHEMA ${s}`, `INSERT INTO wstore.cutoff VALUES (${index}, NULL)`];
        for (const t of TABLE_NAMES) {
          const list = TABLES[t].columns.map((c) => q(c.name)).join(", ");
          views.push(`CREATE VIEW ${s}.${t} AS SELECT ${list} FROM wstore.${t}` +
            (WINDOWED.includes(t) ? ` WHERE _rx >= (SELECT since FROM wstore.cutoff WHERE rule = ${index})` : ""));
        }
        await this.windowConn.run(views.join(";\n"));
        await conn.run(`SET schema = '${s}'`);
      }
      let kind: StatementType;
      let names: string[];
      try {
        const stmt = await conn.prepare(spec.sql); // DuckDB parses and binds it: its message, if any, is the user's
        kind = stmt.statementType;
        names = Array.from({ length: stmt.columnCount }, (_, i) => stmt.columnName(i));
        stmt.destroySync();
      } catch (e) {
        const m = duckMessage(e, spec.line);
        throw new RulesError(`${file}:${m.line}: rule "${spec.name}" refused by DuckDB: ${m.text}`);
      }
      const where = `${file}:${spec.line}: rule "${spec.name}"`;
      if (kind !== StatementType.SELECT) throw new RulesError(`${where}: a rule is a SELECT (it reads the tables, it does not change them)`);
      // The frames of a tcp:// rule are found from their rows' key: the result must carry it.
      if (spec.targets.some((t) => t.kind === "tcp") && !["device", "session", "seq"].every((c) => names.includes(c))) {
        throw new RulesError(`${where}: a rule sending frames to a bridge (tcp://) must select device, session and seq (e.g. SELECT * FROM events ...), so the bridge knows which frames matched; it selects ${names.join(", ")}`);
      }
      const rule: Rule = { ...spec, conn, index: spec.everyMs !== undefined ? index++ : -1, failed: false, running: false };
      (spec.everyMs !== undefined ? this.windowed : this.perFrame).push(rule);
      for (const t of spec.targets) {
        if (t.kind === "tcp" && !this.bridges.has(t.url)) {
          this.bridges.set(t.url, new BridgeTarget(t.url, (f) => this.options.onControl?.(f), (d) => this.helloRecords(d)));
        } else if (t.kind === "mqtt" && !this.brokers.has(t.url)) {
          this.brokers.set(t.url, new MqttTarget(t.url, this.options.log, this.options.caFile));
        }
      }
    }
  }

  /** What a peer needs before a device's first frame on a connection: its HELLO (and CHANNELS). */
  private helloRecords(device: number): SpoolRecord[] {
    const seen = this.hellos.get(device);
    if (seen) return seen;
    const kept = this.options.helloOf?.(device);
    return kept ? [kept] : [];
  }

  /** What the rules are, for the start-up log. */
  describe(): string {
    const one = (r: Rule) => `${r.name}${r.everyMs !== undefined ? ` (every ${r.everyMs} ms over ${r.windowMs} ms)` : ""} -> ${r.targets.map((t) => t.kind === "log" ? "log" : t.kind === "mqtt" ? `${t.url.replace(/\/\/[^/@]*@/, "//")}/${t.topic}` : t.url).join(", ")}`;
    return [...this.perFrame, ...this.windowed].map(one).join("; ");
  }

  async start(): Promise<void> {
    for (const rule of this.windowed) {
      this.timers.push(setInterval(() => void this.track(this.evaluateWindow(rule)), rule.everyMs));
    }
    // Window rows past the longest window are of no rule's use any more.
    const longest = Math.max(0, ...this.windowed.map((r) => r.windowMs ?? 0));
    const every = Math.min(...this.windowed.map((r) => r.everyMs ?? Infinity));
    if (this.windowed.length) {
      this.timers.push(setInterval(() => {
        const cut = timestampOf(Date.now() - longest);
        void Promise.all(WINDOWED.map((t) => this.duck(() => this.windowConn.run(`DELETE FROM wstore.${t} WHERE _rx < $1`, [cut])))).catch((e: Error) => this.options.log(`rules: pruning the window: ${e.message}`));
      }, Math.max(1000, every)));
    }
  }

  connected(): boolean {
    return [...this.bridges.values(), ...this.brokers.values()].every((t) => t.connected());
  }

  deliver(records: SpoolRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("closed"));
    // Resolved with the group's confirmation, the promise follows it: settled when the targets confirmed.
    const p = new Promise<void>((done, fail) => { this.queued.push({ records, done, fail }); });
    void this.track(this.drain());
    return p;
  }

  /** Evaluate the queued batches as one group, and again while more came meanwhile. */
  private async drain(): Promise<void> {
    if (this.evaluating) return;
    this.evaluating = true;
    try {
      while (this.queued.length > 0 && !this.closed) {
        const group = this.queued;
        this.queued = [];
        try {
          const { confirmed } = await this.evaluateGroup(group.map((g) => g.records));
          void this.track(confirmed.catch(() => undefined));
          for (const g of group) g.done(confirmed);
        } catch (e) {
          for (const g of group) g.fail(e);
        }
      }
      for (const g of this.queued.splice(0)) g.fail(new Error("closed"));
    } finally {
      this.evaluating = false;
    }
  }

  /** Start a DuckDB call unless closing (then it rejects, and the batch is not acknowledged). */
  private duck<T>(call: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("rules: closed"));
    const p = call();
    this.inDuck.add(p);
    const done = () => { this.inDuck.delete(p); };
    p.then(done, done);
    return p;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.busy.add(p);
    const done = () => { this.busy.delete(p); };
    p.then(done, done);
    return p;
  }

  /** Run the per-frame rules over a group of batches (in spool order) and hand their rows to the targets;
   *  resolves once they are handed over, with the targets' confirmation (wrapped: awaiting a promise
   *  would wait for it). */
  private async evaluateGroup(batches: SpoolRecord[][]): Promise<{ confirmed: Promise<void> }> {
    const records = batches.length === 1 ? batches[0] : batches.flat();
    const byKey = new Map<string, SpoolRecord>();
    const rowsOfBatches: Rows[] = [];
    const newInWindow: Rows[] = [];
    for (const batch of batches) {
      const rows = emptyRows();
      for (const r of batch) {
        if (r.decoded?.type === "hello" && r.frame) {
          // A copy: the record's bytes may be a view of a whole spool segment read back from disk.
          this.hellos.set(r.device, [copyRecord(r)]);
          for (const b of this.bridges.values()) b.forget(r.device);
        } else if (r.decoded?.type === "channels" && r.frame) {
          this.hellos.get(r.device)?.push(copyRecord(r));
        }
        addRecordRows(r, this.clock, rows);
        const device = deviceName(r.device);
        this.newestSession.set(device, `${device}/${r.session}`);
        byKey.set(frameKey(device, r.session, r.seq), r);
      }
      rowsOfBatches.push(rows);
      // A batch retried (a target failed) is in the window already: its rows are not added twice.
      if (this.windowed.length && !this.inWindow.has(batch)) newInWindow.push(rows);
    }
    if (newInWindow.length) {
      await this.load("wstore", newInWindow, Date.now());
      for (const batch of batches) this.inWindow.add(batch);
    }
    if (++this.batches % 1000 === 0) this.clock.forgetAllBut(new Set(this.newestSession.values()));
    if (this.perFrame.length === 0) return { confirmed: Promise.resolve() };
    await this.load("batch", rowsOfBatches);
    const frames = new Map<BridgeTarget, Set<SpoolRecord>>();
    const sends: Array<Promise<void>> = [];
    const handed: Array<[Rule, ResultRow[]]> = [];
    for (const rule of this.perFrame) {
      const result = await this.run(rule);
      if (!result?.length) continue;
      handed.push([rule, result]);
      for (const t of rule.targets) {
        if (t.kind === "tcp") {
          const b = this.bridges.get(t.url)!;
          let set = frames.get(b);
          if (!set) frames.set(b, (set = new Set()));
          // A frame another bridge sent here is not sent on (two peers never echo each other's) unless the rule relays.
          for (const row of result) { const r = byKey.get(frameKey(row.device, row.session, row.seq)); if (r && (rule.relay || !r.relayed)) set.add(r); }
        } else if (t.kind === "mqtt") {
          sends.push(this.brokers.get(t.url)!.publish(t.topic, result));
        } else {
          for (const row of result) logRow(this.options.log, rule.name, row);
        }
      }
    }
    // Each bridge gets the matched frames in spool order, once even when several rules matched them.
    for (const [b, set] of frames) sends.push(b.send(records.filter((r) => set.has(r))));
    const now = Date.now();
    for (const [rule, rows] of handed) {
      // A row without the frame's key (a rule selecting other columns) is timed from the group's first frame.
      for (const row of rows) this.latency.observe(rule.name, Math.max(0, now - (byKey.get(frameKey(row.device, row.session, row.seq))?.rx ?? records[0].rx)) / 1000);
    }
    // The batch tables are emptied while the targets confirm (one round trip less on a frame's way).
    sends.push(this.clearBatch());
    // A target that fails rejects: the forwarder retries the group's batches (nothing lost).
    return { confirmed: Promise.all(sends).then(() => undefined) };
  }

  /** Empty the batch tables the last batch filled, in one call. */
  private clearBatch(): Promise<void> {
    if (this.clearing) return this.clearing;
    if (this.filled.size === 0) return Promise.resolve();
    const tables = [...this.filled];
    this.clearing = this.duck(() => this.batchConn.run(tables.map((t) => `DELETE FROM batch.${t}`).join("; "))).then(() => {
      for (const t of tables) this.filled.delete(t);
    }).finally(() => { this.clearing = null; });
    return this.clearing;
  }

  /** Replace the batch tables' rows (schema batch), or add to the window (wstore, with their receive time). */
  private async load(schema: "batch" | "wstore", parts: Rows[], rx?: number): Promise<void> {
    const conn = schema === "batch" ? this.batchConn : this.windowConn;
    if (schema === "batch") await this.clearBatch(); // normally done already, after the last group's rules
    const hellos = new Set(parts.flatMap((rows) => rows.devices.map((r) => String(r[0]))));
    if (hellos.size) {
      const ids = [...hellos].map((d) => `'${d.replace(/'/g, "''")}'`).join(", ");
      await this.duck(() => conn.run(`DELETE FROM ${schema}.devices WHERE device IN (${ids})`)); // a device's latest hello replaces its row
    }
    for (const t of TABLE_NAMES) {
      if (parts.every((rows) => rows[t].length === 0)) continue;
      const key = `${schema}.${t}`;
      let a = this.appenders.get(key);
      if (!a) this.appenders.set(key, (a = await this.duck(() => conn.createAppender(t, schema))));
      const rows = parts.length === 1 ? parts[0][t] : parts.flatMap((p) => p[t]);
      if (rx !== undefined && WINDOWED.includes(t)) appendRows(a, WINDOW_COLUMNS[t], rows.map((r) => [...r, rx]));
      else appendRows(a, TABLES[t].columns, rows);
      a.flushSync();
      if (schema === "batch" && WINDOWED.includes(t)) this.filled.add(t);
    }
  }

  /** A rule's result rows as JSON-safe objects (as `iotfw query --json` prints them: timestamps ISO-8601,
   *  integers as numbers); null when it failed (counted, logged the first time). */
  private async run(rule: Rule): Promise<ResultRow[] | null> {
    try {
      const r = queryResult(await this.duck(() => rule.conn.runAndReadAll(rule.sql)), Number.MAX_SAFE_INTEGER);
      const rows = r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])) as ResultRow);
      if (rows.length) this.matched.inc(rule.name, rows.length);
      return rows;
    } catch (e) {
      if (this.closed) throw e; // stopping: the batch is not acknowledged, not a failure of the rule
      this.errors.inc(rule.name);
      if (!rule.failed) {
        rule.failed = true;
        this.options.log(`rule ${rule.name} (line ${rule.line}) failed: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]} (counted in iotfw_bridge_rule_errors_total; logged once)`);
      }
      return null;
    }
  }

  private async evaluateWindow(rule: Rule): Promise<void> {
    if (rule.running || this.closed) return; // the last evaluation is still publishing
    rule.running = true;
    try {
      await this.duck(() => this.windowConn.run("UPDATE wstore.cutoff SET since = $1 WHERE rule = $2", [timestampOf(Date.now() - rule.windowMs!), rule.index]));
      const result = await this.run(rule);
      if (!result?.length) return;
      await Promise.all(rule.targets.map(async (t) => {
        if (t.kind === "mqtt") await this.brokers.get(t.url)!.publish(t.topic, result);
        else if (t.kind === "log") for (const row of result) logRow(this.options.log, rule.name, row);
      }));
    } catch (e) {
      if (this.closed) return;
      this.errors.inc(rule.name);
      if (!rule.failed) { rule.failed = true; this.options.log(`rule ${rule.name}: ${(e as Error).message} (logged once)`); }
    } finally {
      rule.running = false;
    }
  }

  private closeDb(): void {
    for (const a of this.appenders.values()) try { a.closeSync(); } catch { /* closing anyway */ }
    this.appenders.clear();
    for (const c of new Set([this.batchConn, this.windowConn, ...this.windowed.map((r) => r.conn)])) try { c.closeSync(); } catch { /* closing anyway */ }
    try { this.db.closeSync(); } catch { /* closing anyway */ }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    // Targets first (a batch waiting for a peer's ack then fails at once), then what was running, then the DB.
    const targets = Promise.all([...this.bridges.values(), ...this.brokers.values()].map((t) => t.close().catch(() => undefined)));
    await Promise.race([Promise.allSettled([...this.busy]), new Promise((r) => setTimeout(r, 2000).unref())]);
    await targets;
    while (this.inDuck.size) await Promise.allSettled([...this.inDuck]);
    this.closeDb();
  }
}
