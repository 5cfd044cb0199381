// The dashboard's memory of what happened, so a page opened late can show it: each device's hello, last
// status and alert state, the latest summaries per device-channel (ring buffers) and the latest events.
// Bounded whatever the fleet size: a per-series cap that shrinks as series multiply (a total point
// budget), and a fixed number of recent events. Pure data structure: no I/O.
import type { DashboardEvent, DashboardEventKind, DeviceEvent, FleetEvent, HelloEvent, StatusEvent, SummaryEvent } from "./events.js";

export interface StoreLimits {
  /** Summaries kept per device-channel at most. */
  pointsPerSeries: number;
  /** Summaries kept over all series: the per-series cap becomes budget / series when that is lower. */
  pointBudget: number;
  /** The per-series cap never goes below this, however many series (bounds memory at series x floor). */
  minPointsPerSeries: number;
  /** Recent device events (alerts, faults, resets, values) kept. */
  eventsKept: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = {
  pointsPerSeries: 240,
  // 7 float64 per point. Measured: 5,000 devices x 4 channels, every ring full (25 points each) take
  // about 53 MB of heap with their maps; 50 devices keep their full 240 points in a few MB.
  pointBudget: 500_000,
  minPointsPerSeries: 16,
  eventsKept: 500,
};

/** Fields per stored summary, in this order. */
const FIELDS = ["t", "count", "min", "max", "mean", "std", "last"] as const;
const WIDTH = FIELDS.length;

/** The latest summaries of one device-channel, oldest overwritten first. Grows by doubling up to its cap. */
export class SeriesRing {
  private data = new Float64Array(0);
  private capacity = 0;
  private start = 0;
  size = 0;

  push(s: SummaryEvent, cap: number): void {
    if (this.size === this.capacity && this.capacity < cap) this.resize(Math.min(cap, Math.max(8, this.capacity * 2)));
    else if (this.capacity > cap) this.resize(cap);
    let slot: number;
    if (this.size < this.capacity) slot = (this.start + this.size++) % this.capacity;
    else { slot = this.start; this.start = (this.start + 1) % this.capacity; }
    const at = slot * WIDTH;
    const d = this.data;
    d[at] = s.t; d[at + 1] = s.count; d[at + 2] = s.min; d[at + 3] = s.max; d[at + 4] = s.mean; d[at + 5] = s.std; d[at + 6] = s.last;
  }

  get lastT(): number { return this.size === 0 ? -Infinity : this.data[((this.start + this.size - 1) % this.capacity) * WIDTH]; }

  /** Columns oldest first: { t: [...], count: [...], ... } (NaN stays NaN; JSON turns it into null). */
  columns(): Record<(typeof FIELDS)[number], number[]> {
    const out = Object.fromEntries(FIELDS.map((f) => [f, new Array<number>(this.size)])) as Record<(typeof FIELDS)[number], number[]>;
    for (let i = 0; i < this.size; i++) {
      const at = ((this.start + i) % this.capacity) * WIDTH;
      for (let f = 0; f < WIDTH; f++) out[FIELDS[f]][i] = this.data[at + f];
    }
    return out;
  }

  /** Keep the newest min(size, capacity) points in a buffer of that capacity. */
  private resize(capacity: number): void {
    const keep = Math.min(this.size, capacity);
    const next = new Float64Array(capacity * WIDTH);
    for (let i = 0; i < keep; i++) {
      const from = ((this.start + this.size - keep + i) % this.capacity) * WIDTH;
      next.set(this.data.subarray(from, from + WIDTH), i * WIDTH);
    }
    this.data = next; this.capacity = capacity; this.start = 0; this.size = keep;
  }
}

export interface DeviceRecord {
  id: number;
  hello: HelloEvent | null;
  status: StatusEvent | null;
  /** Device time of the latest event of any kind from this device. */
  lastSeen: number;
  /** Channels whose threshold is crossed now (an ALERT not yet CLEARed), by channel id. */
  alerting: Map<number, DeviceEvent>;
  /** The fault in force (a FAULT not yet FAULT_CLEARED), if any. */
  fault: DeviceEvent | null;
}

export interface SeriesSnapshot {
  device: number; channel: number;
  t: number[]; count: number[]; min: number[]; max: number[]; mean: number[]; std: number[]; last: number[];
}

/** What /state serves and what a new SSE client gets first. JSON-safe apart from NaN (serialised as null). */
export interface StoreSnapshot {
  /** Newest device time seen. */
  t: number;
  limits: StoreLimits;
  fleet: FleetEvent | null;
  devices: Array<{ id: number; hello: HelloEvent | null; status: StatusEvent | null; lastSeen: number;
    alerting: DeviceEvent[]; fault: DeviceEvent | null }>;
  /** Newest last. */
  events: DeviceEvent[];
  series: SeriesSnapshot[];
}

const ALERT_KINDS: ReadonlySet<DashboardEventKind> = new Set(["ALERT_HIGH", "ALERT_LOW"]);

export class DashboardStore {
  readonly limits: StoreLimits;
  readonly devices = new Map<number, DeviceRecord>();
  /** Device id -> channel id -> ring. */
  private readonly series = new Map<number, Map<number, SeriesRing>>();
  private seriesCount = 0;
  /** Ring of recent device events: filled up to eventsKept, then the oldest (at recentStart) is overwritten. */
  private readonly recent: DeviceEvent[] = [];
  private recentStart = 0;
  private fleet: FleetEvent | null = null;
  private newestT = 0;

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits };
  }

  /** The cap every series has now: pointsPerSeries, lowered when the total budget would be exceeded. */
  get pointsPerSeriesNow(): number {
    const { pointsPerSeries, pointBudget, minPointsPerSeries } = this.limits;
    const share = Math.floor(pointBudget / Math.max(1, this.seriesCount));
    return Math.max(Math.min(minPointsPerSeries, pointsPerSeries), Math.min(pointsPerSeries, share));
  }

  add(e: DashboardEvent): void {
    if (e.kind === "fleet") { this.fleet = e; this.newestT = Math.max(this.newestT, e.t); return; }
    const dev = this.device(e.device);
    dev.lastSeen = Math.max(dev.lastSeen, e.t);
    this.newestT = Math.max(this.newestT, e.t);
    switch (e.kind) {
      case "hello": dev.hello = e; break;
      case "status": dev.status = e; break;
      case "summary": this.ring(e.device, e.channel).push(e, this.pointsPerSeriesNow); break;
      case "event": this.addDeviceEvent(dev, e); break;
    }
  }

  private addDeviceEvent(dev: DeviceRecord, e: DeviceEvent): void {
    if (ALERT_KINDS.has(e.event)) dev.alerting.set(e.channel, e);
    else if (e.event === "CLEAR") dev.alerting.delete(e.channel);
    else if (e.event === "FAULT") dev.fault = e;
    else if (e.event === "FAULT_CLEARED") dev.fault = null;
    else if (e.event === "RESET") { dev.alerting.clear(); dev.fault = null; } // the module starts afresh
    if (this.recent.length < this.limits.eventsKept) this.recent.push(e);
    else { this.recent[this.recentStart] = e; this.recentStart = (this.recentStart + 1) % this.recent.length; }
  }

  private device(id: number): DeviceRecord {
    let dev = this.devices.get(id);
    if (!dev) {
      dev = { id, hello: null, status: null, lastSeen: -Infinity, alerting: new Map(), fault: null };
      this.devices.set(id, dev);
    }
    return dev;
  }

  private ring(device: number, channel: number): SeriesRing {
    let byChannel = this.series.get(device);
    if (!byChannel) { byChannel = new Map(); this.series.set(device, byChannel); }
    let ring = byChannel.get(channel);
    if (!ring) { ring = new SeriesRing(); byChannel.set(channel, ring); this.seriesCount++; }
    return ring;
  }

  /** Recent device events, oldest first. */
  recentEvents(): DeviceEvent[] {
    return [...this.recent.slice(this.recentStart), ...this.recent.slice(0, this.recentStart)];
  }

  /** Stored summaries of the given devices ("all": every device), in device then channel order. */
  seriesOf(devices: Iterable<number> | "all"): SeriesSnapshot[] {
    const ids = devices === "all" ? [...this.series.keys()] : [...new Set(devices)];
    const out: SeriesSnapshot[] = [];
    for (const device of ids.sort((a, b) => a - b)) {
      const byChannel = this.series.get(device);
      if (!byChannel) continue;
      for (const channel of [...byChannel.keys()].sort((a, b) => a - b)) {
        out.push({ device, channel, ...byChannel.get(channel)!.columns() });
      }
    }
    return out;
  }

  /** Everything but summaries for every device; summaries only for `seriesDevices` (the ones charted). */
  snapshot(seriesDevices: Iterable<number> | "all"): StoreSnapshot {
    const devices = [...this.devices.values()].sort((a, b) => a.id - b.id).map((d) => ({
      id: d.id, hello: d.hello, status: d.status, lastSeen: d.lastSeen,
      alerting: [...d.alerting.values()], fault: d.fault,
    }));
    return {
      t: this.newestT, limits: { ...this.limits, pointsPerSeries: this.pointsPerSeriesNow }, fleet: this.fleet,
      devices, events: this.recentEvents(), series: this.seriesOf(seriesDevices),
    };
  }
}
