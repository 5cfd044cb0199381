// What the spool (spool.ts) needs to live with a small or full disk (docs/bridge.md "Spool", issue 11):
// segment sizing from --spool-max, the reserve file that keeps room for a checkpoint while the disk is
// full, checkpoint writes that never truncate the good checkpoint, the write-failure state with the
// probe that finds out when space came back, and the text /health gives for a write error.
// May touch: files inside the spool directory only (checkpoint.json, its .tmp, reserve, reserve.tmp).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statfsSync, statSync, writeSync } from "node:fs";
import { open, rename, rm, statfs } from "node:fs/promises";
import { join } from "node:path";

/** Segment size when the bound allows it: large enough that a busy bridge rotates rarely. */
export const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
/** Kept on disk so a checkpoint can still be written when the disk is full (a checkpoint is < 1 KiB,
 *  but a new file costs a block and maybe a directory block; 16 KiB covers 4 KiB blocks with margin). */
export const RESERVE_BYTES = 16 * 1024;
/** The smallest --spool-max: the reserve plus four segments of 12 KiB (~140 event records each). Below
 *  it the newest-two-segments de-duplication window would be a few dozen frames. */
export const MIN_SPOOL_BYTES = 64 * 1024;
export const RESERVE = "reserve";
export const CHECKPOINT = "checkpoint.json";

/** A segment a quarter of what the bound leaves after the reserve (so drop-oldest deletes a quarter at
 *  a time and never has to delete the segment being written), at most the default. */
export function segmentBytesFor(maxBytes: number): number {
  return Math.max(1024, Math.min(DEFAULT_SEGMENT_BYTES, Math.floor((maxBytes - RESERVE_BYTES) / 4)));
}

export function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** What a write on a full disk throws, for when statfs or a used reserve tells first. */
export function noSpaceError(): Error {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
}

/** "no space left on device" rather than "ENOSPC: no space left on device, write": what /health says. */
export function failureReason(e: Error): string {
  if (isNoSpace(e)) return "no space left on device";
  return e.message.replace(/^E[A-Z]+: /, "").replace(/, \w+( '.*')?$/, "");
}

/** Leftovers of a write interrupted by a crash or a full disk: never the real file (the rename did not
 *  happen), so removing them loses nothing. */
export function removeStaleTemps(dir: string): void {
  for (const name of [`${CHECKPOINT}.tmp`, `${RESERVE}.tmp`]) rmSync(join(dir, name), { force: true });
}

function writeFileDurablySync(path: string, data: string | Buffer): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function writeFileDurably(path: string, data: string | Buffer): Promise<void> {
  const fh = await open(path, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write `text` to `dir/name` via name.tmp + fsync + rename: the old file stays whole until the rename.
 *  If the disk is full, the reserve is given up and the write tried once more. A failed attempt
 *  removes its tmp. True if the reserve was used; throws the last error (the old file is then still
 *  the good one). */
export function replaceFileSync(dir: string, name: string, text: string): boolean {
  const tmp = join(dir, `${name}.tmp`);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileDurablySync(tmp, text);
      renameSync(tmp, join(dir, name));
      return attempt > 0;
    } catch (e) {
      rmSync(tmp, { force: true });
      if (attempt > 0 || !isNoSpace(e)) throw e;
      rmSync(join(dir, RESERVE), { force: true });
    }
  }
}

/** The same without blocking the event loop (checkpoints while running). */
export async function replaceFile(dir: string, name: string, text: string): Promise<boolean> {
  const tmp = join(dir, `${name}.tmp`);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFileDurably(tmp, text);
      await rename(tmp, join(dir, name));
      return attempt > 0;
    } catch (e) {
      await rm(tmp, { force: true });
      if (attempt > 0 || !isNoSpace(e)) throw e;
      await rm(join(dir, RESERVE), { force: true });
    }
  }
}

/** (Re)write the reserve: the spool's test that the disk takes writes again. While the disk is full the
 *  freed reserve is what checkpoints use, so the spool accepts records again only once the reserve is
 *  back (and then some: statfs is asked first, so a full disk costs no writes, which matters on SD
 *  cards). Throws the write error. */
export async function probeAndReserve(dir: string): Promise<void> {
  try {
    const s = await statfs(dir);
    if (s.bavail * s.bsize < 2 * RESERVE_BYTES) throw noSpaceError();
  } catch (e) {
    if (isNoSpace(e)) throw e; // statfs unsupported or failing: let the write decide
  }
  const tmp = join(dir, `${RESERVE}.tmp`);
  try {
    await writeFileDurably(tmp, Buffer.alloc(RESERVE_BYTES));
    await rename(tmp, join(dir, RESERVE));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The reserve at open, synchronously, unless it is there already; the error if the disk has no room
 *  for it (the spool then starts failed and probes). */
export function reserveSync(dir: string): Error | null {
  try { if (statSync(join(dir, RESERVE)).size === RESERVE_BYTES) return null; } catch { /* not there yet */ }
  try {
    const s = statfsSync(dir);
    if (s.bavail * s.bsize < RESERVE_BYTES) return noSpaceError();
  } catch { /* let the write decide */ }
  const tmp = join(dir, `${RESERVE}.tmp`);
  try {
    writeFileDurablySync(tmp, Buffer.alloc(RESERVE_BYTES));
    renameSync(tmp, join(dir, RESERVE));
    return null;
  } catch (e) {
    rmSync(tmp, { force: true });
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Probes of a failed disk: first after 100 ms, doubling, at most every 2 s. */
const PROBE_FIRST_MS = 100;
const PROBE_MAX_MS = 2000;

/** A spool's write failure: fail(e) sets it (appends are refused while it is set) and probes the disk
 *  (probeAndReserve) with backoff until it takes writes again; then it clears and calls onRecover. */
export class WriteFailure {
  error: Error | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delay = PROBE_FIRST_MS;
  private stopped = false;

  constructor(private readonly dir: string, private readonly log: (line: string) => void, private readonly onRecover: () => void) {}

  fail(e: Error): void {
    if (!this.error) this.log(`spool: ${failureReason(e)}; refusing new records until the disk takes writes again`);
    this.error = e;
    if (!this.timer && !this.stopped) this.timer = setTimeout(() => void this.probe(), this.delay);
  }

  private async probe(): Promise<void> {
    try {
      await probeAndReserve(this.dir);
    } catch (e) {
      this.timer = null;
      this.delay = Math.min(PROBE_MAX_MS, this.delay * 2);
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.timer = null;
    this.delay = PROBE_FIRST_MS;
    if (this.stopped || !this.error) return;
    this.error = null;
    this.log("spool: the disk takes writes again; accepting records");
    this.onRecover();
  }

  /** At close: no more probes. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
