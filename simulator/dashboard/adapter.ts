// Turns what the fleet produces (a SliceResult: encoded frames stamped with device time, and watchdog
// resets) into DashboardEvents, plus one fleet-counters event per slice. Decodes with the host protocol
// codec; the simulate command calls `addSlice` from its onSlice and hands events to Dashboard.publish.
// Logs and acks are not shown. No I/O; the wall clock is injected so tests are deterministic.
import { ChannelKind, ChannelTables, EventKind, decodeFrame, type Frame } from "../../host/protocol/index.js";
import { frameAt } from "../fleet/frame-batch.js";
import type { SliceResult } from "../fleet/fleet.js";
import type { DashboardEvent, DashboardEventKind } from "./events.js";

export interface DashboardFeedOptions {
  publish(e: DashboardEvent): void;
  /** Devices in the fleet (shown before every device has said hello). */
  devices: number;
  /** Wall-clock ms, for frames per second; default performance.now. */
  wallClock?: () => number;
  /** Frames per second is measured over about this much wall time. */
  rateWindowMs?: number;
}

export interface DashboardFeedCounters {
  frames: number;
  /** Frames the codec rejected (a firmware or encoder bug worth seeing). */
  malformed: number;
  alerts: number;
  faults: number;
  /** Watchdog restarts seen by the fleet (the device's own RESET event comes after it boots again). */
  resets: number;
}

const EVENT_NAMES = new Map<number, DashboardEventKind>(
  (Object.entries(EventKind) as Array<[DashboardEventKind, number]>).map(([name, kind]) => [kind, name]));

export class DashboardFeed {
  readonly counters: DashboardFeedCounters = { frames: 0, malformed: 0, alerts: 0, faults: 0, resets: 0 };
  private readonly wallClock: () => number;
  private readonly rateWindowMs: number;
  /** (wall ms, frames so far) samples, oldest first, spanning about rateWindowMs. */
  private readonly rate: Array<[number, number]> = [];
  /** Each device's hello with the CHANNELS frames after it merged in: published whole as a hello event. */
  private readonly tables = new ChannelTables();

  constructor(private readonly options: DashboardFeedOptions) {
    this.wallClock = options.wallClock ?? (() => performance.now());
    this.rateWindowMs = options.rateWindowMs ?? 2_000;
    this.rate.push([this.wallClock(), 0]);
  }

  /** Publish the events of one slice that ended at device time nowMs, then the fleet counters. */
  addSlice(result: SliceResult, nowMs: number): void {
    const { batch } = result;
    for (let i = 0; i < batch.count; i++) {
      const decoded = decodeFrame(frameAt(batch, i));
      if (!decoded.ok) { this.counters.frames++; this.counters.malformed++; continue; }
      this.addFrame(decoded.frame, batch.tickMs[i]);
    }
    this.endSlice(result.resets.length, nowMs);
  }

  /** After the frames of a slice went through addFrame (already decoded elsewhere, e.g. by the
   *  simulate command's telemetry): count the slice's watchdog resets and publish the fleet counters. */
  endSlice(resets: number, nowMs: number): void {
    this.counters.resets += resets;
    this.options.publish({
      kind: "fleet", t: nowMs, devices: this.options.devices, framesPerSecond: this.framesPerSecond(),
      alerts: this.counters.alerts, faults: this.counters.faults, resets: this.counters.resets,
    });
  }

  /** One decoded frame sent at device time t (the fleet's clock: the frame's own t restarts at boot). */
  addFrame(frame: Frame, t: number): void {
    this.counters.frames++;
    const publish = this.options.publish;
    const device = frame.device;
    switch (frame.type) {
      case "hello":
      case "channels": {
        const hello = this.tables.update(frame);
        if (!hello) break; // CHANNELS without its HELLO: nothing to add to
        publish({
          kind: "hello", device, t, firmware: hello.firmware, board: hello.board,
          channels: hello.channels.map((c) => ({ id: c.id, name: c.name, unit: c.unit, rare: c.kind === ChannelKind.RARE })),
        });
        break;
      }
      case "summary":
        for (const e of frame.entries) {
          publish({ kind: "summary", device, t, channel: e.channel, count: e.count, min: e.min, max: e.max, mean: e.mean, std: e.std, last: e.last });
        }
        break;
      case "event": {
        const name = EVENT_NAMES.get(frame.kind);
        if (!name) break; // a kind newer than this dashboard: the monitor shows it
        if (name === "ALERT_HIGH" || name === "ALERT_LOW") this.counters.alerts++;
        if (name === "FAULT") this.counters.faults++;
        publish({ kind: "event", device, t, channel: frame.channel, event: name, value: frame.value, code: frame.code });
        break;
      }
      case "status":
        publish({
          kind: "status", device, t, samples: frame.samples, dropped: frame.dropped, faults: frame.faults,
          framesSent: frame.framesSent, resets: frame.resets, sleeping: frame.sleeping,
        });
        break;
      default:
        break; // log, ack, control: not dashboard material
    }
  }

  private framesPerSecond(): number {
    const now = this.wallClock();
    this.rate.push([now, this.counters.frames]);
    // Keep one sample at least a window old, so the rate spans a full window once there is one.
    while (this.rate.length > 2 && now - this.rate[1][0] >= this.rateWindowMs) this.rate.shift();
    const [then, framesThen] = this.rate[0];
    const seconds = (now - then) / 1000;
    return seconds > 0 ? (this.counters.frames - framesThen) / seconds : 0;
  }
}
