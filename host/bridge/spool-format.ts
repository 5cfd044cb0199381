// The spool's segment files on disk (docs/bridge.md "Spool", format): records `u32 LE body length,
// u32 LE CRC-32 of the body, body`, in files named after the index of their first record. Encoding a
// group commit, loading the segments at start (a torn tail cut off), reading records back.
// May touch: the segment files of the directory it is given (loadSegments truncates torn tails and
// removes empty segments).
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";

export const RECORD_HEAD = 8;
export const SEGMENT_RE = /^seg-(\d{16})\.log$/;

export interface SegmentEntry { index: number; body: Buffer }
/** A segment file: its first and last record index and its size (whole records only). */
export interface Segment { first: number; last: number; size: number; path: string }

export function segmentName(first: number): string {
  return `seg-${String(first).padStart(16, "0")}.log`;
}

/** One buffer for one write: each record's head (length, CRC-32 of the body), then the body. */
export function serializeRecords(entries: readonly { body: Buffer }[], bytes: number): Buffer {
  const data = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const e of entries) {
    data.writeUInt32LE(e.body.length, at);
    data.writeUInt32LE(crc32(e.body) >>> 0, at + 4);
    e.body.copy(data, at + RECORD_HEAD);
    at += RECORD_HEAD + e.body.length;
  }
  return data;
}

/** The whole records at the start of a segment's `data` (numbered from `first`), passed to
 *  `onRecord`; returns where they end (anything after is torn or corrupt) and the index after them. */
export function scanSegment(data: Buffer, first: number, onRecord?: (entry: SegmentEntry) => void): { end: number; next: number } {
  let offset = 0;
  let index = first;
  while (offset + RECORD_HEAD <= data.length) {
    const length = data.readUInt32LE(offset);
    const end = offset + RECORD_HEAD + length;
    if (end > data.length || (crc32(data.subarray(offset + RECORD_HEAD, end)) >>> 0) !== data.readUInt32LE(offset + 4)) break;
    onRecord?.({ index, body: data.subarray(offset + RECORD_HEAD, end) });
    offset = end;
    index++;
  }
  return { end: offset, next: index };
}

/** The segments in `dir`, oldest first, every record passed to `onRecord`. A torn tail (a crash
 *  mid-write) or corruption is cut off and counted; an empty segment is removed. `next`: the index after
 *  the last record (-1 if none). */
export function loadSegments(dir: string, onRecord?: (entry: SegmentEntry) => void): { segments: Segment[]; torn: number; next: number } {
  const segments: Segment[] = [];
  let torn = 0;
  let next = -1;
  for (const name of readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).sort()) {
    const first = Number(SEGMENT_RE.exec(name)![1]);
    const path = join(dir, name);
    const data = readFileSync(path);
    const { end, next: after } = scanSegment(data, first, onRecord);
    if (end < data.length) {
      torn++;
      truncateSync(path, end);
    }
    if (after === first) { unlinkSync(path); continue; }
    segments.push({ first, last: after - 1, size: end, path });
    next = after;
  }
  return { segments, torn, next };
}

/** Records `from` <= index < `end` of a segment whose first record is `first` (its first `size` bytes
 *  are whole records), each body copied out of `data`. */
export function readRecords(data: Buffer, first: number, size: number, from: number, end: number): SegmentEntry[] {
  const out: SegmentEntry[] = [];
  let offset = 0;
  for (let index = first; offset + RECORD_HEAD <= size && index < end; index++) {
    const length = data.readUInt32LE(offset);
    if (index >= from) out.push({ index, body: Buffer.from(data.subarray(offset + RECORD_HEAD, offset + RECORD_HEAD + length)) });
    offset += RECORD_HEAD + length;
  }
  return out;
}

/** Size of a directory's spool segments, for tests and /metrics. */
export function spoolDiskBytes(dir: string): number {
  return readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
}
