// The upstream interface of the bridge and its forwarder (docs/bridge.md "Upstreams"): one forwarder
// per upstream reads the spool in order, hands batches to the upstream, and acknowledges them in the
// spool only once the upstream confirmed them (MQTT PUBACK, HTTP 2xx, a chained bridge's ack, a
// completed file write). Several batches may be in flight, up to the upstream's window of messages;
// they are acknowledged in order. A failed batch is retried with backoff; order is kept per upstream.
// May touch: the spool it is given (reads and acks only).
import { decodeRecord, wallMs, type SpoolRecord } from "./records.js";
import type { Spool } from "./spool.js";
import type { Metrics } from "./metrics.js";

export interface Upstream {
  /** A stable name (also the spool reader's name and the metrics label), e.g. "mqtt://host:1883". */
  readonly name: string;
  /** Batches that may be outstanding at once (in order); 1 unless the transport keeps order itself. */
  readonly pipeline: number;
  /** Messages that may be outstanding at once, over all batches (bounds memory and, for MQTT, the
   *  packet ids in use). */
  readonly window: number;
  /** Given records as soon as the bridge took them, before the spool's commit (the rules: what they
   *  send need not wait for the disk). At least once still: a record whose commit failed was refused,
   *  and its device sends it again. Its confirmations are acknowledged as the commits finish. */
  readonly readsAhead?: boolean;
  /** Messages one record becomes (default 1; an MQTT summary is one message per channel). */
  weight?(record: SpoolRecord): number;
  start(): Promise<void>;
  /** Resolves when every record was confirmed by the upstream; rejects to have the batch retried. */
  deliver(records: SpoolRecord[]): Promise<void>;
  connected(): boolean;
  close(): Promise<void>;
}

const BATCH = 1000;

/** A batch handed to the upstream and not yet acknowledged in the spool. */
interface Outstanding { records: SpoolRecord[]; weight: number; last: number; delivered: boolean }

export class Forwarder {
  private stopped = false;
  private running: Promise<void> | null = null;
  /** Batches waiting to be retried (several may be, with several in flight); stop() wakes them. */
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** In spool order; acknowledged from the front as soon as the front batch is delivered. */
  private readonly outstanding: Outstanding[] = [];
  /** Their weight (upstream messages). */
  private outstandingWeight = 0;
  private wakeLoop: (() => void) | null = null;

  constructor(private readonly spool: Spool, readonly upstream: Upstream, private readonly metrics: Metrics,
    private readonly log: (line: string) => void) {}

  start(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    const { pipeline, window } = this.upstream;
    while (!this.stopped) {
      while (!this.stopped && (this.outstanding.length >= pipeline || this.outstandingWeight >= window)) {
        await new Promise<void>((resolve) => { this.wakeLoop = resolve; });
        this.wakeLoop = null;
      }
      if (this.stopped) break;
      // At least one message per record: asking for no more records than the window has room for
      // keeps it within BATCH x the heaviest record.
      const entries = await this.spool.next(this.upstream.name, Math.min(BATCH, window - this.outstandingWeight));
      if (entries.length === 0) break; // spool closed
      const records = entries.map((e) => (e.value as SpoolRecord | undefined) ?? decodeRecord(e.body));
      let weight = records.length;
      if (this.upstream.weight) { weight = 0; for (const r of records) weight += this.upstream.weight(r); }
      const batch: Outstanding = { records, weight, last: entries[entries.length - 1].index, delivered: false };
      this.outstanding.push(batch);
      this.outstandingWeight += weight;
      void this.deliverWithRetry(records).then(() => { batch.delivered = true; this.ackDelivered(); });
    }
  }

  /** Acknowledge, in order, the delivered batches at the front; a later batch confirmed before an
   *  earlier one waits for it. */
  private ackDelivered(): void {
    if (this.stopped) return;
    let last = -1;
    const now = wallMs();
    while (this.outstanding.length > 0 && this.outstanding[0].delivered) {
      const batch = this.outstanding.shift()!;
      this.outstandingWeight -= batch.weight;
      last = batch.last;
      for (const r of batch.records) this.metrics.forwarded(this.upstream.name, r, now);
    }
    if (last >= 0) {
      this.spool.ack(this.upstream.name, last);
      this.wakeLoop?.();
    }
  }

  private async deliverWithRetry(records: SpoolRecord[]): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.upstream.deliver(records);
        return;
      } catch (e) {
        if (this.stopped) return;
        this.metrics.upstreamErrors.inc(this.upstream.name);
        const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6));
        if (attempt === 0 || attempt % 10 === 0) this.log(`${this.upstream.name}: ${e instanceof Error ? e.message : String(e)}; retrying in ${delay} ms`);
        await new Promise<void>((resolve) => {
          const sleeper = { timer: setTimeout(() => { this.sleepers.delete(sleeper); resolve(); }, delay), resolve };
          this.sleepers.add(sleeper);
        });
      }
    }
  }

  /** Stop reading; batches not confirmed stay in the spool for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeLoop?.();
    for (const s of this.sleepers) { clearTimeout(s.timer); s.resolve(); }
    this.sleepers.clear();
  }
}
