// What one SSE client has yet to receive, between two flushes. Normally every event in order; when the
// client cannot keep up (its socket is still full at flush time, or too much piled up), the queue
// compacts to the latest summary per series and the latest status per device, so a slow browser costs
// bounded memory and sees fresh data rather than a growing backlog. Device events (alerts) are kept up
// to a cap since each one matters. Summaries are filtered by the devices the client charts. No I/O.
import type { DashboardEvent, DeviceEvent, FleetEvent, HelloEvent, StatusEvent, SummaryEvent } from "./events.js";

export interface ClientQueueLimits {
  /** Events queued in order before the queue compacts anyway. */
  maxOrdered: number;
  /** Device events kept while compacted (the oldest are dropped beyond). */
  maxEvents: number;
}

export const DEFAULT_QUEUE_LIMITS: ClientQueueLimits = { maxOrdered: 20_000, maxEvents: 1_000 };

/** Which devices' summaries a client wants. */
export type Subscription = "all" | ReadonlySet<number>;

export interface Batch {
  events: DashboardEvent[];
  /** Events this client did not get since the previous batch (superseded while compacted, or over the cap). */
  skipped: number;
}

export class ClientQueue {
  subscription: Subscription;
  private ordered: DashboardEvent[] = [];
  private fleet: FleetEvent | null = null;
  private compacted = false;
  private hellos = new Map<number, HelloEvent>();
  private summaries = new Map<string, SummaryEvent>();
  private statuses = new Map<number, StatusEvent>();
  private deviceEvents: DeviceEvent[] = [];
  private skipped = 0;

  constructor(subscription: Subscription, private readonly limits: ClientQueueLimits = DEFAULT_QUEUE_LIMITS) {
    this.subscription = subscription;
  }

  get isCompacted(): boolean { return this.compacted; }
  get pending(): number {
    return this.ordered.length + (this.fleet ? 1 : 0) + this.hellos.size + this.summaries.size + this.statuses.size + this.deviceEvents.length;
  }

  wants(device: number): boolean {
    return this.subscription === "all" || this.subscription.has(device);
  }

  push(e: DashboardEvent): void {
    if (e.kind === "summary" && !this.wants(e.device)) return;
    if (e.kind === "fleet") { this.fleet = e; return; } // cumulative counters: only the latest matters
    if (!this.compacted) {
      this.ordered.push(e);
      if (this.ordered.length > this.limits.maxOrdered) this.compact();
      return;
    }
    this.pushCompacted(e);
  }

  /** Switch to latest-per-series until the next batch that the socket takes without backing up. */
  compact(): void {
    if (this.compacted) return;
    this.compacted = true;
    const backlog = this.ordered;
    this.ordered = [];
    for (const e of backlog) this.pushCompacted(e);
  }

  /** The batch to send now (null when nothing is pending). Called when the socket has room, so a
   *  compacted queue goes back to sending every event in order. */
  take(): Batch | null {
    let events: DashboardEvent[];
    if (this.compacted) {
      // Hellos first (the page needs channel names), then data by time, then the counters.
      events = [...this.hellos.values(), ...[...this.summaries.values()].sort((a, b) => a.t - b.t),
        ...this.statuses.values(), ...this.deviceEvents];
      this.hellos.clear(); this.summaries.clear(); this.statuses.clear(); this.deviceEvents = [];
      this.compacted = false;
    } else {
      events = this.ordered;
      this.ordered = [];
    }
    if (this.fleet) { events.push(this.fleet); this.fleet = null; }
    if (events.length === 0 && this.skipped === 0) return null;
    const batch = { events, skipped: this.skipped };
    this.skipped = 0;
    return batch;
  }

  private pushCompacted(e: DashboardEvent): void {
    switch (e.kind) {
      case "hello": this.replace(this.hellos, e.device, e); break;
      case "status": this.replace(this.statuses, e.device, e); break;
      case "summary": this.replace(this.summaries, `${e.device}:${e.channel}`, e); break;
      case "event":
        this.deviceEvents.push(e);
        if (this.deviceEvents.length > this.limits.maxEvents) { this.deviceEvents.shift(); this.skipped++; }
        break;
      case "fleet": this.fleet = e; break;
    }
  }

  private replace<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (map.has(key)) { this.skipped++; map.delete(key); } // re-insert: order of latest arrival
    map.set(key, value);
  }
}
