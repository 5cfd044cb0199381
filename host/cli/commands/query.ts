// `iotfw query`: SQL over the edge store (docs/store.md "Querying"): `--store DIR` opens the DuckDB file
// read-only, `--bridge http://host:7601` asks a running bridge through its token-protected POST /query
// (the token from --token or <spool>/ctl.json, as `iotfw ctl` finds it). Prints an aligned table, or
// --json (one array) / --csv. Only reads are answered. May touch: reads DIR/store.duckdb and ctl.json.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { DEFAULT_SPOOL_DIR } from "../bridge-defaults.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";
import { CliError } from "../errors.js";
import type { QueryResult } from "../../store/query-result.js";

interface QueryFlags { store?: string; bridge?: string; token?: string; spool: string; json?: boolean; csv?: boolean; limit: string }

export function register(program: Command): void {
  program
    .command("query")
    .description(COMMAND_SUMMARIES.query.summary)
    .argument("<sql>", "one SELECT statement over devices, summaries, events, status, logs, sessions (docs/store.md)")
    .option("--store <dir>", "the store directory a bridge's --store wrote (opened read-only)")
    .option("--bridge <url>", "a running bridge's HTTP API, e.g. http://127.0.0.1:7601")
    .option("--token <token>", "with --bridge: its control token (default: from <spool>/ctl.json)")
    .option("--spool <dir>", "with --bridge and no --token: the bridge's spool directory, whose ctl.json has the token", DEFAULT_SPOOL_DIR)
    .option("--json", "print one JSON array of row objects")
    .option("--csv", "print CSV (RFC 4180)")
    .option("--limit <n>", "at most this many rows", "10000")
    .action(async (sql: string, flags: QueryFlags) => {
      if (!flags.store === !flags.bridge) throw new CliError("give either --store <dir> or --bridge http://host:port");
      if (flags.json && flags.csv) throw new CliError("give --json or --csv, not both");
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new CliError(`--limit takes a positive whole number, not "${flags.limit}"`);
      const result = flags.store ? await fromStore(flags.store, sql, limit) : await fromBridge(flags, sql, limit);
      const { formatCsv, formatJson, formatTable } = await import("../../store/query-result.js");
      process.stdout.write(flags.json ? formatJson(result) : flags.csv ? formatCsv(result) : formatTable(result));
    });
}

async function fromStore(dir: string, sql: string, limit: number): Promise<QueryResult> {
  const [{ DuckDBInstance }, { STORE_FILE, StoreError, readOnlyQuery, storeOpenError }, { existsSync }] = await Promise.all([
    import("@duckdb/node-api"), import("../../store/edge-store.js"), import("node:fs"),
  ]);
  const path = join(dir, STORE_FILE);
  if (!existsSync(path)) throw new CliError(`no store at ${path} (a bridge started with --store ${dir} makes it)`);
  let instance;
  try {
    instance = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  } catch (e) {
    throw new CliError(`--store ${dir}: ${storeOpenError(e)}`);
  }
  const conn = await instance.connect();
  try {
    return await readOnlyQuery(conn, sql, limit);
  } catch (e) {
    if (e instanceof StoreError) throw new CliError(e.message);
    throw new CliError((e instanceof Error ? e.message : String(e)).trim()); // DuckDB's own message (parser, binder, ...)
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function fromBridge(flags: QueryFlags, sql: string, limit: number): Promise<QueryResult> {
  let token = flags.token;
  if (!token) {
    const file = join(flags.spool, "ctl.json");
    try { token = (JSON.parse(readFileSync(file, "utf8")) as { token?: string }).token; } catch {
      throw new CliError(`no token: give --token, or --spool of the bridge (cannot read ${file})`);
    }
  }
  let res: Response;
  try {
    res = await fetch(`${flags.bridge!.replace(/\/+$/, "")}/query`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ sql, limit }), signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    throw new CliError(`cannot reach the bridge at ${flags.bridge}: ${e instanceof Error ? (e.cause as Error | undefined)?.message ?? e.message : String(e)}`);
  }
  const body = (await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }))) as { ok?: boolean; error?: string } & Partial<QueryResult>;
  if (!res.ok || body.ok !== true) throw new CliError(`the bridge answered ${res.status}: ${body.error ?? "no reason given"}`);
  return { columns: body.columns!, types: body.types!, rows: body.rows!, truncated: body.truncated === true };
}
