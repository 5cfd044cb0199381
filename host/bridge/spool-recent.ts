// The spool's in-memory tail (docs/bridge.md "Memory"): the newest committed records, for the readers
// that keep up, so they forward them without reading the disk and with the value each was appended from
// (no decoding). Held only while some reader is within `max` records of the end: with every upstream
// behind (a broker down), a tail would hold records nobody reads from memory — by the time a reader has
// caught up from disk they would have been replaced — and, kept alive for seconds, each would be copied
// into V8's old space, whose pages stay resident after a flood (issue 11: 1,000,000 frames, broker down).
// Pure in-memory state; touches nothing.
import type { SpoolEntry } from "./spool.js";

export class RecentRecords {
  /** entries[head..] are the tail, numbered without gaps, the last one the newest on disk. */
  private entries: Array<SpoolEntry> = [];
  private head = 0;

  constructor(private readonly max: number) {}

  /** Index of the oldest record held (Infinity when none). */
  get start(): number {
    return this.head < this.entries.length ? this.entries[this.head].index : Infinity;
  }

  get size(): number { return this.entries.length - this.head; }

  /** A commit is on disk: keep its records if the reader furthest ahead, given every record before
   *  `lead`, is within `max` of the new end; otherwise hold none (readers read from disk). */
  committed(batch: SpoolEntry[], lead: number): void {
    const end = batch[batch.length - 1].index + 1;
    if (end - lead > this.max) return this.clear();
    for (const e of batch) this.entries.push(e);
    if (this.size > this.max) this.drop(this.size - this.max);
  }

  /** Every reader was given the records before `next`: they are not needed here any more. Dropped in
   *  steps of 256 (or all), so the array is not shifted for every batch. */
  given(next: number): void {
    const done = Math.min(next - this.start, this.size);
    if (done >= 256 || (done > 0 && done === this.size)) this.drop(done);
  }

  /** Records [from, to), all of which are held (from >= start). */
  slice(from: number, to: number): SpoolEntry[] {
    const at = this.head + from - this.start;
    return this.entries.slice(at, at + Math.max(0, to - from));
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
  }

  private drop(n: number): void {
    for (let i = this.head; i < this.head + n; i++) this.entries[i] = undefined as unknown as SpoolEntry; // free them now
    this.head += n;
    // Compact once the dropped front is half the array: amortised O(1) per record.
    if (this.head >= this.entries.length) this.clear();
    else if (this.head > 4096 && this.head * 2 > this.entries.length) { this.entries = this.entries.slice(this.head); this.head = 0; }
  }
}
