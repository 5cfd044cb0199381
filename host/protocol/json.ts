// A frame as a plain JSON-safe object, for upstream (MQTT, HTTP, NDJSON) and the monitor: type, op and
// kind as names, channel names and units filled in from the device's hello when given, NaN as null.
// Pure function of its inputs.
import { ChannelKind, ControlOp, EventKind, LogLevel, type Frame, type HelloChannel } from "./frame.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

function nameOf(table: Record<string, number>, value: number): string {
  for (const [k, v] of Object.entries(table)) if (v === value) return k.toLowerCase();
  return `unknown_${value}`;
}
/** JSON has no NaN or infinities: a missing statistic or disabled threshold becomes null. */
function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** @param channelsFromHello the `channels` of the device's latest hello, to name channel ids. */
export function frameToJson(frame: Frame, channelsFromHello?: readonly HelloChannel[]): JsonObject {
  const byId = new Map((channelsFromHello ?? []).map((c) => [c.id, c]));
  const channel = (id: number): JsonObject => {
    const c = byId.get(id);
    return c ? { channel: id, name: c.name, unit: c.unit } : { channel: id };
  };
  const head: JsonObject = { type: frame.type, device: frame.device, seq: frame.seq, t: frame.t };
  switch (frame.type) {
    case "hello":
      return {
        ...head, abi: frame.abi, firmware: frame.firmware, board: frame.board, appHash: frame.appHash,
        samplePeriodMs: frame.samplePeriodMs,
        channels: frame.channels.map((c) => ({ id: c.id, kind: nameOf(ChannelKind, c.kind), name: c.name, unit: c.unit })),
      };
    case "summary":
      return {
        ...head, windowStart: frame.windowStart, windowMs: frame.windowMs,
        channels: frame.entries.map((e) => ({
          ...channel(e.channel), count: e.count,
          min: num(e.min), max: num(e.max), mean: num(e.mean), std: num(e.std), last: num(e.last),
        })),
      };
    case "event":
      return { ...head, ...channel(frame.channel), kind: nameOf(EventKind, frame.kind), value: num(frame.value), code: frame.code };
    case "status":
      return {
        ...head, samples: frame.samples, dropped: frame.dropped, faults: frame.faults, framesSent: frame.framesSent,
        resets: frame.resets, sleeping: frame.sleeping,
      };
    case "log":
      return { ...head, level: nameOf(LogLevel, frame.level), text: frame.text };
    case "ack":
      return { ...head, ackedSeq: frame.ackedSeq, op: nameOf(ControlOp, frame.op), result: frame.result };
    case "control": {
      const { type: _type, device: _device, seq: _seq, t: _t, ...command } = frame;
      const args: JsonObject = {};
      for (const [k, v] of Object.entries(command)) args[k] = typeof v === "number" ? num(v) : (v as JsonValue);
      return { ...head, ...args };
    }
  }
}
