// STUB: signatures fixed by the lead; the protocol helper replaces the bodies. Layout: docs/protocol.md.
// The one frame encoder on the device side, and the downlink control decoder. Writes into one static
// buffer (no allocation); every encode* returns the frame's length in bytes at frameBuffer().

export const FRAME_VERSION: u8 = 1;
export const FRAME_MAX: i32 = 512;
export const BROADCAST_DEVICE: u32 = 0xFFFFFFFF;

export const TYPE_HELLO: u8 = 0x01;
export const TYPE_SUMMARY: u8 = 0x02;
export const TYPE_EVENT: u8 = 0x03;
export const TYPE_STATUS: u8 = 0x04;
export const TYPE_LOG: u8 = 0x05;
export const TYPE_ACK: u8 = 0x06;
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

export function frameBuffer(): usize { return 0; }

/** Hello, in three steps so the channel table needs no array: begin, one call per channel, end. */
export function helloBegin(device: u32, seq: u32, t: u32, abi: u8, firmware: string, board: string, appHash8: usize, samplePeriodMs: u32, channelCount: u8): void {}
export function helloChannel(id: u8, kind: u8, name: string, unit: string): void {}
export function helloEnd(): i32 { return 0; }

/** Summary: begin, one entry per channel whose window closed, end. */
export function summaryBegin(device: u32, seq: u32, t: u32, windowStart: u32, windowLen: u32): void {}
export function summaryEntry(channel: u8, count: u16, min: f64, max: f64, mean: f64, std: f64, last: f64): void {}
export function summaryEnd(): i32 { return 0; }

export function encodeEvent(device: u32, seq: u32, t: u32, channel: u8, kind: u8, value: f64, code: i32): i32 { return 0; }
export function encodeStatus(device: u32, seq: u32, t: u32, samples: u32, dropped: u32, faults: u32, framesSent: u32, resets: u16, sleeping: bool): i32 { return 0; }
export function encodeLog(device: u32, seq: u32, t: u32, level: u8, text: string): i32 { return 0; }
export function encodeAck(device: u32, seq: u32, t: u32, ackedSeq: u32, op: u8, result: i32): i32 { return 0; }

/** The last decoded control frame (decodeControl fills it; no allocation). */
export class Control {
  static seq: u32 = 0;
  static op: u8 = 0;
  static channel: u8 = 0xFF;
  static ms: u32 = 0;
  static count: u16 = 0;
  static high: f32 = NaN;
  static low: f32 = NaN;
  static hysteresis: f32 = 0;
}
/** Decode a downlink frame of len bytes at ptr addressed to device (or BROADCAST_DEVICE). Returns 0, or a
 *  negative status: ERR_INVALID for a bad length, CRC, version, type, op or device. */
export function decodeControl(ptr: usize, len: i32, device: u32): i32 { return -4; }
