// Frames produced by a shard over one slice of virtual time, packed into flat arrays so that a batch
// crosses a process boundary as four buffers instead of thousands of small objects. Order inside a batch
// is (tick time, device id), each device's frames in its own order, which is what makes merging shards
// deterministic. A shard adds frames device after device (it runs each device through the whole slice,
// for cache locality); take() restores that order with a stable sort.

export interface FrameBatch {
  count: number;
  /** Device time (ms) of the tick (or control/boot) that emitted each frame. */
  tickMs: Float64Array;
  device: Uint32Array;
  /** Frame i is data[offsets[i] .. offsets[i+1]). */
  offsets: Uint32Array;
  data: Uint8Array;
}

export class FrameBatchBuilder {
  private tick: number[] = [];
  private dev: number[] = [];
  private chunks: Uint8Array[] = [];
  private bytes = 0;

  add(tickMs: number, device: number, frame: Uint8Array): void {
    this.tick.push(tickMs);
    this.dev.push(device);
    this.chunks.push(frame);
    this.bytes += frame.length;
  }

  get count(): number { return this.chunks.length; }

  /** The batch so far, in (tick time, device id) order: frames with the same key keep the order they
   *  were added in (a stable sort, so a device's own frames stay in its order). The builder starts empty
   *  again. Adding in that order already (mergeBatches) costs only the check. */
  take(): FrameBatch {
    if (!this.inTickOrder()) this.sortByTickThenDevice();
    const count = this.chunks.length;
    const offsets = new Uint32Array(count + 1);
    const data = new Uint8Array(this.bytes);
    let at = 0;
    for (let i = 0; i < count; i++) {
      offsets[i] = at;
      data.set(this.chunks[i], at);
      at += this.chunks[i].length;
    }
    offsets[count] = at;
    const batch = { count, tickMs: Float64Array.from(this.tick), device: Uint32Array.from(this.dev), offsets, data };
    this.tick = []; this.dev = []; this.chunks = []; this.bytes = 0;
    return batch;
  }

  private inTickOrder(): boolean {
    const { tick, dev } = this;
    for (let i = 1; i < tick.length; i++) {
      if (tick[i] < tick[i - 1] || (tick[i] === tick[i - 1] && dev[i] < dev[i - 1])) return false;
    }
    return true;
  }

  private sortByTickThenDevice(): void {
    const { tick, dev, chunks } = this;
    const order = Array.from(tick, (_, i) => i);
    order.sort((a, b) => tick[a] - tick[b] || dev[a] - dev[b] || a - b);
    this.tick = order.map((i) => tick[i]);
    this.dev = order.map((i) => dev[i]);
    this.chunks = order.map((i) => chunks[i]);
  }
}

export function frameAt(batch: FrameBatch, i: number): Uint8Array {
  return batch.data.subarray(batch.offsets[i], batch.offsets[i + 1]);
}

/** Merge batches from several shards covering the same time slice into one, ordered by (tick time,
 *  device id), keeping each device's own order. Identical to what one shard holding every device makes. */
export function mergeBatches(batches: FrameBatch[]): FrameBatch {
  if (batches.length === 1) return batches[0];
  const cursors = batches.map(() => 0);
  const out = new FrameBatchBuilder();
  for (;;) {
    let best = -1;
    for (let b = 0; b < batches.length; b++) {
      const i = cursors[b];
      if (i >= batches[b].count) continue;
      if (best < 0) { best = b; continue; }
      const j = cursors[best];
      const t = batches[b].tickMs[i], tb = batches[best].tickMs[j];
      if (t < tb || (t === tb && batches[b].device[i] < batches[best].device[j])) best = b;
    }
    if (best < 0) break;
    const i = cursors[best]++;
    out.add(batches[best].tickMs[i], batches[best].device[i], frameAt(batches[best], i));
  }
  return out.take();
}
