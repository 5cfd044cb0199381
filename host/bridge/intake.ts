// The bound on frames read from TCP connections and not yet on disk, over all connections at once
// (docs/bridge.md "Memory", issue 11). Every frame a connection hands to the bridge waits, decoded, for
// its group commit; under a flood (bridges below replaying their backlogs) that wait is what the
// bridge's memory is made of, so past `max` frames pending every connection stops reading, and once
// half of them are on disk all read again. Nothing is dropped: the kernel's TCP window holds the rest
// back on the senders. A bound per connection would let N connections hold N times as much.
// Pure in-memory state; touches nothing (the connections pause their own sockets).
import type { Metrics } from "./metrics.js";

/** A reader the gate can stop and restart (a TCP connection). */
export interface Gated {
  /** Called when the gate closes or opens: pause or resume reading accordingly. */
  gateChanged(): void;
}

export class IntakeGate {
  /** Frames handed to the bridge and not yet committed (or refused). */
  pending = 0;
  /** True while reading is paused for everyone. */
  closed = false;
  /** How many times the bound was hit (iotfw_bridge_intake_paused_total). */
  pauses = 0;
  private readonly members = new Set<Gated>();

  /** `max`: frames pending at which every reader pauses; they resume at half of it. */
  constructor(readonly max: number) {}

  /** Its state in /metrics. */
  expose(m: Metrics): void {
    m.gauge("iotfw_bridge_intake_pending", "Frames read from TCP connections and waiting for their commit (bounded by --max-pending-frames).", () => this.pending);
    m.gauge("iotfw_bridge_intake_paused", "1 while every TCP connection is paused by --max-pending-frames.", () => (this.closed ? 1 : 0));
    m.gauge("iotfw_bridge_intake_paused_total", "Times every TCP connection stopped reading: --max-pending-frames were waiting for the disk.", () => this.pauses, "counter");
  }

  join(member: Gated): void { this.members.add(member); }
  leave(member: Gated): void { this.members.delete(member); }

  /** `n` more frames wait for their commit. */
  add(n: number): void {
    this.pending += n;
    if (!this.closed && this.max > 0 && this.pending >= this.max) {
      this.closed = true;
      this.pauses++;
      for (const m of this.members) m.gateChanged();
    }
  }

  /** `n` frames were committed (or refused). */
  done(n: number): void {
    this.pending -= n;
    if (this.closed && this.pending <= this.max / 2) {
      this.closed = false;
      for (const m of this.members) m.gateChanged();
    }
  }
}
