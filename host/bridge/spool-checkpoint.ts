// Writing the spool's checkpoint (docs/bridge.md "Spool"): each upstream's last confirmed record index,
// in checkpoint.json, replaced whole (temp file, fsync, rename; on a full disk in the reserve's room:
// spool-disk.ts). While running at most every 100 ms and off the event loop, one write at a time; at close
// synchronously. A checkpoint that cannot be written leaves the previous one standing, so what was
// confirmed since is sent again at the next start (consumers de-duplicate). May touch: the checkpoint
// file and its temp file in the spool's directory.
import { CHECKPOINT, failureReason, noSpaceError, replaceFile, replaceFileSync } from "./spool-disk.js";

export class Checkpoint {
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;

  /** `text`: the checkpoint's content now; `diskFull`: a write had to use the reserve (the disk is
   *  full: the spool refuses appends until its probe sees room). */
  constructor(private readonly dir: string, private readonly text: () => string, private readonly diskFull: (e: Error) => void,
    private readonly log: (line: string) => void) {}

  /** Positions changed; written with the next write (soon(), or at close). */
  changed(): void {
    this.dirty = true;
  }

  /** Positions changed: write them within 100 ms. */
  soon(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => { this.timer = null; void this.writeAsync(); }, 100);
  }

  /** Write now, synchronously, if anything changed. Never throws. */
  writeSync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      if (replaceFileSync(this.dir, CHECKPOINT, this.text())) this.diskFull(noSpaceError()); // it needed the reserve
    } catch (e) {
      this.dirty = true;
      this.log(`spool: checkpoint not written (${failureReason(e as Error)}); the previous one stands`);
    }
  }

  private async writeAsync(): Promise<void> {
    if (!this.dirty || this.writing || this.closed) return;
    this.dirty = false;
    this.writing = replaceFile(this.dir, CHECKPOINT, this.text())
      .then((usedReserve) => { if (usedReserve && !this.closed) this.diskFull(noSpaceError()); }) // the disk is full
      .catch(() => { this.dirty = true; }); // written again with the next ack or at close
    await this.writing;
    this.writing = null;
  }

  /** Wait for a write in progress, then write the last positions synchronously. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writeSync();
  }
}
