// What a fleet's frames add up to: decoded frames with each device's channel table (its hello + CHANNELS),
// counters for the live view and the final summary, and the edge-reduction figure: bytes on the link
// against the same readings sent as one JSON object each. Shared by `iotfw simulate` and the benchmarks.
import { ChannelTables, decodeFrame, EventKind, frameToJson, type Frame, type HelloChannel, type JsonObject } from "../../host/protocol/index.js";
import { frameAt, type FrameBatch } from "./frame-batch.js";

/** Bytes the serial link framing adds to a frame (COBS overhead byte + 0x00 delimiter, frames < 254 B). */
const LINK_OVERHEAD = 2;

export interface TelemetryCounters {
  frames: number;
  /** Frame bytes as sent on the link (with its framing). */
  linkBytes: number;
  byType: Record<string, number>;
  /** Valid samples summarised (sum of summary counts). */
  samples: number;
  /** What those samples would cost as one JSON object per reading. */
  jsonBytes: number;
  alerts: number;
  faults: number;
  resets: number;
  undecodable: number;
}

export interface DecodedFleetFrame {
  frame: Frame;
  /** Device time (ms) of the tick that sent it: the fleet's clock (the frame's own t restarts at boot). */
  tickMs: number;
  bytes: Uint8Array;
  /** The device's channel table, once its hello was seen. */
  channels?: readonly HelloChannel[];
}

export class FleetTelemetry {
  readonly counters: TelemetryCounters = {
    frames: 0, linkBytes: 0, byType: {}, samples: 0, jsonBytes: 0, alerts: 0, faults: 0, resets: 0, undecodable: 0,
  };
  /** The latest reading of each channel name across the fleet (a summary's mean, or a rare value), for
   *  the live view. */
  readonly latest = new Map<string, { value: number; unit: string }>();
  /** Each device's table: its hello's channels plus those of the CHANNELS frames after it. */
  private readonly tables = new ChannelTables();

  /** Decode and count a slice's frames; undecodable ones are counted and skipped. */
  *ingest(batch: FrameBatch): Generator<DecodedFleetFrame> {
    for (let i = 0; i < batch.count; i++) {
      const bytes = frameAt(batch, i);
      const c = this.counters;
      c.frames++;
      c.linkBytes += bytes.length + LINK_OVERHEAD;
      const r = decodeFrame(bytes);
      if (!r.ok) { c.undecodable++; continue; }
      const frame = r.frame;
      c.byType[frame.type] = (c.byType[frame.type] ?? 0) + 1;
      this.tables.update(frame);
      const channels = this.tables.channels(frame.device);
      if (frame.type === "summary") {
        for (const e of frame.entries) {
          c.samples += e.count;
          this.noteLatest(channels, e.channel, e.mean);
          c.jsonBytes += e.count * jsonReadingBytes(frame.device, channels?.find((ch) => ch.id === e.channel), e.mean, frame.t);
        }
      } else if (frame.type === "event") {
        if (frame.kind === EventKind.ALERT_HIGH || frame.kind === EventKind.ALERT_LOW) c.alerts++;
        else if (frame.kind === EventKind.FAULT) c.faults++;
        else if (frame.kind === EventKind.RESET) c.resets++;
        else if (frame.kind === EventKind.VALUE) {
          c.samples++;
          this.noteLatest(channels, frame.channel, frame.value);
          c.jsonBytes += jsonReadingBytes(frame.device, channels?.find((ch) => ch.id === frame.channel), frame.value, frame.t);
        }
      }
      yield { frame, bytes, channels, tickMs: batch.tickMs[i] };
    }
  }

  private noteLatest(channels: readonly HelloChannel[] | undefined, id: number, value: number): void {
    const ch = channels?.find((x) => x.id === id);
    if (ch && Number.isFinite(value)) this.latest.set(ch.name, { value, unit: ch.unit });
  }

  /** The JSON line for a decoded frame (NDJSON output). */
  toJson(d: DecodedFleetFrame): JsonObject { return frameToJson(d.frame, d.channels); }

  /** Raw JSON bytes per link byte: how much the edge saves. */
  get edgeReduction(): number {
    return this.counters.linkBytes ? this.counters.jsonBytes / this.counters.linkBytes : 0;
  }
}

/** One reading as a typical naive node would send it: a JSON object per reading, newline-delimited. */
export function jsonReadingBytes(device: number, channel: HelloChannel | undefined, value: number, t: number): number {
  const reading = {
    device, channel: channel?.name ?? "unknown", unit: channel?.unit ?? "",
    value: Number.isFinite(value) ? Math.round(value * 100) / 100 : null, t,
  };
  return JSON.stringify(reading).length + 1;
}
