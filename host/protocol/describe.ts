// One human-readable line per decoded frame (device, seq, time, type, channel names from the device's
// hello and CHANNELS frames, values to 4 significant digits): what `iotfw monitor` and `iotfw dev`
// print. Pure.
import { frameToJson, type JsonObject } from "./json.js";
import type { Frame, HelloChannel } from "./frame.js";

const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null ? "-" : String(v));

const channelList = (j: JsonObject) => (j.channels as JsonObject[]).map((c) => `${c.id}=${c.name}[${c.unit}]`).join(" ");

/** One human-readable line for a decoded frame. */
export function describeFrame(frame: Frame, channels?: readonly HelloChannel[]): string {
  const j = frameToJson(frame, channels) as JsonObject;
  const head = `dev ${frame.device} #${frame.seq} t=${frame.t}ms ${frame.type}`;
  const name = (c: JsonObject) => (c.name ? `${c.name}${c.unit ? `[${c.unit}]` : ""}` : `ch${c.channel}`);
  switch (frame.type) {
    case "hello":
      return `${head} ${j.firmware} on ${j.board}, abi ${j.abi}, sample ${j.samplePeriodMs} ms, channels: ` +
        channelList(j);
    case "channels":
      return `${head} more channels: ${channelList(j)}`;
    case "summary":
      return `${head} window ${j.windowMs} ms: ` + (j.channels as JsonObject[])
        .map((c) => `${name(c)} n=${c.count} mean=${fmt(c.mean)} min=${fmt(c.min)} max=${fmt(c.max)} sd=${fmt(c.std)}`).join("; ");
    case "event":
      return `${head} ${j.kind} ${name(j)} value=${fmt(j.value)} code=${j.code}`;
    case "log":
      return `${head} [${j.level}] ${j.text}`;
    default: {
      const { type: _t, device: _d, seq: _s, t: _tt, ...rest } = j;
      return `${head} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : fmt(v)}`).join(" ")}`;
    }
  }
}

