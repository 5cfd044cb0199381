// A query's answer, the one shape `iotfw query` prints and the bridge's POST /query sends: column names
// and types, rows as JSON values (timestamps ISO-8601 UTC, big integers as numbers when exact, else
// strings), and whether rows were cut at the limit; and its three printed forms (aligned table, JSON, CSV
// as RFC 4180 quotes it). Pure.
import type { DuckDBResultReader } from "@duckdb/node-api";

export type Cell = string | number | boolean | null;
export interface QueryResult { columns: string[]; types: string[]; rows: Cell[][]; truncated: boolean }

function cell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

export function queryResult(reader: DuckDBResultReader, maxRows: number): QueryResult {
  const types = reader.columnTypes().map((t) => t.toString());
  const json = reader.getRowsJson(); // DuckDB's own text for what JS has no type for (intervals, decimals)
  const js = reader.getRowsJS();
  const rows = js.slice(0, maxRows).map((row, i) => row.map((v, c) => {
    // Timestamps come as Date (ms): ISO-8601 UTC. Values JS cannot hold keep DuckDB's text.
    if (v instanceof Date || typeof v === "number" || typeof v === "bigint" || typeof v === "string" || typeof v === "boolean" || v === null) return cell(v);
    return cell(json[i][c]);
  }));
  return { columns: reader.columnNames(), types, rows, truncated: js.length > maxRows };
}

const text = (v: Cell): string => (v === null ? "NULL" : typeof v === "number" ? String(v) : String(v));
const numeric = (type: string) => /INT|DOUBLE|FLOAT|DECIMAL|REAL|HUGEINT/.test(type);

/** Columns padded to their widest value, numbers right-aligned, a rule under the header, a row count. */
export function formatTable(r: QueryResult): string {
  const cells = r.rows.map((row) => row.map(text));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => (numeric(r.types[i] ?? "") ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join("  ").trimEnd();
  const out = [line(r.columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)];
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? "" : "s"}${r.truncated ? ", cut at the row limit" : ""})`);
  return out.join("\n") + "\n";
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; CRLF line ends. */
export function formatCsv(r: QueryResult): string {
  const field = (v: Cell) => {
    const s = v === null ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [r.columns, ...r.rows].map((row) => row.map((v) => field(v as Cell)).join(",")).join("\r\n") + "\r\n";
}

/** One JSON array of objects keyed by column name. */
export function formatJson(r: QueryResult): string {
  return JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])))) + "\n";
}
