// What the bridge stores in its spool for each accepted frame, and how a stored record becomes upstream
// messages (docs/bridge.md "Records", docs/mqtt.md "Topics"). One record = one frame (or one MicroPython
// data message): its device, session and seq (the de-duplication key), the frame's bytes as received
// (for a chained bridge, and to build the JSON view from) and the names and units, from the device's
// hello at acceptance, of the channels the frame refers to — so a replay after a restart needs no other
// state, and the JSON is built only when a record is forwarded. Pure functions; touches nothing.
import {
  decodeFrameAllowingHmac, frameToJson, type Frame, type HelloChannel, type JsonObject, type JsonValue,
} from "../protocol/index.js";

export interface SpoolRecord {
  device: number;
  /** Session id (docs/bridge.md): a new one each time the device restarts. */
  session: number;
  seq: number;
  /** Bridge wall-clock ms when the frame was received (for the forward latency). */
  rx: number;
  /** The frame's bytes as received, signed ones still signed (absent for MicroPython JSON messages). */
  frame?: Uint8Array;
  /** `frame` decoded (kept while the record is in memory; decoded again when read back from disk). */
  decoded?: Frame;
  /** Channels of the device's hello when the frame was accepted: at least those the frame refers to. */
  channels?: readonly HelloChannel[];
  /** Received from another bridge (a bridge below, a peer's rule) rather than from the device itself:
   *  a rule's tcp:// target does not send it on (host/store/rules.ts), so peers never echo. */
  relayed?: boolean;
  /** A MicroPython node's message; or, in a record written by an older bridge, the frame's JSON view. */
  message?: JsonObject;
}

// Binary record body (docs/bridge.md "Spool"): u8 format, u8 flags, u32 LE device, u32 LE seq,
// f64 LE session, f64 LE rx; with a frame: u16 LE length + the frame, u8 channel count + per channel
// u8 id, u8 kind, u8 name length, name, u8 unit length, unit (UTF-8, as in a HELLO); with a message:
// the rest is its UTF-8 JSON. Older bridges wrote the whole record as JSON (first byte "{").
const RECORD_FORMAT = 1;
const HAS_FRAME = 1;
const HAS_MESSAGE = 2;
const RELAYED = 4;
const FIXED = 26;

/** Per hello channel table, each channel's bytes in the record format (built once per hello). */
const encodedChannels = new WeakMap<readonly HelloChannel[], Map<number, Buffer>>();

function channelBytes(channels: readonly HelloChannel[]): Map<number, Buffer> {
  let m = encodedChannels.get(channels);
  if (!m) {
    m = new Map();
    for (const c of channels) {
      const name = Buffer.from(c.name, "utf8");
      const unit = Buffer.from(c.unit, "utf8");
      const b = Buffer.alloc(4 + name.length + unit.length);
      b[0] = c.id; b[1] = c.kind; b[2] = name.length; name.copy(b, 3); b[3 + name.length] = unit.length; unit.copy(b, 4 + name.length);
      m.set(c.id, b);
    }
    encodedChannels.set(channels, m);
  }
  return m;
}

/** The encoded channels a frame names (its JSON view looks their names and units up in the hello); all
 *  of the hello's when it names two channels alike, since a channel's topic level then depends on the
 *  others (channelTopicLevels), and a record read back must publish on the same topic. */
function referencedChannels(frame: Frame | undefined, channels: readonly HelloChannel[]): Buffer[] {
  if (frame?.type !== "event" && frame?.type !== "summary") return [];
  const table = channelBytes(channels);
  if (repeatedLevels(channels)) return [...table.values()];
  if (frame.type === "event") {
    const b = table.get(frame.channel);
    return b ? [b] : [];
  }
  const out: Buffer[] = [];
  for (const e of frame.entries) {
    const b = table.get(e.channel);
    if (b && !out.includes(b)) out.push(b);
  }
  return out;
}

export function encodeRecord(r: SpoolRecord): Buffer {
  const parts = r.frame && r.channels ? referencedChannels(r.decoded, r.channels) : [];
  let size = FIXED;
  if (r.frame) size += 2 + r.frame.length + 1;
  for (const b of parts) size += b.length;
  const json = r.message ? Buffer.from(JSON.stringify(r.message), "utf8") : null;
  if (json) size += json.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = RECORD_FORMAT;
  out[1] = (r.frame ? HAS_FRAME : 0) | (json ? HAS_MESSAGE : 0) | (r.relayed ? RELAYED : 0);
  out.writeUInt32LE(r.device >>> 0, 2);
  out.writeUInt32LE(r.seq >>> 0, 6);
  out.writeDoubleLE(r.session, 10);
  out.writeDoubleLE(r.rx, 18);
  let at = FIXED;
  if (r.frame) {
    out.writeUInt16LE(r.frame.length, at);
    out.set(r.frame, at + 2);
    at += 2 + r.frame.length;
    out[at++] = parts.length;
    for (const b of parts) { b.copy(out, at); at += b.length; }
  }
  if (json) json.copy(out, at);
  return out;
}

export function decodeRecord(body: Buffer): SpoolRecord {
  if (body[0] !== RECORD_FORMAT) {
    // Written by an older bridge: JSON with the frame in base64 and its JSON view made at acceptance.
    const old = JSON.parse(body.toString("utf8")) as Omit<SpoolRecord, "frame"> & { frame?: string };
    return { ...old, frame: old.frame === undefined ? undefined : Buffer.from(old.frame, "base64") };
  }
  const r: SpoolRecord = { device: body.readUInt32LE(2), seq: body.readUInt32LE(6), session: body.readDoubleLE(10), rx: body.readDoubleLE(18) };
  if (body[1] & RELAYED) r.relayed = true;
  let at = FIXED;
  if (body[1] & HAS_FRAME) {
    const length = body.readUInt16LE(at);
    r.frame = body.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    const channels: HelloChannel[] = [];
    for (let n = body[at++]; n > 0; n--) {
      const id = body[at];
      const kind = body[at + 1];
      const name = body.toString("utf8", at + 3, at + 3 + body[at + 2]);
      at += 3 + body[at + 2];
      const unit = body.toString("utf8", at + 1, at + 1 + body[at]);
      at += 1 + body[at];
      channels.push({ id, kind, name, unit });
    }
    r.channels = channels;
    const d = decodeFrameAllowingHmac(r.frame);
    if (d.ok) r.decoded = d.frame;
  }
  if (body[1] & HAS_MESSAGE) r.message = JSON.parse(body.toString("utf8", at)) as JsonObject;
  return r;
}

/** What de-duplication needs of a stored record (read at start for every record on disk): the key and
 *  the CRC-32 trailer of the frame; null for a MicroPython message. */
export function recordKey(body: Buffer): { device: number; seq: number; session: number; crc: number } | null {
  let frame: Uint8Array | undefined;
  let r: { device: number; seq: number; session: number };
  if (body[0] === RECORD_FORMAT) {
    if (!(body[1] & HAS_FRAME)) return null;
    r = { device: body.readUInt32LE(2), seq: body.readUInt32LE(6), session: body.readDoubleLE(10) };
    frame = body.subarray(FIXED + 2, FIXED + 2 + body.readUInt16LE(FIXED));
  } else {
    r = decodeRecord(body);
    frame = (r as SpoolRecord).frame;
  }
  if (!frame || frame.length < 4) return null;
  return { ...r, crc: Buffer.from(frame.buffer, frame.byteOffset, frame.length).readUInt32LE(frame.length - 4) };
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

function decodedOrThrow(bytes: Uint8Array): Frame {
  const d = decodeFrameAllowingHmac(bytes);
  if (!d.ok) throw new Error(`spool record with an undecodable frame: ${d.error}`); // it was decoded when accepted
  return d.frame;
}

/** The JSON a consumer gets: the frame's view (names and units from `channels`) or the node's message,
 *  with the device in hex, the session and the seq (the key is device, session, seq). */
export function upstreamMessage(r: SpoolRecord): JsonObject {
  if (r.message) return { ...r.message, device: deviceName(r.device), session: r.session, seq: r.seq };
  const frame = r.decoded ?? (r.frame ? (r.decoded = decodedOrThrow(r.frame)) : undefined);
  if (!frame) throw new Error(`spool record ${deviceName(r.device)}/${r.session}/${r.seq} has neither a frame nor a message`);
  // A fresh object: set the fields in place (same keys, same order as the spread above, less work).
  const m = frameToJson(frame, r.channels);
  m.device = deviceName(r.device);
  m.session = r.session;
  m.seq = r.seq;
  return m;
}

/** Channel names made usable as one MQTT topic level, memoised (a fleet has few distinct names). */
const topicLevels = new Map<string, string>();

/** A channel name usable as one MQTT topic level. */
export function topicLevel(name: JsonValue | undefined, id: JsonValue | undefined): string {
  if (typeof name !== "string" || name.length === 0) return `ch${String(id)}`;
  let level = topicLevels.get(name);
  if (level === undefined) {
    level = name.replace(/[^A-Za-z0-9_-]/g, "_");
    if (topicLevels.size < 10_000) topicLevels.set(name, level);
  }
  return level;
}

/** Topic levels of a hello whose channels repeat a name (level), memoised per channel table; null when
 *  every name is unique (the common case: each level is then just topicLevel of the name). */
const levelTables = new WeakMap<readonly { id: number; name: string }[], Map<number, string> | null>();

function repeatedLevels(channels: readonly { id: number; name: string }[] | undefined): Map<number, string> | null {
  if (!channels || channels.length < 2) return null;
  let m = levelTables.get(channels);
  if (m === undefined) {
    const seen = new Set<string>();
    let repeated = false;
    for (const c of channels) {
      const level = topicLevel(c.name, c.id);
      if (seen.has(level)) repeated = true;
      seen.add(level);
    }
    m = repeated ? channelTopicLevels(channels) : null;
    levelTables.set(channels, m);
  }
  return m;
}

/** Each channel's topic level (docs/mqtt.md "Topics"): its name made one topic level; when a hello names
 *  several channels alike (env-station's BME280 and SHT31 both say "temperature"), the lowest channel id
 *  keeps the plain name and the next ones, by id, take `<name>_2`, `<name>_3`, ... (skipping a level
 *  another channel is literally named), so every channel has a topic of its own and a topic that was
 *  unique stays as it was. Home Assistant numbers duplicate entity ids the same way. */
export function channelTopicLevels(channels: readonly { id: number; name: string }[]): Map<number, string> {
  const sorted = [...channels].sort((a, b) => a.id - b.id);
  const bases = sorted.map((c) => topicLevel(c.name, c.id));
  const taken = new Set(bases);
  const count = new Map<string, number>();
  const out = new Map<number, string>();
  sorted.forEach((c, i) => {
    const base = bases[i];
    const n = (count.get(base) ?? 0) + 1;
    count.set(base, n);
    let level = base;
    if (n > 1) {
      for (let k = n; taken.has(level = `${base}_${k}`); k++);
      taken.add(level);
    }
    out.set(c.id, level);
  });
  return out;
}

/** The topic level of channel `id` of a record (the table's level when names repeat). */
function levelOf(levels: Map<number, string> | null, name: JsonValue | undefined, id: JsonValue | undefined): string {
  return (levels && typeof id === "number" ? levels.get(id) : undefined) ?? topicLevel(name, id);
}

/** Split a record into MQTT messages (topic relative to the prefix/device, JSON payload). A summary
 *  becomes one message per channel; everything else one message. */
export function mqttMessages(r: SpoolRecord): Array<{ topic: string; payload: JsonObject; retain?: boolean }> {
  const m = upstreamMessage(r);
  const levels = repeatedLevels(r.channels);
  switch (m.type) {
    case "summary":
      // Each channel's message: the summary's fields but "channels", then the channel's. Copied key by
      // key: spreading two objects takes V8's slow path, and a fleet sends mostly summaries.
      return (m.channels as JsonObject[]).map((c) => {
        const payload: JsonObject = {};
        for (const k in m) if (k !== "channels") payload[k] = m[k];
        for (const k in c) payload[k] = c[k];
        return { topic: `${levelOf(levels, c.name, c.channel)}/summary`, payload };
      });
    case "event":
      return [{ topic: m.channel === 0xff ? "event" : `${levelOf(levels, m.name, m.channel)}/event`, payload: m }];
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
