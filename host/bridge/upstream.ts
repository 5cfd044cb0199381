// The upstream interface of the bridge and its forwarder (docs/bridge.md "Upstreams"): one forwarder
// per upstream reads the spool in order, hands batches to the upstream, and acknowledges them in the
// spool only once the upstream confirmed them (MQTT PUBACK, HTTP 2xx, a chained bridge's ack, a
// completed file write). A failed batch is retried with backoff; order is kept per upstream.
// May touch: the spool it is given (reads and acks only).
import { decodeRecord, wallMs, type SpoolRecord } from "./records.js";
import type { Spool } from "./spool.js";
import type { Metrics } from "./metrics.js";

export interface Upstream {
  /** A stable name (also the spool reader's name and the metrics label), e.g. "mqtt://host:1883". */
  readonly name: string;
  /** Batches that may be outstanding at once (in order); 1 unless the transport keeps order itself. */
  readonly pipeline: number;
  start(): Promise<void>;
  /** Resolves when every record was confirmed by the upstream; rejects to have the batch retried. */
  deliver(records: SpoolRecord[]): Promise<void>;
  connected(): boolean;
  close(): Promise<void>;
}

const BATCH = 1000;

export class Forwarder {
  private stopped = false;
  private running: Promise<void> | null = null;
  private sleeper: { timer: NodeJS.Timeout; resolve: () => void } | null = null;

  constructor(private readonly spool: Spool, readonly upstream: Upstream, private readonly metrics: Metrics,
    private readonly log: (line: string) => void) {}

  start(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    let acked: Promise<void> = Promise.resolve();
    const inflight = new Set<Promise<void>>();
    while (!this.stopped) {
      const entries = await this.spool.next(this.upstream.name, BATCH);
      if (entries.length === 0) break; // spool closed
      const records = entries.map((e) => (e.value as SpoolRecord | undefined) ?? decodeRecord(e.body));
      const last = entries[entries.length - 1].index;
      const delivered = this.deliverWithRetry(records);
      const done = Promise.all([acked, delivered]).then(() => {
        if (this.stopped) return;
        this.spool.ack(this.upstream.name, last);
        const now = wallMs();
        for (const r of records) this.metrics.forwarded(this.upstream.name, r, now);
      });
      acked = done;
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
      while (inflight.size >= this.upstream.pipeline && !this.stopped) await Promise.race(inflight);
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
        await new Promise<void>((resolve) => { this.sleeper = { timer: setTimeout(resolve, delay), resolve }; });
        this.sleeper = null;
      }
    }
  }

  /** Stop reading; batches not confirmed stay in the spool for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sleeper) { clearTimeout(this.sleeper.timer); this.sleeper.resolve(); }
  }
}
