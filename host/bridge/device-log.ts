// The bridge's device state on disk (docs/bridge.md "Device state"): per device id, its latest HELLO with
// the CHANNELS after it merged in, or null for a device heard from before any HELLO. Kept as an
// append-only log of changes, one JSON line per changed device, so a change costs the size of that
// device's entry, never a rewrite of the fleet (issue 11: rewriting devices.json per new device made
// the cost grow with the square of the fleet and stalled the bridge for ~1 min).
// Changes are batched: all the changes of one event-loop turn go in one append + fdatasync, off the
// event loop, so device metadata reaches the disk a few ms after the frame that carried it (frames
// themselves are protected by the spool). When the log is several times the live state, it is
// compacted into a temp file that is renamed over it. On load a torn last line (a crash mid-append) is
// cut off, and a devices.json from an older bridge is carried over once.
// May touch: <dir>/devices.log, <dir>/devices.log.tmp, <dir>/devices.json (migrated, then deleted).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { HelloFrame } from "../protocol/index.js";
import { deviceName, parseDeviceName } from "./records.js";

export interface DeviceLogOptions {
  /** Compact when the log is this many times the live state... */
  compactFactor?: number;
  /** ...and at least this big (a small log is not worth rewriting). */
  compactMinBytes?: number;
}

export interface DeviceLogStats {
  /** Bytes appended to the log, compactions included: linear in the number of changes. */
  bytesWritten: number;
  /** Appends (one per batch) and compactions done. */
  writes: number;
  compactions: number;
  /** Size of the log file now, and of the live state (what a compaction would write). */
  logBytes: number;
  liveBytes: number;
  /** Found at load: bytes of a torn last line cut off, unreadable lines skipped, devices migrated
   *  from devices.json. */
  tornBytes: number;
  badLines: number;
  migrated: number;
}

/** Lines written per compaction step, so a big fleet's compaction yields to the event loop in between. */
const COMPACT_CHUNK = 1000;
/** Changes serialised per append at most: a few ms of work for one event-loop turn. */
const MAX_BATCH = 1000;
const RETRY_MS = 1000;

function line(device: number, hello: HelloFrame | null): string {
  return JSON.stringify({ d: deviceName(device), h: hello }) + "\n";
}

function isHello(v: unknown): v is HelloFrame | null {
  return v === null || (typeof v === "object" && !Array.isArray(v) && Array.isArray((v as HelloFrame).channels));
}

export class DeviceLog {
  readonly file: string;
  readonly stats: DeviceLogStats = { bytesWritten: 0, writes: 0, compactions: 0, logBytes: 0, liveBytes: 0, tornBytes: 0, badLines: 0, migrated: 0 };
  /** The last write error, null once a write succeeds again (the log then retries every second). */
  failure: Error | null = null;
  private readonly state = new Map<number, HelloFrame | null>();
  /** Each device's line length: their sum is the live state, what a compaction writes. */
  private readonly lineBytes = new Map<number, number>();
  /** Changed since the last append; a device changed twice in one batch is written once. */
  private pending = new Map<number, HelloFrame | null>();
  private handle: FileHandle | null = null;
  private writing: Promise<void> | null = null;
  private scheduled = false;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly factor: number;
  private readonly minBytes: number;

  constructor(private readonly dir: string, options: DeviceLogOptions = {}) {
    this.file = join(dir, "devices.log");
    this.factor = options.compactFactor ?? 4;
    this.minBytes = options.compactMinBytes ?? 64 * 1024;
    this.load();
  }

  /** The state loaded at start plus every change since. */
  entries(): IterableIterator<[number, HelloFrame | null]> { return this.state.entries(); }
  get size(): number { return this.state.size; }

  /** Record a device's state; written with the other changes of this event-loop turn. */
  set(device: number, hello: HelloFrame | null): void {
    this.state.set(device, hello);
    this.pending.set(device, hello);
    this.schedule();
  }

  /** Resolves when every change made so far is on disk; rejects if the disk refuses it. */
  async flush(): Promise<void> {
    while (this.pending.size || this.writing) {
      if (this.failure && !this.writing) throw this.failure;
      if (!this.writing) this.startWriting();
      await this.writing;
    }
  }

  /** Flush, then close the file (later changes stay in memory only). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.retry) clearTimeout(this.retry);
      await this.handle?.close().catch(() => undefined);
      this.handle = null;
    }
  }

  // ---- writing

  private schedule(): void {
    if (this.scheduled || this.writing || this.retry || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.writing && !this.closed) this.startWriting();
    });
  }

  private startWriting(): void {
    this.writing = this.drain().finally(() => {
      this.writing = null;
      if (this.pending.size && !this.failure) this.schedule(); // changed while the last step finished
    });
  }

  /** Append batches until nothing is pending; compact when the log has grown several times the live state. */
  private async drain(): Promise<void> {
    while (this.pending.size && !this.closed) {
      let batch = this.pending;
      if (batch.size <= MAX_BATCH) this.pending = new Map();
      else {
        // A flood of new ids: serialise a slice per turn (the append's I/O wait yields in between).
        batch = new Map();
        for (const [device, hello] of this.pending) {
          batch.set(device, hello);
          this.pending.delete(device);
          if (batch.size >= MAX_BATCH) break;
        }
      }
      let text = "";
      for (const [device, hello] of batch) {
        const l = line(device, hello);
        text += l;
        const bytes = Buffer.byteLength(l);
        this.stats.liveBytes += bytes - (this.lineBytes.get(device) ?? 0);
        this.lineBytes.set(device, bytes);
      }
      try {
        // After a failed append the file may end in part of a line: start on a fresh one (a blank or
        // unreadable line is skipped on load).
        const data = Buffer.from(this.failure ? "\n" + text : text);
        this.handle ??= await open(this.file, "a");
        await this.handle.appendFile(data);
        await this.handle.datasync();
        this.stats.bytesWritten += data.length;
        this.stats.logBytes += data.length;
        this.stats.writes++;
        this.failure = null;
        if (this.stats.logBytes > this.factor * this.stats.liveBytes && this.stats.logBytes > this.minBytes) await this.compact();
      } catch (e) {
        // Keep the batch (changes made since win over it) and try again later.
        for (const [device, hello] of batch) if (!this.pending.has(device)) this.pending.set(device, hello);
        this.failure = e instanceof Error ? e : new Error(String(e));
        await this.handle?.close().catch(() => undefined);
        this.handle = null;
        if (!this.closed) this.retry = setTimeout(() => { this.retry = null; this.schedule(); }, RETRY_MS);
        return;
      }
    }
  }

  /** Write the live state to devices.log.tmp, a chunk per event-loop turn, and rename it over the log.
   *  Changes made meanwhile wait in `pending` and are appended to the new log afterwards (each line is a
   *  device's whole state, so a line also captured by the snapshot is merely repeated). */
  private async compact(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const ids = [...this.state.keys()];
    const out = await open(tmp, "w");
    let bytes = 0;
    try {
      for (let i = 0; i < ids.length; i += COMPACT_CHUNK) {
        let text = "";
        for (const id of ids.slice(i, i + COMPACT_CHUNK)) text += line(id, this.state.get(id) ?? null);
        const data = Buffer.from(text);
        await out.appendFile(data);
        bytes += data.length;
        await new Promise((r) => setImmediate(r));
      }
      await out.datasync();
    } finally {
      await out.close();
    }
    await this.handle?.close();
    this.handle = null;
    await rename(tmp, this.file);
    const d = await open(this.dir, "r").catch(() => null); // make the rename durable, where the file system allows
    await d?.sync().catch(() => undefined);
    await d?.close();
    this.stats.logBytes = bytes;
    this.stats.bytesWritten += bytes;
    this.stats.compactions++;
  }

  // ---- loading (once, at start: synchronous like the rest of the bridge's start)

  private load(): void {
    try { unlinkSync(`${this.file}.tmp`); } catch { /* no compaction was cut short */ }
    const old = join(this.dir, "devices.json");
    const hasLog = existsSync(this.file);
    if (existsSync(old)) {
      // A log newer than devices.json wins (a crash between migrating and deleting it); a devices.json
      // newer than the log was written by an older bridge run since, and is carried over again.
      if (!hasLog || statSync(old).mtimeMs > statSync(this.file).mtimeMs) return this.migrate(old);
      unlinkSync(old);
    }
    if (!hasLog) return;
    const data = readFileSync(this.file);
    const end = data.lastIndexOf(0x0a) + 1;
    if (end < data.length) {
      // A torn last line: cut it off, or the next append would be glued to it.
      this.stats.tornBytes = data.length - end;
      truncateSync(this.file, end);
    }
    for (const text of data.toString("utf8", 0, end).split("\n")) {
      if (!text) continue;
      let entry: { d?: unknown; h?: unknown };
      try { entry = JSON.parse(text) as typeof entry; } catch { this.stats.badLines++; continue; }
      const device = typeof entry?.d === "string" ? parseDeviceName(entry.d) : null;
      if (device === null || !isHello(entry.h)) { this.stats.badLines++; continue; }
      this.remember(device, entry.h, Buffer.byteLength(text) + 1);
    }
    this.stats.logBytes = end;
  }

  private remember(device: number, hello: HelloFrame | null, bytes: number): void {
    this.state.set(device, hello);
    this.stats.liveBytes += bytes - (this.lineBytes.get(device) ?? 0);
    this.lineBytes.set(device, bytes);
  }

  /** devices.json of older bridges: {"<hex id>": hello | null}, rewritten whole on every change. */
  private migrate(old: string): void {
    this.state.clear();
    this.lineBytes.clear();
    this.stats.liveBytes = 0;
    let saved: Record<string, unknown> = {};
    try { saved = JSON.parse(readFileSync(old, "utf8")) as Record<string, unknown>; } catch { /* unreadable: nothing to carry over */ }
    let text = "";
    for (const [name, value] of Object.entries(saved ?? {})) {
      const device = parseDeviceName(name);
      const hello = value ?? null;
      if (device === null || !isHello(hello)) { this.stats.badLines++; continue; }
      const l = line(device, hello);
      text += l;
      this.remember(device, hello, Buffer.byteLength(l));
      this.stats.migrated++;
    }
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally { closeSync(fd); }
    renameSync(tmp, this.file);
    syncDir(this.dir);
    unlinkSync(old);
    this.stats.logBytes = Buffer.byteLength(text);
  }
}

/** Make a rename in `dir` durable (best effort: not every file system lets a directory be fsynced). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* not supported here */ }
}
