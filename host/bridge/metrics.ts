// The bridge's counters and their Prometheus text exposition (docs/bridge.md "Metrics"; format:
// prometheus.io/docs/instrumenting/exposition_formats, text format 0.0.4). Labelled counters, gauges
// read at scrape time, and one histogram: forward latency, from receipt to the upstream's confirmation.
// Pure in-memory state; touches nothing.
import type { SpoolRecord } from "./records.js";

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A counter keyed by one label value. */
export class Counter {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly label?: string) {}
  inc(labelValue = "", by = 1): void {
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + by);
  }
  get(labelValue = ""): number {
    return this.values.get(labelValue) ?? 0;
  }
  total(): number {
    let s = 0;
    for (const v of this.values.values()) s += v;
    return s;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0 && !this.label) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(this.label ? `${this.name}{${this.label}="${escapeLabel(k)}"} ${v}` : `${this.name} ${v}`);
    return lines.join("\n");
  }
}

/** Seconds; from 1 ms to 30 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Histogram {
  readonly counts = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly label: string, readonly bounds = LATENCY_BUCKETS) {}
  observe(labelValue: string, value: number): void {
    let h = this.counts.get(labelValue);
    if (!h) this.counts.set(labelValue, (h = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]) h.buckets[i]++;
    h.sum += value;
    h.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, h] of this.counts) {
      const l = `${this.label}="${escapeLabel(k)}"`;
      this.bounds.forEach((b, i) => lines.push(`${this.name}_bucket{${l},le="${b}"} ${h.buckets[i]}`));
      lines.push(`${this.name}_bucket{${l},le="+Inf"} ${h.count}`, `${this.name}_sum{${l}} ${h.sum}`, `${this.name}_count{${l}} ${h.count}`);
    }
    return lines.join("\n");
  }
}

export class Metrics {
  readonly framesIn = new Counter("iotfw_bridge_frames_in_total", "Frames accepted into the spool, by input link.", "link");
  readonly bytesIn = new Counter("iotfw_bridge_bytes_in_total", "Bytes of accepted frames, by input link.", "link");
  readonly framesOut = new Counter("iotfw_bridge_frames_out_total", "Records confirmed by an upstream.", "upstream");
  readonly bytesOut = new Counter("iotfw_bridge_bytes_out_total", "Frame bytes of records confirmed by an upstream.", "upstream");
  readonly rejected = new Counter("iotfw_bridge_rejected_total", "Frames or blocks refused, by reason.", "reason");
  readonly garbageBytes = new Counter("iotfw_bridge_garbage_bytes_total", "Bytes dropped by the link readers (noise, truncated or corrupt frames), by link (tcp, or serial:<path>).", "link");
  readonly connectionsRefused = new Counter("iotfw_bridge_connections_refused_total", "Connections closed as soon as accepted, by reason: connection_limit (--max-connections TCP connections open), http_connection_limit (--max-http-connections to the HTTP API), accept_failed.", "reason");
  readonly connectionsClosed = new Counter("iotfw_bridge_connections_closed_total", "TCP connections the bridge closed, by reason (idle, garbage).", "reason");
  readonly duplicates = new Counter("iotfw_bridge_duplicates_total", "Frames dropped as duplicates of an accepted (device, session, seq).");
  readonly seqGaps = new Counter("iotfw_bridge_sequence_gaps_total", "Sequence numbers missing between accepted frames, by device.", "device");
  readonly sessions = new Counter("iotfw_bridge_device_sessions_total", "Device sessions started (a boot seen), by device.", "device");
  readonly upstreamErrors = new Counter("iotfw_bridge_upstream_errors_total", "Failed deliveries (retried), by upstream.", "upstream");
  readonly controls = new Counter("iotfw_bridge_control_total", "Control commands by outcome (acked, error, timeout, offline, unknown).", "outcome");
  readonly latency = new Histogram("iotfw_bridge_forward_latency_seconds", "From receipt of a frame to its upstream confirming it.", "upstream");
  /** Counters and histograms kept by optional parts (the rules, host/store/rules.ts), rendered with these. */
  readonly extra: Array<Counter | Histogram> = [];
  /** Read at scrape time: name -> [help, value]. */
  private readonly gauges = new Map<string, [string, () => number, "gauge" | "counter"]>();

  /** A value read at scrape time (a counter kept elsewhere, e.g. by the spool, when type is "counter"). */
  gauge(name: string, help: string, read: () => number, type: "gauge" | "counter" = "gauge"): void {
    this.gauges.set(name, [help, read, type]);
  }

  /** Called with every forward latency in seconds (the bench takes exact percentiles from it). */
  onLatency?: (upstream: string, seconds: number) => void;

  forwarded(upstream: string, r: SpoolRecord, now: number): void {
    this.framesOut.inc(upstream);
    if (r.frame) this.bytesOut.inc(upstream, r.frame.length);
    this.latency.observe(upstream, Math.max(0, now - r.rx) / 1000);
    this.onLatency?.(upstream, Math.max(0, now - r.rx) / 1000);
  }

  render(): string {
    const parts = [this.framesIn, this.bytesIn, this.framesOut, this.bytesOut, this.rejected, this.garbageBytes, this.connectionsRefused,
      this.connectionsClosed, this.duplicates, this.seqGaps, this.sessions, this.upstreamErrors, this.controls, ...this.extra].map((c) => c.render());
    for (const [name, [help, read, type]] of this.gauges) parts.push(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${read()}`);
    parts.push(this.latency.render());
    return parts.join("\n") + "\n";
  }
}
