// The bridge's durable spool (docs/bridge.md "Spool"): an append-only log of records in segment files
// plus a checkpoint file with each upstream's delivered position. A record is appended, written and
// fdatasync'ed in a group commit before append() (or, for many at once, add() then durable()) resolves:
// only then is it "accepted" and visible to the upstream readers, which read it in order (from memory
// while it is recent, else from disk) and acknowledge it once their upstream confirmed it. Bounded: past maxBytes the oldest segment is
// deleted, delivered or not (drop-oldest; counted). Written by hand: an append-only log with a checkpoint
// is ~300 lines and no small, maintained npm package fits (see docs/bridge.md).
// May touch: files inside its directory only.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";

export interface SpoolOptions {
  /** Bound on the bytes of all segments (default 256 MiB). Past it the oldest segment is deleted. */
  maxBytes?: number;
  /** A segment is closed and a new one started past this size (default 4 MiB). */
  segmentBytes?: number;
  /** Minimum ms between group commits (default 0: the next commit starts when the last one ends). */
  commitIntervalMs?: number;
  /** Newest records kept in memory for the readers (default 20,000); older ones are read from disk. */
  memoryRecords?: number;
  /** Names of the readers (one per upstream), each with its own delivered position. */
  readers: string[];
}

export interface SpoolEntry {
  index: number;
  body: Buffer;
  /** What the caller appended it from, while the entry is in memory (saves decoding the body again). */
  value?: unknown;
}

export interface SpoolStats {
  appended: number;
  /** Records deleted by the size bound before every reader had them. */
  dropped: number;
  /** Records or segment tails found corrupt or torn at start (a crash mid-write) and cut off. */
  tornRecords: number;
  bytes: number;
  segments: number;
}

interface Deferred { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void }
/** The records of the next group commit, their size with heads, and who waits for it. */
interface PendingCommit { entries: SpoolEntry[]; bytes: number; done: Deferred | null }

function deferred(): Deferred {
  const d = {} as Deferred;
  d.promise = new Promise<void>((resolve, reject) => { d.resolve = resolve; d.reject = reject; });
  d.promise.catch(() => undefined); // the waiter handles it; never an unhandled rejection
  return d;
}

interface Segment { first: number; last: number; size: number; path: string }
interface Reader { acked: number; next: number; wake?: () => void }

const RECORD_HEAD = 8; // u32 LE body length, u32 LE CRC-32 of the body
const SEGMENT_RE = /^seg-(\d{16})\.log$/;
const CHECKPOINT = "checkpoint.json";

export class Spool {
  readonly stats: SpoolStats = { appended: 0, dropped: 0, tornRecords: 0, bytes: 0, segments: 0 };
  private segments: Segment[] = [];
  private fh: FileHandle | null = null;
  private nextIndex = 0;
  /** Index after the last record on disk. */
  private durableEnd = 0;
  private readonly readers = new Map<string, Reader>();
  private memory: SpoolEntry[] = [];
  private pending: PendingCommit = { entries: [], bytes: 0, done: null };
  /** The commit being written now. */
  private writing: PendingCommit | null = null;
  /** Settled when the last commit finished (what durable() returns when nothing is pending). */
  private lastCommit: Promise<void> = Promise.resolve();
  private committing = false;
  /** Set when a write failed; every later append is refused with it. */
  failure: Error | null = null;
  private closed = false;
  private checkpointDirty = false;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private checkpointing: Promise<void> | null = null;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly commitIntervalMs: number;
  private readonly memoryRecords: number;

  private constructor(readonly dir: string, options: SpoolOptions) {
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.commitIntervalMs = options.commitIntervalMs ?? 0;
    this.memoryRecords = options.memoryRecords ?? 20_000;
    for (const name of options.readers) this.readers.set(name, { acked: -1, next: 0 });
  }

  /** Open (or create) the spool in `dir`. Every record still on disk is passed to `onRecord`, oldest
   *  first, so the caller can rebuild state (de-duplication) from it. */
  static async open(dir: string, options: SpoolOptions, onRecord?: (entry: SpoolEntry) => void): Promise<Spool> {
    const spool = new Spool(dir, options);
    mkdirSync(dir, { recursive: true });
    spool.load(onRecord);
    return spool;
  }

  private load(onRecord?: (entry: SpoolEntry) => void): void {
    let checkpoint: { nextIndex?: number; acked?: Record<string, number> } = {};
    try { checkpoint = JSON.parse(readFileSync(join(this.dir, CHECKPOINT), "utf8")); } catch { /* first start, or never written */ }
    const names = readdirSync(this.dir).filter((n) => SEGMENT_RE.test(n)).sort();
    let expected = -1;
    for (const name of names) {
      const first = Number(SEGMENT_RE.exec(name)![1]);
      const path = join(this.dir, name);
      const data = readFileSync(path);
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
      if (offset < data.length) { // torn tail (crash mid-write) or corruption: cut it off
        this.stats.tornRecords++;
        truncateSync(path, offset);
      }
      if (index === first) { unlinkSync(path); continue; }
      this.segments.push({ first, last: index - 1, size: offset, path });
      this.stats.bytes += offset;
      expected = index;
    }
    this.nextIndex = Math.max(expected, checkpoint.nextIndex ?? 0, 0);
    this.durableEnd = this.nextIndex;
    const oldest = this.segments.length ? this.segments[0].first : this.nextIndex;
    for (const [name, reader] of this.readers) {
      const acked = checkpoint.acked?.[name];
      // A new reader (no checkpoint entry) starts at what is on disk now.
      reader.acked = Math.max(typeof acked === "number" ? acked : oldest - 1, oldest - 1);
      reader.next = reader.acked + 1;
    }
    this.stats.segments = this.segments.length;
  }

  /** The index the next append() will get. */
  get nextIndexValue(): number {
    return this.nextIndex;
  }

  /** Records appended and not yet acknowledged by every reader. */
  get depth(): number {
    let min = this.nextIndex - 1;
    for (const r of this.readers.values()) min = Math.min(min, r.acked);
    return this.nextIndex - 1 - min;
  }

  /** Append a record; resolves with its index once it is on disk (accepted). */
  append(body: Buffer, value?: unknown): Promise<number> {
    let index: number;
    try { index = this.add(body, value); } catch (e) { return Promise.reject(e); }
    return this.durable().then(() => index);
  }

  /** Append a record to the next group commit and return its index at once; it is accepted only when
   *  durable() resolves. Throws if the spool is closed or failed. No promise per record: at tens of
   *  thousands of records a second, one per commit is what the caller waits on. */
  add(body: Buffer, value?: unknown): number {
    if (this.closed) throw new Error("spool is closed");
    if (this.failure) throw this.failure;
    const index = this.nextIndex++;
    this.pending.entries.push({ index, body, value });
    this.pending.bytes += RECORD_HEAD + body.length;
    if (!this.committing) {
      // Start after the caller's current burst (e.g. every frame of one TCP read) has been added, so it
      // goes to disk in one commit rather than its first record alone.
      this.committing = true;
      queueMicrotask(() => void this.commitLoop());
    }
    return index;
  }

  /** Resolves when every record added so far is on disk; rejects with the write error if their commit
   *  failed. */
  durable(): Promise<void> {
    const batch = this.pending.entries.length > 0 ? this.pending : this.writing;
    return batch ? (batch.done ??= deferred()).promise : this.lastCommit;
  }

  private async commitLoop(): Promise<void> {
    try {
      while (this.pending.entries.length > 0) {
        const started = Date.now();
        const batch = this.pending;
        this.pending = { entries: [], bytes: 0, done: null };
        this.writing = batch;
        try {
          await this.writeDurably(batch.entries, this.serialize(batch));
        } catch (e) {
          this.writing = null;
          // A failed write (disk full, I/O error) leaves the log's numbering unknown: refuse from now on
          // rather than write records whose index would be wrong. /health reports it.
          this.failure = e instanceof Error ? e : new Error(String(e));
          this.lastCommit = Promise.reject(this.failure);
          this.lastCommit.catch(() => undefined);
          batch.done?.reject(this.failure);
          this.pending.done?.reject(this.failure);
          this.pending = { entries: [], bytes: 0, done: null };
          break;
        }
        this.writing = null;
        this.stats.appended += batch.entries.length;
        this.durableEnd = batch.entries[batch.entries.length - 1].index + 1;
        for (const e of batch.entries) this.memory.push(e);
        if (this.memory.length > this.memoryRecords * 1.25) this.memory.splice(0, this.memory.length - this.memoryRecords);
        this.enforceBound();
        batch.done?.resolve();
        for (const r of this.readers.values()) r.wake?.();
        const wait = this.commitIntervalMs - (Date.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      this.committing = false;
    }
  }

  /** One buffer for one write: each record's head (length, CRC-32 of the body), then the body. */
  private serialize(batch: PendingCommit): Buffer {
    const data = Buffer.allocUnsafe(batch.bytes);
    let at = 0;
    for (const e of batch.entries) {
      data.writeUInt32LE(e.body.length, at);
      data.writeUInt32LE(crc32(e.body) >>> 0, at + 4);
      e.body.copy(data, at + RECORD_HEAD);
      at += RECORD_HEAD + e.body.length;
    }
    return data;
  }

  private async writeDurably(entries: SpoolEntry[], data: Buffer): Promise<void> {
    let seg = this.segments.at(-1);
    if (!this.fh || !seg || (seg.size > 0 && seg.size + data.length > this.segmentBytes)) {
      await this.fh?.close();
      const first = entries[0].index;
      const path = join(this.dir, `seg-${String(first).padStart(16, "0")}.log`);
      this.fh = await open(path, "a");
      seg = { first, last: first - 1, size: 0, path };
      this.segments.push(seg);
      this.stats.segments = this.segments.length;
    }
    await this.fh.write(data);
    await this.fh.datasync();
    seg.size += data.length;
    seg.last = entries[entries.length - 1].index;
    this.stats.bytes += data.length;
  }

  /** Drop-oldest: delete whole segments (never the one being written) while over the bound. */
  private enforceBound(): void {
    while (this.stats.bytes > this.maxBytes && this.segments.length > 1) {
      const seg = this.segments.shift()!;
      let minAcked = Infinity;
      for (const r of this.readers.values()) minAcked = Math.min(minAcked, r.acked);
      this.stats.dropped += Math.max(0, seg.last - Math.max(minAcked, seg.first - 1));
      for (const r of this.readers.values()) {
        r.acked = Math.max(r.acked, seg.last);
        r.next = Math.max(r.next, seg.last + 1);
      }
      this.stats.bytes -= seg.size;
      try { unlinkSync(seg.path); } catch { /* already gone */ }
      this.checkpointDirty = true;
    }
    this.stats.segments = this.segments.length;
  }

  /** The next records for `reader` after those it was given, up to `max`; waits until there is one
   *  (or the spool closes: then []). */
  async next(readerName: string, max: number): Promise<SpoolEntry[]> {
    const reader = this.reader(readerName);
    while (!this.closed && reader.next >= this.durableEnd) {
      await new Promise<void>((resolve) => { reader.wake = resolve; });
      reader.wake = undefined;
    }
    if (this.closed) return [];
    const from = reader.next;
    const entries = this.read(from, max);
    if (entries.length) {
      reader.next = entries[entries.length - 1].index + 1;
      this.forgetRead();
    }
    return entries;
  }

  /** Drop from memory what every reader has been given: readers only move forward (a retried batch is
   *  kept by its forwarder), and entries dropped young cost the garbage collector little. */
  private forgetRead(): void {
    if (this.memory.length === 0) return;
    let minNext = Infinity;
    for (const r of this.readers.values()) minNext = Math.min(minNext, r.next);
    const done = Math.min(minNext - this.memory[0].index, this.memory.length);
    if (done >= 256 || (done > 0 && done === this.memory.length)) this.memory.splice(0, done);
  }

  private read(from: number, max: number): SpoolEntry[] {
    const end = Math.min(this.durableEnd, from + max);
    const memStart = this.memory.length ? this.memory[0].index : Infinity;
    if (from >= memStart) return this.memory.slice(from - memStart, end - memStart);
    const seg = this.segments.find((s) => s.last >= from);
    if (!seg) return [];
    const out: SpoolEntry[] = [];
    const data = readFileSync(seg.path);
    let offset = 0;
    for (let index = seg.first; offset + RECORD_HEAD <= seg.size && index < end; index++) {
      const length = data.readUInt32LE(offset);
      if (index >= from) out.push({ index, body: Buffer.from(data.subarray(offset + RECORD_HEAD, offset + RECORD_HEAD + length)) });
      offset += RECORD_HEAD + length;
    }
    return out;
  }

  /** `reader`'s upstream confirmed every record up to and including `index`. */
  ack(readerName: string, index: number): void {
    const reader = this.reader(readerName);
    if (index <= reader.acked) return;
    reader.acked = index;
    this.checkpointDirty = true;
    this.checkpointTimer ??= setTimeout(() => { this.checkpointTimer = null; void this.writeCheckpointAsync(); }, 100);
    // Delete segments every reader is done with, keeping the newest two for de-duplication at restart.
    let minAcked = Infinity;
    for (const r of this.readers.values()) minAcked = Math.min(minAcked, r.acked);
    while (this.segments.length > 2 && this.segments[0].last <= minAcked) {
      const seg = this.segments.shift()!;
      this.stats.bytes -= seg.size;
      try { unlinkSync(seg.path); } catch { /* already gone */ }
    }
    this.stats.segments = this.segments.length;
  }

  private checkpointText(): string {
    const acked: Record<string, number> = {};
    for (const [name, r] of this.readers) acked[name] = r.acked;
    return JSON.stringify({ nextIndex: this.durableEnd, acked });
  }

  /** Write the readers' positions durably (temp file, fsync, rename); at close. */
  writeCheckpoint(): void {
    if (!this.checkpointDirty) return;
    this.checkpointDirty = false;
    const tmp = join(this.dir, `${CHECKPOINT}.tmp`);
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, this.checkpointText());
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, CHECKPOINT));
  }

  /** The same while running, without blocking the event loop on the fsync (every 100 ms at most; one
   *  at a time, so close() waits for it before writing its own). */
  private async writeCheckpointAsync(): Promise<void> {
    if (!this.checkpointDirty || this.checkpointing || this.closed) return;
    this.checkpointDirty = false;
    const tmp = join(this.dir, `${CHECKPOINT}.tmp`);
    this.checkpointing = (async () => {
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(this.checkpointText());
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, CHECKPOINT));
    })().catch(() => { this.checkpointDirty = true; }); // written again with the next ack or at close
    await this.checkpointing;
    this.checkpointing = null;
  }

  private reader(name: string): Reader {
    const r = this.readers.get(name);
    if (!r) throw new Error(`no spool reader ${name}`);
    return r;
  }

  /** Finish pending commits, write the checkpoint, release the readers. */
  async close(): Promise<void> {
    while (this.committing || this.pending.entries.length) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    await this.checkpointing;
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    this.writeCheckpoint();
    for (const r of this.readers.values()) r.wake?.();
    await this.fh?.close();
    this.fh = null;
  }
}

/** Size of a directory's spool segments, for tests and /metrics. */
export function spoolDiskBytes(dir: string): number {
  return readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
}
