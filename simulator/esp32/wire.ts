// One direction of the virtual ESP32's UART wire: bytes become available at the far end no sooner than
// the baud rate allows (10 bits per byte: start, 8 data, stop; so baud/10 bytes per second), in order,
// and, when asked, with line faults (bytes dropped or corrupted, drawn from a seeded PRNG so a run can
// be repeated). Without pacing, bytes pass at once. Touches nothing but its timer.
import { Random } from "../random.js";

export interface LineFaults {
  /** Probability that a byte is lost. */
  dropRate?: number;
  /** Probability that a byte arrives with some bits flipped. */
  corruptRate?: number;
  seed?: number;
}

export interface WireStats {
  bytes: number;
  dropped: number;
  corrupted: number;
}

export class Wire {
  readonly stats: WireStats = { bytes: 0, dropped: 0, corrupted: 0 };
  /** Time (performance.now() ms) at which the wire has finished sending everything queued. */
  private freeAt = 0;
  private readonly queue: Array<{ at: number; bytes: Uint8Array; baud: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly rng: Random | null;
  private closed = false;

  constructor(
    public baud: number,
    readonly paced: boolean,
    /** Called with the bytes and the baud rate they were sent at (a receiver at another rate garbles them). */
    private readonly deliver: (bytes: Uint8Array, baud: number) => void,
    private readonly faults: LineFaults = {},
  ) {
    this.rng = faults.dropRate || faults.corruptRate ? new Random(faults.seed ?? 1) : null;
  }

  /** Seconds the wire needs for n bytes at the current baud rate. */
  secondsFor(n: number): number { return (n * 10) / this.baud; }

  push(input: Uint8Array): void {
    if (this.closed || input.length === 0) return;
    const bytes = this.rng ? this.applyFaults(input) : input;
    this.stats.bytes += input.length;
    if (!this.paced) { if (bytes.length) this.deliver(bytes, this.baud); return; }
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + this.secondsFor(input.length) * 1000;
    this.queue.push({ at: this.freeAt, bytes, baud: this.baud });
    this.schedule();
  }

  /** Drop everything in flight (a reset or a disconnect). */
  clear(): void {
    this.queue.length = 0;
    this.freeAt = 0;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  close(): void {
    this.closed = true;
    this.clear();
  }

  private applyFaults(input: Uint8Array): Uint8Array {
    const rng = this.rng!;
    const out: number[] = [];
    for (const b of input) {
      if (this.faults.dropRate && rng.chance(this.faults.dropRate)) { this.stats.dropped++; continue; }
      if (this.faults.corruptRate && rng.chance(this.faults.corruptRate)) { this.stats.corrupted++; out.push(b ^ rng.int(1, 255)); continue; }
      out.push(b);
    }
    return Uint8Array.from(out);
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.queue.length && this.queue[0].at <= now + 0.5) {
        const item = this.queue.shift()!;
        if (item.bytes.length) this.deliver(item.bytes, item.baud);
      }
      this.schedule();
    }, wait);
  }
}
