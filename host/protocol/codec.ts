// Host-side encoder and decoder of iotfw frames (docs/protocol.md): the one codec the simulator, the
// bridge and the monitor share. encodeFrame throws RangeError on an invalid field (a caller's bug);
// decodeFrame NEVER throws, whatever the input: it returns {ok:false, error}. CRC-32 is node:zlib's
// (IEEE 802.3, the same polynomial as the device's firmware/core/frame/crc32.ts). Pure functions.
import { crc32 } from "node:zlib";
import { ByteReader, ByteWriter, WireError } from "./bytes.js";
import {
  APP_HASH_PREFIX_BYTES, HELLO_BOOT_ID_ABI, ControlOp, CRC_SIZE, FRAME_MAX, FRAME_MIN, FRAME_VERSION, FrameType, HEADER_SIZE,
  type ControlFrame, type ControlOpName, type DecodeResult, type Frame, type FrameTypeName, type HelloChannel, type SummaryEntry,
} from "./frame.js";

const typeNameByByte = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]));
const opNameByByte = new Map<number, ControlOpName>(Object.entries(ControlOp).map(([k, v]) => [v, k as ControlOpName]));

function hexToBytes(hex: string, bytes: number, name: string): Uint8Array {
  if (typeof hex !== "string" || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(hex)) throw new RangeError(`${name} must be ${bytes * 2} hex digits`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** The CRC-32 of a frame's bytes before its trailer. */
export function frameCrc(bytes: Uint8Array, end: number): number {
  return crc32(bytes.subarray(0, end)) >>> 0;
}

// ---- encode

function writeControl(w: ByteWriter, f: ControlFrame): void {
  const op = ControlOp[f.op];
  if (op === undefined) throw new RangeError(`unknown control op ${String(f.op)}`);
  w.u8(op, "op");
  switch (f.op) {
    case "sleep": w.u32(f.ms, "ms"); break;
    case "set_window": w.u8(f.channel, "channel"); w.u32(f.ms, "ms"); w.u16(f.count, "count"); break;
    case "set_rate": w.u32(f.periodMs, "periodMs"); break;
    case "set_threshold": w.u8(f.channel, "channel"); w.f32(f.high, "high"); w.f32(f.low, "low"); w.f32(f.hysteresis, "hysteresis"); break;
    case "set_deadband": w.u8(f.channel, "channel"); w.f32(f.deadband, "deadband"); break;
    case "wake": case "ping": case "hello": break;
  }
}

/** u8 N, then N entries {u8 id, u8 kind, str name, str unit}: the same in HELLO and CHANNELS. */
function writeChannelTable(w: ByteWriter, channels: readonly HelloChannel[]): void {
  w.u8(channels.length, "channel count");
  for (const c of channels) {
    w.u8(c.id, "channel id");
    w.u8(c.kind, "channel kind");
    w.str(c.name, "channel name");
    w.str(c.unit, "channel unit");
  }
}

function writePayload(w: ByteWriter, f: Frame): void {
  switch (f.type) {
    case "hello":
      w.u8(f.abi, "abi");
      w.str(f.firmware, "firmware");
      w.str(f.board, "board");
      w.bytes(hexToBytes(f.appHash, APP_HASH_PREFIX_BYTES, "appHash"));
      if (f.abi >= HELLO_BOOT_ID_ABI) w.u32(Buffer.from(hexToBytes(f.bootId ?? "", 4, "bootId")).readUInt32BE(0), "bootId");
      else if (f.bootId !== undefined) throw new RangeError(`bootId: a HELLO of abi ${f.abi} has none (from abi ${HELLO_BOOT_ID_ABI})`);
      w.u32(f.samplePeriodMs, "samplePeriodMs");
      writeChannelTable(w, f.channels);
      return;
    case "channels":
      writeChannelTable(w, f.channels);
      return;
    case "summary":
      w.u32(f.windowStart, "windowStart");
      w.u32(f.windowMs, "windowMs");
      w.u8(f.entries.length, "entry count");
      for (const e of f.entries) {
        w.u8(e.channel, "channel");
        w.u16(e.count, "count");
        w.f32(e.min, "min"); w.f32(e.max, "max"); w.f32(e.mean, "mean"); w.f32(e.std, "std"); w.f32(e.last, "last");
      }
      return;
    case "event":
      w.u8(f.channel, "channel"); w.u8(f.kind, "kind"); w.f32(f.value, "value"); w.i32(f.code, "code");
      return;
    case "status":
      w.u32(f.samples, "samples"); w.u32(f.dropped, "dropped"); w.u32(f.faults, "faults"); w.u32(f.framesSent, "framesSent");
      w.u16(f.resets, "resets"); w.u8(f.sleeping ? 1 : 0);
      return;
    case "log":
      w.u8(f.level, "level"); w.str(f.text, "text");
      return;
    case "ack":
      w.u32(f.ackedSeq, "ackedSeq"); w.u8(f.op, "op"); w.i32(f.result, "result");
      return;
    case "control":
      writeControl(w, f);
      return;
  }
  throw new RangeError(`unknown frame type ${String((f as { type: unknown }).type)}`);
}

/** The frame's bytes, CRC included. Throws RangeError for a field out of range, a string over 255 UTF-8
 *  bytes or a frame over FRAME_MAX. */
export function encodeFrame(frame: Frame): Uint8Array {
  const type = FrameType[frame.type];
  if (type === undefined) throw new RangeError(`unknown frame type ${String(frame.type)}`);
  const w = new ByteWriter(FRAME_MAX);
  w.u8(FRAME_VERSION);
  w.u8(type);
  w.u8(0); // flags: no HMAC trailer in this version
  w.u32(frame.device, "device");
  w.u32(frame.seq, "seq");
  w.u32(frame.t, "t");
  writePayload(w, frame);
  const body = w.result();
  w.u32(frameCrc(body, body.length));
  return w.result();
}

// ---- decode

function readControl(r: ByteReader, header: { device: number; seq: number; t: number }): ControlFrame {
  const opByte = r.u8("op");
  const op = opNameByByte.get(opByte);
  if (op === undefined) throw new WireError(`unknown control op 0x${opByte.toString(16).padStart(2, "0")}`);
  const { device, seq, t } = header;
  const type = "control" as const;
  switch (op) {
    case "sleep": return { device, seq, t, type, op, ms: r.u32("ms") };
    case "set_window": return { device, seq, t, type, op, channel: r.u8("channel"), ms: r.u32("ms"), count: r.u16("count") };
    case "set_rate": return { device, seq, t, type, op, periodMs: r.u32("periodMs") };
    case "set_threshold": return { device, seq, t, type, op, channel: r.u8("channel"), high: r.f32("high"), low: r.f32("low"), hysteresis: r.f32("hysteresis") };
    case "set_deadband": return { device, seq, t, type, op, channel: r.u8("channel"), deadband: r.f32("deadband") };
    case "wake": case "ping": case "hello": return { device, seq, t, type, op };
  }
}

function readChannelTable(r: ByteReader): HelloChannel[] {
  const n = r.u8("channel count");
  const channels: HelloChannel[] = [];
  for (let i = 0; i < n; i++) channels.push({ id: r.u8("channel id"), kind: r.u8("channel kind"), name: r.str("channel name"), unit: r.str("channel unit") });
  return channels;
}

// Objects are written out field by field, header first, rather than as { ...header, ... }: a spread
// followed by more fields takes V8's slow path (microseconds per frame; the bridge decodes every frame).
function readPayload(r: ByteReader, type: FrameTypeName, header: { device: number; seq: number; t: number }): Frame {
  const { device, seq, t } = header;
  switch (type) {
    case "hello": {
      const abi = r.u8("abi");
      const firmware = r.str("firmware");
      const board = r.str("board");
      const appHash = Buffer.from(r.bytes(APP_HASH_PREFIX_BYTES, "appHash")).toString("hex");
      if (abi < HELLO_BOOT_ID_ABI) {
        const samplePeriodMs = r.u32("samplePeriodMs");
        return { device, seq, t, type, abi, firmware, board, appHash, samplePeriodMs, channels: readChannelTable(r) };
      }
      const bootId = r.u32("bootId").toString(16).padStart(8, "0"); // the u32 as it is written, as device ids are
      const samplePeriodMs = r.u32("samplePeriodMs");
      const channels = readChannelTable(r);
      return { device, seq, t, type, abi, firmware, board, appHash, bootId, samplePeriodMs, channels };
    }
    case "channels":
      return { device, seq, t, type, channels: readChannelTable(r) };
    case "summary": {
      const windowStart = r.u32("windowStart");
      const windowMs = r.u32("windowMs");
      const n = r.u8("entry count");
      const entries: SummaryEntry[] = [];
      for (let i = 0; i < n; i++) {
        entries.push({ channel: r.u8("channel"), count: r.u16("count"), min: r.f32("min"), max: r.f32("max"), mean: r.f32("mean"), std: r.f32("std"), last: r.f32("last") });
      }
      return { device, seq, t, type, windowStart, windowMs, entries };
    }
    case "event":
      return { device, seq, t, type, channel: r.u8("channel"), kind: r.u8("kind"), value: r.f32("value"), code: r.i32("code") };
    case "status": {
      const samples = r.u32("samples"), dropped = r.u32("dropped"), faults = r.u32("faults"), framesSent = r.u32("framesSent"), resets = r.u16("resets");
      const sleeping = r.u8("sleeping");
      if (sleeping > 1) throw new WireError(`sleeping is ${sleeping}, must be 0 or 1`);
      return { device, seq, t, type, samples, dropped, faults, framesSent, resets, sleeping: sleeping === 1 };
    }
    case "log":
      return { device, seq, t, type, level: r.u8("level"), text: r.str("text") };
    case "ack":
      return { device, seq, t, type, ackedSeq: r.u32("ackedSeq"), op: r.u8("op"), result: r.i32("result") };
    case "control":
      return readControl(r, header);
  }
}

function decodeChecked(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array)) return { ok: false, error: "input is not a Uint8Array" };
  const len = bytes.length;
  if (len < FRAME_MIN) return { ok: false, error: `bad length: ${len} bytes, a frame has at least ${FRAME_MIN}` };
  if (len > FRAME_MAX) return { ok: false, error: `bad length: ${len} bytes, a frame has at most ${FRAME_MAX}` };
  const end = len - CRC_SIZE;
  const view = new DataView(bytes.buffer, bytes.byteOffset, len);
  const want = view.getUint32(end, true);
  const got = frameCrc(bytes, end);
  if (want !== got) return { ok: false, error: `bad CRC: frame says ${want.toString(16).padStart(8, "0")}, bytes give ${got.toString(16).padStart(8, "0")}` };
  if (bytes[0] !== FRAME_VERSION) return { ok: false, error: `unknown version ${bytes[0]}` };
  const type = typeNameByByte.get(bytes[1]);
  if (type === undefined) return { ok: false, error: `unknown type 0x${bytes[1].toString(16).padStart(2, "0")}` };
  if (bytes[2] !== 0) return { ok: false, error: `unsupported flags 0x${bytes[2].toString(16).padStart(2, "0")}` };
  const header = { device: view.getUint32(3, true), seq: view.getUint32(7, true), t: view.getUint32(11, true) };
  const r = new ByteReader(bytes, HEADER_SIZE, end);
  const frame = readPayload(r, type, header);
  if (r.remaining !== 0) return { ok: false, error: `bad length: ${r.remaining} bytes after the ${type} payload` };
  return { ok: true, frame };
}

/** Decode one bare frame (no link framing). Never throws. */
export function decodeFrame(bytes: Uint8Array): DecodeResult {
  try {
    return decodeChecked(bytes);
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: e.message };
    return { ok: false, error: `malformed frame: ${e instanceof Error ? e.message : String(e)}` };
  }
}
