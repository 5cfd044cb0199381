// Rows of host/store/rows.ts into a DuckDB appender: a data chunk at a time (a typed vector per column,
// one native call per chunk) when there are many, a native call per value when few. Measured for the
// events table here: a chunk costs ~140 us of its own, then ~0.9 us a row; a value at a time ~1.7 us a
// row; the same at ~100 rows (a rule's group is ~50, the edge store's hundreds to thousands). The one place a row's JavaScript values become DuckDB values: the edge store's staging tables
// and the rules' batch and window tables (host/store/edge-store.ts, host/store/rules.ts) use it.
// Touches only the appender it is given (no flush: the caller decides when).
import {
  BIGINT, BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, TIMESTAMPTZ, timestampTZValue, VARCHAR,
  type DuckDBAppender, type DuckDBType, type DuckDBValue,
} from "@duckdb/node-api";
import type { Row } from "./rows.js";

/** A column by its DuckDB type name (host/store/rows.ts's `duck`). */
export type Columns = ReadonlyArray<{ duck: string }>;

/** Rows in one data chunk at most: DuckDB's vector size (STANDARD_VECTOR_SIZE). */
const MAX_CHUNK = 2048;
/** Fewer rows than this are appended a value at a time (above). */
const CHUNK_FROM = 100;

/** A column as DuckDB takes it: its type, a row's value made a value of that type, and that value
 *  appended on its own. */
interface Put { type: DuckDBType; value: (v: NonNullable<Row[number]>) => DuckDBValue; append: (a: DuckDBAppender, v: NonNullable<Row[number]>) => void }
/** A TIMESTAMPTZ value (microseconds) of a Date or of wall-clock ms. */
export const timestampOf = (v: Date | number | string | boolean) => timestampTZValue(BigInt(Math.round((v instanceof Date ? v.getTime() : Number(v)) * 1000)));
const PUTS: Record<string, Put> = {
  VARCHAR: { type: VARCHAR, value: (v) => String(v), append: (a, v) => a.appendVarchar(String(v)) },
  BIGINT: { type: BIGINT, value: (v) => BigInt(Math.trunc(Number(v))), append: (a, v) => a.appendBigInt(BigInt(Math.trunc(Number(v)))) },
  INTEGER: { type: INTEGER, value: (v) => Math.trunc(Number(v)) | 0, append: (a, v) => a.appendInteger(Math.trunc(Number(v)) | 0) },
  DOUBLE: { type: DOUBLE, value: (v) => Number(v), append: (a, v) => a.appendDouble(Number(v)) },
  BOOLEAN: { type: BOOLEAN, value: (v) => Boolean(v), append: (a, v) => a.appendBoolean(Boolean(v)) },
  TIMESTAMPTZ: { type: TIMESTAMPTZ, value: timestampOf, append: (a, v) => a.appendTimestampTZ(timestampOf(v)) },
};

const putsOf = new WeakMap<Columns, Put[]>();
function puts(columns: Columns): Put[] {
  let p = putsOf.get(columns);
  if (!p) {
    p = columns.map((c) => {
      const put = PUTS[c.duck];
      if (!put) throw new Error(`no DuckDB value for a column of type ${c.duck}`);
      return put;
    });
    putsOf.set(columns, p);
  }
  return p;
}

/** Append rows[start .. start + n) (n <= 2,048): as one data chunk, or a value at a time if few;
 *  null and undefined are NULL. */
export function appendChunk(a: DuckDBAppender, columns: Columns, rows: readonly Row[], start = 0, n = rows.length - start): void {
  const p = puts(columns);
  if (n < CHUNK_FROM) {
    for (let i = start; i < start + n; i++) {
      const row = rows[i];
      for (let c = 0; c < p.length; c++) {
        const v = row[c];
        if (v === null || v === undefined) a.appendNull(); else p[c].append(a, v);
      }
      a.endRow();
    }
    return;
  }
  const chunk = DuckDBDataChunk.create(p.map((x) => x.type), n);
  for (let c = 0; c < p.length; c++) {
    const vector = chunk.getColumnVector(c);
    const value = p[c].value;
    for (let i = 0; i < n; i++) {
      const v = rows[start + i][c];
      vector.setItem(i, v === null || v === undefined ? null : value(v));
    }
    vector.flush();
  }
  a.appendDataChunk(chunk);
}

/** Append all of `rows`, in chunks of at most 2,048. */
export function appendRows(a: DuckDBAppender, columns: Columns, rows: readonly Row[]): void {
  for (let start = 0; start < rows.length; start += MAX_CHUNK) appendChunk(a, columns, rows, start, Math.min(MAX_CHUNK, rows.length - start));
}
