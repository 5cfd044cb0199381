// The bridge's durable spool (docs/bridge.md "Spool"): an append-only log of records in segment files
// plus a checkpoint file with each upstream's delivered position. A record is appended, written and
// fdatasync'ed in a group commit before append() (or, for many at once, add() then durable()) resolves:
// only then is it "accepted" and visible to the upstream readers, which read it in order (from memory
// while it is recent, else from disk) and acknowledge it once their upstream confirmed it. Bounded: before
// a write would take the segments past maxBytes the oldest segment is deleted, delivered or not
// (drop-oldest; counted). A failed write (disk full) refuses appends until a probe finds the disk
// writable again (spool-disk.ts; backoff), it is a state, not the end. Written by hand: an append-only
// log with a checkpoint is ~300 lines and no small, maintained npm package fits (see docs/bridge.md).
// Beside it: spool-format.ts (the files), spool-disk.ts (full disk), spool-checkpoint.ts, spool-recent.ts.
// May touch: files inside its directory only.
import { mkdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Checkpoint } from "./spool-checkpoint.js";
import { CHECKPOINT, failureReason, MIN_SPOOL_BYTES, removeStaleTemps, RESERVE_BYTES, reserveSync, segmentBytesFor, WriteFailure } from "./spool-disk.js";
import { loadSegments, readRecords, RECORD_HEAD, segmentName, serializeRecords, type Segment } from "./spool-format.js";
import { RecentRecords } from "./spool-recent.js";

export { MIN_SPOOL_BYTES } from "./spool-disk.js";
export { spoolDiskBytes } from "./spool-format.js";

export interface SpoolOptions {
  /** Bound on the bytes of all segments plus the 16 KiB reserve (default 256 MiB, at least
   *  MIN_SPOOL_BYTES). A write that would pass it deletes the oldest segment first. */
  maxBytes?: number;
  /** A segment is closed and a new one started past this size (default a quarter of maxBytes after
   *  the reserve, at most 4 MiB: spool-disk.ts segmentBytesFor). */
  segmentBytes?: number;
  /** Minimum ms between group commits (default 0: the next commit starts when the last one ends). */
  commitIntervalMs?: number;
  /** Newest records kept in memory for the readers that keep up (default 20,000; spool-recent.ts);
   *  older ones, and all of them while no reader is that close, are read from disk. */
  memoryRecords?: number;
  /** Names of the readers (one per upstream), each with its own delivered position. */
  readers: string[];
  /** Readers given records as soon as they are added, before their commit (the rules: a rule's result
   *  need not wait for the disk). Their acknowledgements take effect only as far as the records are on
   *  disk; a record whose commit fails (refused, a gap) was still given to them. */
  readAhead?: string[];
  /** Where to say that the disk is full or writable again, or that a checkpoint could not be written. */
  log?: (line: string) => void;
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

interface Reader {
  acked: number; next: number; wake?: () => void;
  /** A read-ahead reader (SpoolOptions.readAhead), and the acknowledgement it gave past the disk's end. */
  ahead: boolean; ackWanted: number;
}

export class Spool {
  readonly stats: SpoolStats = { appended: 0, dropped: 0, tornRecords: 0, bytes: 0, segments: 0 };
  private segments: Segment[] = [];
  private fh: FileHandle | null = null;
  private nextIndex = 0;
  /** Index after the last record on disk. */
  private durableEnd = 0;
  private readonly readers = new Map<string, Reader>();
  private memory: RecentRecords;
  private pending: PendingCommit = { entries: [], bytes: 0, done: null };
  /** The commit being written now. */
  private writing: PendingCommit | null = null;
  /** Settled when the last commit finished (what durable() returns when nothing is pending). */
  private lastCommit: Promise<void> = Promise.resolve();
  private committing = false;
  /** Any read-ahead reader at all (without one, nothing is scheduled per turn). */
  private readonly anyAhead: boolean;
  /** Read-ahead readers will be woken for the records added in this turn of the event loop. */
  private wakingAhead = false;
  /** A write failed (disk full, I/O error): appends are refused until a probe of the disk succeeds. */
  private readonly writeFailure: WriteFailure;
  private closed = false;
  private readonly checkpoint: Checkpoint;
  /** What the segments may take: maxBytes less the reserve. */
  private readonly segmentBudget: number;
  private readonly segmentBytes: number;
  private readonly commitIntervalMs: number;
  private readonly log: (line: string) => void;

  private constructor(readonly dir: string, options: SpoolOptions) {
    const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    if (!(maxBytes >= MIN_SPOOL_BYTES)) throw new RangeError(`spool bound ${maxBytes} bytes is below the minimum of ${MIN_SPOOL_BYTES} (64K)`);
    this.segmentBudget = maxBytes - RESERVE_BYTES;
    this.segmentBytes = options.segmentBytes ?? segmentBytesFor(maxBytes);
    this.log = options.log ?? (() => undefined);
    this.writeFailure = new WriteFailure(dir, this.log, () => { this.lastCommit = Promise.resolve(); });
    this.commitIntervalMs = options.commitIntervalMs ?? 0;
    this.memory = new RecentRecords(options.memoryRecords ?? 20_000);
    const ahead = new Set(options.readAhead ?? []);
    for (const name of options.readers) this.readers.set(name, { acked: -1, next: 0, ahead: ahead.has(name), ackWanted: -1 });
    this.anyAhead = options.readers.some((name) => ahead.has(name));
    this.checkpoint = new Checkpoint(dir, () => this.checkpointText(), (e) => this.fail(e), this.log);
  }

  /** Open (or create) the spool in `dir`. Every record still on disk is passed to `onRecord`, oldest
   *  first, so the caller can rebuild state (de-duplication) from it. */
  static async open(dir: string, options: SpoolOptions, onRecord?: (entry: SpoolEntry) => void): Promise<Spool> {
    const spool = new Spool(dir, options);
    mkdirSync(dir, { recursive: true });
    removeStaleTemps(dir); // a write a crash or a full disk interrupted: the real files are whole
    spool.load(onRecord);
    const noRoom = reserveSync(dir);
    if (noRoom) spool.fail(noRoom);
    return spool;
  }

  /** Why appends are refused now, or null. */
  get failure(): Error | null {
    return this.writeFailure.error;
  }

  /** The same as /health says it ("no space left on device"). */
  get failureReason(): string | null {
    return this.failure ? failureReason(this.failure) : null;
  }

  /** Refuse appends with `e` until the disk takes writes again. */
  private fail(e: Error): void {
    this.writeFailure.fail(e);
    this.lastCommit = Promise.reject(e);
    this.lastCommit.catch(() => undefined);
  }

  private load(onRecord?: (entry: SpoolEntry) => void): void {
    let checkpoint: { nextIndex?: number; acked?: Record<string, number> } = {};
    try { checkpoint = JSON.parse(readFileSync(join(this.dir, CHECKPOINT), "utf8")); } catch { /* first start, or never written */ }
    const found = loadSegments(this.dir, onRecord);
    this.segments = found.segments;
    this.stats.tornRecords = found.torn;
    for (const seg of this.segments) this.stats.bytes += seg.size;
    this.nextIndex = Math.max(found.next, checkpoint.nextIndex ?? 0, 0);
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
    if (!this.wakingAhead && this.anyAhead) {
      // After this turn's I/O callbacks: every frame read in it makes one batch for the reader.
      this.wakingAhead = true;
      setImmediate(() => {
        this.wakingAhead = false;
        for (const r of this.readers.values()) if (r.ahead) r.wake?.();
      });
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
        const batch = this.takeBatch();
        this.writing = batch;
        try {
          await this.writeDurably(batch.entries, serializeRecords(batch.entries, batch.bytes));
        } catch (e) {
          this.writing = null;
          // A failed write (disk full, I/O error): its records and those waiting are refused (never
          // accepted), what it left on disk is cut off, and appends are refused until the disk takes
          // writes again. Their indices stay used (a gap), as sessions may have been named after them.
          const failure = e instanceof Error ? e : new Error(String(e));
          await this.rollback();
          batch.done?.reject(failure);
          this.pending.done?.reject(failure);
          this.pending = { entries: [], bytes: 0, done: null };
          this.fail(failure);
          break;
        }
        this.writing = null;
        this.stats.appended += batch.entries.length;
        this.durableEnd = batch.entries[batch.entries.length - 1].index + 1;
        let lead = 0;
        for (const r of this.readers.values()) lead = Math.max(lead, r.next);
        this.memory.committed(batch.entries, lead);
        batch.done?.resolve();
        for (const [name, r] of this.readers) {
          if (r.ackWanted > r.acked) this.ack(name, r.ackWanted);
          if (!r.ahead) r.wake?.();
        }
        const wait = this.commitIntervalMs - (Date.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      this.committing = false;
    }
  }

  /** The next commit: the pending records that fit in the segment being written (or in a new one; at
   *  least one record), so no segment outgrows segmentBytes and the bound holds. The rest stays pending
   *  with its waiters: commits finish in order, so theirs settles after this one. */
  private takeBatch(): PendingCommit {
    const p = this.pending;
    const seg = this.segments.at(-1);
    const first = RECORD_HEAD + p.entries[0].body.length;
    let room = this.fh && seg && seg.last + 1 === p.entries[0].index ? this.segmentBytes - seg.size : this.segmentBytes;
    if (room < first) room = this.segmentBytes;
    if (p.bytes <= room) {
      this.pending = { entries: [], bytes: 0, done: null };
      return p;
    }
    let n = 0;
    let bytes = 0;
    while (n < p.entries.length && (n === 0 || bytes + RECORD_HEAD + p.entries[n].body.length <= room)) bytes += RECORD_HEAD + p.entries[n++].body.length;
    p.bytes -= bytes;
    return { entries: p.entries.splice(0, n), bytes, done: null };
  }

  private async writeDurably(entries: SpoolEntry[], data: Buffer): Promise<void> {
    let seg = this.segments.at(-1);
    // A new segment when full, and after a failed write (its indices are a gap; a segment's records are
    // numbered on from its name).
    if (!this.fh || !seg || seg.last + 1 !== entries[0].index || (seg.size > 0 && seg.size + data.length > this.segmentBytes)) {
      await this.fh?.close();
      const first = entries[0].index;
      const path = join(this.dir, segmentName(first));
      this.fh = await open(path, "a");
      seg = { first, last: first - 1, size: 0, path };
      this.segments.push(seg);
      this.stats.segments = this.segments.length;
    }
    this.makeRoom(data.length);
    await this.fh.write(data);
    await this.fh.datasync();
    seg.size += data.length;
    seg.last = entries[entries.length - 1].index;
    this.stats.bytes += data.length;
  }

  /** After a failed write: cut off what it left at the end of its segment (half a record maybe; the
   *  space is freed too), or remove the segment it had started, and close it: the next write starts a
   *  new segment. Memory is emptied, as it must be numbered without gaps (readers read from disk). */
  private async rollback(): Promise<void> {
    this.memory.clear();
    const seg = this.segments.at(-1);
    const fh = this.fh;
    this.fh = null;
    if (seg) await fh?.truncate(seg.size).catch(() => undefined);
    await fh?.close().catch(() => undefined);
    if (seg && seg.size === 0) {
      this.segments.pop();
      rmSync(seg.path, { force: true });
      this.stats.segments = this.segments.length;
    }
  }

  /** Drop-oldest: before writing `extra` bytes, delete whole segments (never the one being written)
   *  while the segments would pass the bound. */
  private makeRoom(extra: number): void {
    while (this.stats.bytes + extra > this.segmentBudget && this.segments.length > 1) {
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
      this.checkpoint.changed();
    }
    this.stats.segments = this.segments.length;
  }

  /** The next records for `reader` after those it was given, up to `max`; waits until there is one
   *  (or the spool closes: then []). A read-ahead reader is given records not yet on disk too. */
  async next(readerName: string, max: number): Promise<SpoolEntry[]> {
    const reader = this.reader(readerName);
    for (;;) {
      while (!this.closed && reader.next >= (reader.ahead ? this.nextIndex : this.durableEnd)) {
        await new Promise<void>((resolve) => { reader.wake = resolve; });
        reader.wake = undefined;
      }
      if (this.closed) return [];
      const entries = this.read(reader.next, max, reader.ahead);
      if (entries.length) {
        reader.next = entries[entries.length - 1].index + 1;
        this.forgetRead();
        return entries;
      }
      // Past the end of the disk, only records of a failed commit (refused: a gap) were there.
      if (reader.ahead && reader.next >= this.durableEnd) reader.next = this.nextIndex;
      else return entries;
    }
  }

  /** Drop from memory what every reader has been given: readers only move forward (a retried batch is
   *  kept by its forwarder), and entries dropped young cost the garbage collector little. */
  private forgetRead(): void {
    let minNext = Infinity;
    for (const r of this.readers.values()) minNext = Math.min(minNext, r.next);
    this.memory.given(minNext);
  }

  private read(from: number, max: number, ahead = false): SpoolEntry[] {
    if (ahead && from >= this.durableEnd) return this.uncommitted(from, from + max, max);
    if (from >= this.memory.start) return this.memory.slice(from, Math.min(this.durableEnd, from + max));
    const seg = this.segments.find((s) => s.last >= from);
    if (!seg) return [];
    from = Math.max(from, seg.first); // past a gap a failed write left
    return readRecords(readFileSync(seg.path), seg.first, seg.size, from, Math.min(this.durableEnd, from + max));
  }

  /** Records [from, to) of the commit being written and those pending (at most `max`). */
  private uncommitted(from: number, to: number, max: number): SpoolEntry[] {
    const out: SpoolEntry[] = [];
    for (const batch of [this.writing, this.pending]) {
      for (const e of batch?.entries ?? []) {
        if (out.length >= max || e.index >= to) return out;
        if (e.index >= from) out.push(e);
      }
    }
    return out;
  }

  /** `reader`'s upstream confirmed every record up to and including `index`. Past the records on disk
   *  (a read-ahead reader) it takes effect as their commits finish: the checkpoint never says a record
   *  was delivered before it was accepted. */
  ack(readerName: string, index: number): void {
    const reader = this.reader(readerName);
    if (index >= this.durableEnd) reader.ackWanted = Math.max(reader.ackWanted, index);
    index = Math.min(index, this.durableEnd - 1);
    if (index <= reader.acked) return;
    reader.acked = index;
    this.checkpoint.soon();
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

  private reader(name: string): Reader {
    const r = this.readers.get(name);
    if (!r) throw new Error(`no spool reader ${name}`);
    return r;
  }

  /** Finish pending commits, write the checkpoint, release the readers. */
  async close(): Promise<void> {
    while (this.committing || this.pending.entries.length) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    this.writeFailure.stop();
    await this.checkpoint.close();
    for (const r of this.readers.values()) r.wake?.();
    await this.fh?.close();
    this.fh = null;
  }
}

