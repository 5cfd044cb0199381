// The one frame encoder on the device side, and the downlink control decoder (layout: docs/protocol.md).
// Every encode* writes into one static 512-byte buffer (memory.data) through a write cursor and returns
// the frame's length in bytes at frameBuffer(), or ERR_INVALID when the frame would not fit in FRAME_MAX
// or a begin/entry/end sequence was broken (nothing to send then). No allocation per call: strings are
// written as UTF-8 by hand from their UTF-16 code units. Touches only its buffer, its cursor and Control.
import { ERR_INVALID } from "../../hal/imports";
import { crc32 } from "./crc32";

export const FRAME_VERSION: u8 = 1;
export const FRAME_MAX: i32 = 512;
export const BROADCAST_DEVICE: u32 = 0xFFFFFFFF;
/** version, type, flags, device, seq, t (docs/protocol.md "Header"). */
export const FRAME_HEADER_SIZE: i32 = 15;
export const FRAME_CRC_SIZE: i32 = 4;
/** u8 channel, u16 count, 5 x f32. */
export const SUMMARY_ENTRY_SIZE: i32 = 23;
/** How many entries one summary frame holds: (512 - 15 header - 9 window fields - 4 CRC) / 23 = 21.
 *  More channels closing at once must go out as several summaries. */
export const SUMMARY_MAX_ENTRIES: i32 = 21;
/** Strings on the wire: u8 length + UTF-8; longer strings are cut at a character boundary. */
export const STRING_MAX_BYTES: i32 = 255;

export const TYPE_HELLO: u8 = 0x01;
export const TYPE_SUMMARY: u8 = 0x02;
export const TYPE_EVENT: u8 = 0x03;
export const TYPE_STATUS: u8 = 0x04;
export const TYPE_LOG: u8 = 0x05;
export const TYPE_ACK: u8 = 0x06;
export const TYPE_CHANNELS: u8 = 0x07;
export const TYPE_CONTROL: u8 = 0x10;

export const EVENT_ALERT_HIGH: u8 = 1;
export const EVENT_ALERT_LOW: u8 = 2;
export const EVENT_CLEAR: u8 = 3;
export const EVENT_VALUE: u8 = 4;
export const EVENT_FAULT: u8 = 5;
export const EVENT_FAULT_CLEARED: u8 = 6;
export const EVENT_RESET: u8 = 7;

export const OP_SLEEP: u8 = 0x01;
export const OP_WAKE: u8 = 0x02;
export const OP_SET_WINDOW: u8 = 0x03;
export const OP_SET_RATE: u8 = 0x04;
export const OP_SET_THRESHOLD: u8 = 0x05;
export const OP_SET_DEADBAND: u8 = 0x06;
export const OP_PING: u8 = 0x07;
export const OP_HELLO: u8 = 0x08;

// ---- the write cursor over the static frame buffer

const frame = memory.data(512); // FRAME_MAX
let cursor: i32 = 0;
/** Set when a write did not fit (the CRC's 4 bytes are always kept free) or a sequence was broken. */
let broken = false;
/** The type whose begin/entry/end sequence is open (0: none), where its entry count byte is, how many. */
let openType: u8 = 0;
let countAt: i32 = 0;
let entries: i32 = 0;
let entriesDeclared: i32 = 0;
/** Set when a channel entry did not fit in the open HELLO/CHANNELS frame: that entry and every later one
 *  is refused, so the frame holds a prefix of the table (ids in order) and the rest goes in CHANNELS. */
let full = false;

export function frameBuffer(): usize { return frame; }

function room(bytes: i32): bool {
  if (cursor + bytes > FRAME_MAX - FRAME_CRC_SIZE) { broken = true; return false; }
  return true;
}
function putU8(v: u32): void { if (room(1)) { store<u8>(frame + <usize>cursor, <u8>v); cursor += 1; } }
function putU16(v: u32): void { if (room(2)) { store<u16>(frame + <usize>cursor, <u16>v); cursor += 2; } }
function putU32(v: u32): void { if (room(4)) { store<u32>(frame + <usize>cursor, v); cursor += 4; } }
/** binary32; every NaN is written as the canonical quiet NaN 0x7FC00000 so frames are byte-for-byte
 *  reproducible (Wasm leaves the payload and sign of a demoted NaN open: WebAssembly core spec 4.3.3). */
function putF32(v: f64): void {
  if (!room(4)) return;
  if (isNaN(v)) store<u32>(frame + <usize>cursor, 0x7FC00000);
  else store<f32>(frame + <usize>cursor, <f32>v);
  cursor += 4;
}
function putStr(s: string): void {
  if (!room(1)) return;
  const lengthAt = cursor;
  cursor += 1;
  let written = 0;
  const units = s.length;
  for (let i = 0; i < units; i++) {
    let cp = <u32>s.charCodeAt(i);
    let width = 3;
    let consumed = 1;
    if (cp < 0x80) width = 1;
    else if (cp < 0x800) width = 2;
    else if (cp >= 0xD800 && cp <= 0xDFFF) {
      const next = i + 1 < units ? <u32>s.charCodeAt(i + 1) : 0;
      if (cp <= 0xDBFF && next >= 0xDC00 && next <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (next - 0xDC00);
        width = 4;
        consumed = 2;
      } else cp = 0xFFFD; // a lone surrogate is not UTF-8-encodable (RFC 3629 section 3): replacement char
    }
    if (written + width > STRING_MAX_BYTES) break; // cut at a character boundary
    if (!room(width)) break;
    const p = frame + <usize>cursor;
    if (width == 1) store<u8>(p, <u8>cp);
    else if (width == 2) {
      store<u8>(p, <u8>(0xC0 | (cp >> 6)));
      store<u8>(p, <u8>(0x80 | (cp & 0x3F)), 1);
    } else if (width == 3) {
      store<u8>(p, <u8>(0xE0 | (cp >> 12)));
      store<u8>(p, <u8>(0x80 | ((cp >> 6) & 0x3F)), 1);
      store<u8>(p, <u8>(0x80 | (cp & 0x3F)), 2);
    } else {
      store<u8>(p, <u8>(0xF0 | (cp >> 18)));
      store<u8>(p, <u8>(0x80 | ((cp >> 12) & 0x3F)), 1);
      store<u8>(p, <u8>(0x80 | ((cp >> 6) & 0x3F)), 2);
      store<u8>(p, <u8>(0x80 | (cp & 0x3F)), 3);
    }
    cursor += width;
    written += width;
    i += consumed - 1;
  }
  store<u8>(frame + <usize>lengthAt, <u8>written);
}

function begin(type: u8, device: u32, seq: u32, t: u32): void {
  cursor = 0;
  broken = false;
  openType = 0;
  putU8(FRAME_VERSION);
  putU8(type);
  putU8(0); // flags: no HMAC trailer in this version
  putU32(device);
  putU32(seq);
  putU32(t);
}
/** Append the CRC-32 of everything before it; the frame's length, or ERR_INVALID. */
function finish(): i32 {
  openType = 0;
  if (broken) return ERR_INVALID;
  store<u32>(frame + <usize>cursor, crc32(frame, cursor));
  cursor += FRAME_CRC_SIZE;
  return cursor;
}
function openSequence(type: u8): void {
  openType = type;
  countAt = cursor;
  entries = 0;
  full = false;
}
function entryFits(type: u8): bool {
  if (openType != type) { broken = true; return false; }
  return true;
}

/** The first HAL ABI whose HELLO carries the boot id (docs/protocol.md 0x01). */
export const HELLO_BOOT_ID_ABI: u8 = 2;

/** Hello, in three steps so the channel table needs no array: begin, one helloChannel per channel, end.
 *  channelCount is the whole table; the entries that do not fit follow in CHANNELS frames. bootId is
 *  written when abi >= HELLO_BOOT_ID_ABI (a device always is; older layouts stay encodable for tests). */
export function helloBegin(device: u32, seq: u32, t: u32, abi: u8, firmware: string, board: string, appHash8: usize, bootId: u32, samplePeriodMs: u32, channelCount: u8): void {
  begin(TYPE_HELLO, device, seq, t);
  putU8(abi);
  putStr(firmware);
  putStr(board);
  if (room(8)) {
    for (let i: usize = 0; i < 8; i++) store<u8>(frame + <usize>cursor + i, load<u8>(appHash8 + i));
    cursor += 8;
  }
  if (abi >= HELLO_BOOT_ID_ABI) putU32(bootId);
  putU32(samplePeriodMs);
  openChannelTable(TYPE_HELLO, channelCount);
}
/** CHANNELS (0x07): the part of the channel table HELLO had no room for, sent right after it: begin with
 *  the number of entries still to send, one helloChannel per entry, end. */
export function channelsBegin(device: u32, seq: u32, t: u32, channelCount: u8): void {
  begin(TYPE_CHANNELS, device, seq, t);
  openChannelTable(TYPE_CHANNELS, channelCount);
}
function openChannelTable(type: u8, channelCount: u8): void {
  openSequence(type);
  entriesDeclared = channelCount;
  putU8(0); // entry count, kept current by helloChannel
}
/** One channel entry of the open HELLO or CHANNELS frame. Returns false when it does not fit: nothing is
 *  written, and no later entry goes into this frame either (the caller sends them in a CHANNELS frame). */
export function helloChannel(id: u8, kind: u8, name: string, unit: string): bool {
  if (openType != TYPE_HELLO && openType != TYPE_CHANNELS) { broken = true; return false; }
  if (broken || full) return false;
  const entryAt = cursor;
  putU8(id);
  putU8(kind);
  putStr(name);
  putStr(unit);
  if (broken) { // out of room: take the entry back, the frame stays valid
    cursor = entryAt;
    broken = false;
    full = true;
    return false;
  }
  entries++;
  store<u8>(frame + <usize>countAt, <u8>entries);
  return true;
}
/** How many entries the open (or just ended) HELLO/CHANNELS frame holds. */
export function channelEntries(): i32 { return entries; }
/** The frame's length, or ERR_INVALID when the helloChannel calls were fewer than helloBegin's
 *  channelCount without the frame having filled up (a broken sequence). */
export function helloEnd(): i32 { return channelTableEnd(TYPE_HELLO); }
/** Like helloEnd; also ERR_INVALID when not one entry fitted (an entry too large for any frame). */
export function channelsEnd(): i32 {
  if (openType == TYPE_CHANNELS && entries == 0) broken = true;
  return channelTableEnd(TYPE_CHANNELS);
}
function channelTableEnd(type: u8): i32 {
  if (openType != type || (entries != entriesDeclared && !full)) broken = true;
  return finish();
}

/** Summary: begin, one entry per channel whose window closed (at most SUMMARY_MAX_ENTRIES), end. */
export function summaryBegin(device: u32, seq: u32, t: u32, windowStart: u32, windowLen: u32): void {
  begin(TYPE_SUMMARY, device, seq, t);
  putU32(windowStart);
  putU32(windowLen);
  openSequence(TYPE_SUMMARY);
  putU8(0); // entry count, kept current by summaryEntry
}
export function summaryEntry(channel: u8, count: u16, min: f64, max: f64, mean: f64, std: f64, last: f64): void {
  if (!entryFits(TYPE_SUMMARY) || !room(SUMMARY_ENTRY_SIZE)) return;
  putU8(channel);
  putU16(count);
  putF32(min);
  putF32(max);
  putF32(mean);
  putF32(std);
  putF32(last);
  entries++;
  store<u8>(frame + <usize>countAt, <u8>entries);
}
export function summaryEnd(): i32 {
  if (openType != TYPE_SUMMARY) broken = true;
  return finish();
}

export function encodeEvent(device: u32, seq: u32, t: u32, channel: u8, kind: u8, value: f64, code: i32): i32 {
  begin(TYPE_EVENT, device, seq, t);
  putU8(channel);
  putU8(kind);
  putF32(value);
  putU32(<u32>code);
  return finish();
}
export function encodeStatus(device: u32, seq: u32, t: u32, samples: u32, dropped: u32, faults: u32, framesSent: u32, resets: u16, sleeping: bool): i32 {
  begin(TYPE_STATUS, device, seq, t);
  putU32(samples);
  putU32(dropped);
  putU32(faults);
  putU32(framesSent);
  putU16(resets);
  putU8(sleeping ? 1 : 0);
  return finish();
}
export function encodeLog(device: u32, seq: u32, t: u32, level: u8, text: string): i32 {
  begin(TYPE_LOG, device, seq, t);
  putU8(level);
  putStr(text);
  return finish();
}
export function encodeAck(device: u32, seq: u32, t: u32, ackedSeq: u32, op: u8, result: i32): i32 {
  begin(TYPE_ACK, device, seq, t);
  putU32(ackedSeq);
  putU8(op);
  putU32(<u32>result);
  return finish();
}

/** The last decoded control frame (decodeControl fills it; no allocation). Fields an op does not carry
 *  hold their defaults: channel 0xFF, ms 0, count 0, high/low NaN, hysteresis 0, deadband 0. */
export class Control {
  static seq: u32 = 0;
  static op: u8 = 0;
  static channel: u8 = 0xFF;
  /** SLEEP: ms (0 = until WAKE); SET_WINDOW: window ms; SET_RATE: sample period ms. */
  static ms: u32 = 0;
  static count: u16 = 0;
  static high: f32 = NaN;
  static low: f32 = NaN;
  static hysteresis: f32 = 0;
  /** SET_DEADBAND. */
  static deadband: f32 = 0;
}

/** Argument bytes after the op byte, per op (docs/protocol.md "CONTROL"); -1 for an unknown op. */
function controlArgBytes(op: u8): i32 {
  switch (op) {
    case OP_SLEEP: return 4;
    case OP_WAKE: return 0;
    case OP_SET_WINDOW: return 7;
    case OP_SET_RATE: return 4;
    case OP_SET_THRESHOLD: return 13;
    case OP_SET_DEADBAND: return 5;
    case OP_PING: return 0;
    case OP_HELLO: return 0;
  }
  return -1;
}

/** Decode a downlink frame of len bytes at ptr addressed to device (or BROADCAST_DEVICE). Returns 0, or a
 *  negative status: ERR_INVALID for a bad length, CRC, version, flags, type, op or device. Control is
 *  changed only when the frame is accepted. */
export function decodeControl(ptr: usize, len: i32, device: u32): i32 {
  if (len < FRAME_HEADER_SIZE + 1 + FRAME_CRC_SIZE || len > FRAME_MAX) return ERR_INVALID;
  const body = len - FRAME_CRC_SIZE;
  if (crc32(ptr, body) != load<u32>(ptr + <usize>body)) return ERR_INVALID;
  if (load<u8>(ptr) != FRAME_VERSION || load<u8>(ptr, 1) != TYPE_CONTROL || load<u8>(ptr, 2) != 0) return ERR_INVALID;
  const target = load<u32>(ptr, 3);
  if (target != device && target != BROADCAST_DEVICE) return ERR_INVALID;
  const op = load<u8>(ptr, FRAME_HEADER_SIZE);
  const argBytes = controlArgBytes(op);
  if (argBytes < 0 || body - FRAME_HEADER_SIZE - 1 != argBytes) return ERR_INVALID;

  const args = ptr + <usize>(FRAME_HEADER_SIZE + 1);
  Control.seq = load<u32>(ptr, 7);
  Control.op = op;
  Control.channel = 0xFF;
  Control.ms = 0;
  Control.count = 0;
  Control.high = NaN;
  Control.low = NaN;
  Control.hysteresis = 0;
  Control.deadband = 0;
  if (op == OP_SLEEP || op == OP_SET_RATE) Control.ms = load<u32>(args);
  else if (op == OP_SET_WINDOW) {
    Control.channel = load<u8>(args);
    Control.ms = load<u32>(args, 1);
    Control.count = load<u16>(args, 5);
  } else if (op == OP_SET_THRESHOLD) {
    Control.channel = load<u8>(args);
    Control.high = load<f32>(args, 1);
    Control.low = load<f32>(args, 5);
    Control.hysteresis = load<f32>(args, 9);
  } else if (op == OP_SET_DEADBAND) {
    Control.channel = load<u8>(args);
    Control.deadband = load<f32>(args, 1);
  }
  return 0;
}
