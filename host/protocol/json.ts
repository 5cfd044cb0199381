// A frame as a plain JSON-safe object, for upstream (MQTT, HTTP, NDJSON) and the monitor: type, op and
// kind as names, channel names and units filled in from the device's hello when given, NaN as null,
// float32 readings in their shortest form (22.1, not 22.100000381469727). Pure function of its inputs.
import { ChannelKind, ControlOp, EventKind, LogLevel, type Frame, type HelloChannel } from "./frame.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Each table's names by value, lower-cased, the first name of a value winning; made once per table
 *  (the bridge converts tens of thousands of frames a second). */
const namesByValue = new Map<Record<string, number>, Map<number, string>>();
function nameOf(table: Record<string, number>, value: number): string {
  let names = namesByValue.get(table);
  if (!names) {
    names = new Map();
    for (const [k, v] of Object.entries(table)) if (!names.has(v)) names.set(v, k.toLowerCase());
    namesByValue.set(table, names);
  }
  return names.get(value) ?? `unknown_${value}`;
}
/** JSON has no NaN or infinities: a missing statistic or disabled threshold becomes null. A float32
 *  (what every reading on the wire is) is written with the fewest digits that read back as the same
 *  float32: 22.1 for the f32 nearest 22.1, what the device measured, rather than the 17 digits of the
 *  double it widens to. Integers and values that are no float32 pass as they are. */
export function num(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  if (Number.isInteger(v) || Math.fround(v) !== v) return v;
  for (let digits = 6; digits < 9; digits++) {
    const short = Number(v.toPrecision(digits));
    if (Math.fround(short) === v) return short;
  }
  return Number(v.toPrecision(9)); // 9 significant digits always identify a float32
}

function channelTableJson(channels: readonly HelloChannel[]): JsonObject[] {
  return channels.map((c) => ({ id: c.id, kind: nameOf(ChannelKind, c.kind), name: c.name, unit: c.unit }));
}

/** @param channelsFromHello the `channels` of the device's latest hello, to name channel ids. */
export function frameToJson(frame: Frame, channelsFromHello?: readonly HelloChannel[]): JsonObject {
  // Fields are set one by one in a fixed order rather than spread ({ ...head, ... } takes V8's slow
  // path, microseconds per frame; the bridge converts every frame it forwards).
  const withChannel = (out: JsonObject, id: number): JsonObject => {
    // The last channel with this id, as a Map built from the list would give.
    let c: HelloChannel | undefined;
    if (channelsFromHello) for (let i = channelsFromHello.length - 1; i >= 0 && !c; i--) if (channelsFromHello[i].id === id) c = channelsFromHello[i];
    out.channel = id;
    if (c) { out.name = c.name; out.unit = c.unit; }
    return out;
  };
  const out: JsonObject = { type: frame.type, device: frame.device, seq: frame.seq, t: frame.t };
  switch (frame.type) {
    case "hello":
      out.abi = frame.abi; out.firmware = frame.firmware; out.board = frame.board; out.appHash = frame.appHash;
      if (frame.bootId !== undefined) out.bootId = frame.bootId;
      out.samplePeriodMs = frame.samplePeriodMs;
      out.channels = channelTableJson(frame.channels);
      return out;
    case "channels":
      out.channels = channelTableJson(frame.channels);
      return out;
    case "summary":
      out.windowStart = frame.windowStart; out.windowMs = frame.windowMs;
      out.channels = frame.entries.map((e) => {
        const c = withChannel({}, e.channel);
        c.count = e.count; c.min = num(e.min); c.max = num(e.max); c.mean = num(e.mean); c.std = num(e.std); c.last = num(e.last);
        return c;
      });
      return out;
    case "event":
      withChannel(out, frame.channel);
      out.kind = nameOf(EventKind, frame.kind); out.value = num(frame.value); out.code = frame.code;
      return out;
    case "status":
      out.samples = frame.samples; out.dropped = frame.dropped; out.faults = frame.faults; out.framesSent = frame.framesSent;
      out.resets = frame.resets; out.sleeping = frame.sleeping;
      return out;
    case "log":
      out.level = nameOf(LogLevel, frame.level); out.text = frame.text;
      return out;
    case "ack":
      out.ackedSeq = frame.ackedSeq; out.op = nameOf(ControlOp, frame.op); out.result = frame.result;
      return out;
    case "control": {
      const { type: _type, device: _device, seq: _seq, t: _t, ...command } = frame;
      for (const [k, v] of Object.entries(command)) out[k] = typeof v === "number" ? num(v) : (v as JsonValue);
      return out;
    }
  }
}
