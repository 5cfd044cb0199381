// What the bridge stores in its spool for each accepted frame, and how a stored record becomes upstream
// messages (docs/bridge.md "Records", docs/mqtt.md "Topics"). One record = one frame (or one MicroPython
// data message): its device, session and seq (the de-duplication key), the frame's bytes as received
// (for a chained bridge) and its JSON view with channel names and units from the device's hello, made
// when accepted so a replay after a restart needs no other state. Pure functions; touches nothing.
import type { JsonObject, JsonValue } from "../protocol/index.js";

export interface SpoolRecord {
  device: number;
  /** Session id (docs/bridge.md): a new one each time the device restarts. */
  session: number;
  seq: number;
  /** Bridge wall-clock ms when the frame was received (for the forward latency). */
  rx: number;
  /** The frame's bytes as received, base64 (absent for MicroPython JSON messages). */
  frame?: string;
  /** The upstream JSON view: frameToJson(frame, hello channels), or the JSON node's data. */
  message: JsonObject;
}

export function encodeRecord(r: SpoolRecord): Buffer {
  return Buffer.from(JSON.stringify(r));
}
export function decodeRecord(body: Buffer): SpoolRecord {
  return JSON.parse(body.toString("utf8")) as SpoolRecord;
}

/** A device id as it appears in topics and paths: 8 lowercase hex digits. */
export function deviceName(device: number): string {
  return (device >>> 0).toString(16).padStart(8, "0");
}
/** Parse a device id written in hex, as in topics: "00c0ffee", "c0ffee" or "0x00C0FFEE"; null otherwise. */
export function parseDeviceName(text: string): number | null {
  const hex = /^(0x)?([0-9a-f]{1,8})$/.exec(text.trim().toLowerCase());
  return hex ? parseInt(hex[2], 16) >>> 0 : null;
}

/** The JSON a consumer gets: the frame's view plus the session (the key is device, session, seq). */
export function upstreamMessage(r: SpoolRecord): JsonObject {
  return { ...r.message, device: deviceName(r.device), session: r.session, seq: r.seq };
}

/** A channel name usable as one MQTT topic level. */
function topicLevel(name: JsonValue | undefined, id: JsonValue | undefined): string {
  if (typeof name === "string" && name.length > 0) return name.replace(/[^A-Za-z0-9_-]/g, "_");
  return `ch${String(id)}`;
}

/** Split a record into MQTT messages (topic relative to the prefix/device, JSON payload). A summary
 *  becomes one message per channel; everything else one message. */
export function mqttMessages(r: SpoolRecord): Array<{ topic: string; payload: JsonObject; retain?: boolean }> {
  const m = upstreamMessage(r);
  switch (m.type) {
    case "summary": {
      const { channels, ...head } = m;
      return (channels as JsonObject[]).map((c) => ({ topic: `${topicLevel(c.name, c.channel)}/summary`, payload: { ...head, ...c } }));
    }
    case "event":
      return [{ topic: m.channel === 0xff ? "event" : `${topicLevel(m.name, m.channel)}/event`, payload: m }];
    case "hello":
      return [{ topic: "hello", payload: m, retain: true }];
    default:
      return [{ topic: String(m.type), payload: m }];
  }
}

/** Wall-clock ms with sub-ms resolution (for the forward latency). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
