// The device side of every frame: identity (id, firmware, board, app hash, resets, boot id), the sequence
// number, the counters STATUS reports, and the one place frames leave (frame_out). Touches the HAL's
// identity and frame imports and the frame encoder; allocates only in identityInit (once, at init).
import { frame_out, device_id, board_name, app_hash, reset_info, boot_id, HAL_VERSION, OK, LOG_ERROR } from "../hal/imports";
import {
  frameBuffer, helloBegin, helloChannel, helloEnd, channelsBegin, channelsEnd, encodeEvent, encodeStatus, encodeAck, encodeLog,
} from "./frame/encoder";
import { Channels, channelKind, channelName, channelUnit } from "./channels";

/** What the device is and what it has done; STATUS reports the counters. */
export class Device {
  static id: u32 = 0;
  /** seq of the next frame. It advances for every frame handed to frame_out, accepted or not, so the
   *  host sees a frame the link refused as a gap. */
  static seq: u32 = 0;
  static firmware: string = "unknown@0";
  static board: string = "unknown";
  /** Restarts since power-on (reset_info bits 8..31), saturated to the STATUS field's u16. */
  static resets: u16 = 0;
  /** Drawn by the runtime for this instance (HAL boot_id): tells the host this boot from the last. */
  static bootId: u32 = 0;
  static samplePeriodMs: u32 = 1000;
  /** Valid readings taken: frequent samples aggregated plus rare values sent. */
  static samples: u32 = 0;
  /** Missing samples (NaN): counted, not aggregated. */
  static droppedSamples: u32 = 0;
  /** Frames frame_out refused (ERR_NOT_READY: the link's queue was full) or that failed to encode. */
  static droppedFrames: u32 = 0;
  /** EVENT_FAULT frames raised (a channel entering fault). */
  static faults: u32 = 0;
  /** Frames frame_out accepted. */
  static framesSent: u32 = 0;
  /** Downlink frames rejected by decodeControl (bad length, CRC, version, type, op or device). */
  static controlRejected: u32 = 0;
  static sleeping: bool = false;
}

/** Device-level channel id in an EVENT that concerns no channel (EVENT_RESET). */
export const CHANNEL_DEVICE: u8 = 0xFF;

const hashBuf = memory.data(32);
const BOARD_MAX: i32 = 64;
const boardBuf = memory.data(BOARD_MAX);

/** Read the identity the HAL gives (once, at init: the board name becomes an AS string here). */
export function identityInit(): u32 {
  Device.id = device_id();
  const n = board_name(boardBuf, <u32>BOARD_MAX);
  if (n > 0) Device.board = String.UTF8.decodeUnsafe(boardBuf, <usize>min(n, BOARD_MAX));
  if (app_hash(hashBuf) != 32) memory.fill(hashBuf, 0, 32);
  const info = reset_info();
  const restarts = info >>> 8;
  Device.resets = <u16>min<u32>(restarts, 0xFFFF);
  Device.bootId = boot_id();
  return info;
}

/** Hand the encoded frame of len bytes to the link and count the outcome. */
export function sendFrame(len: i32): void {
  if (len <= 0) { Device.droppedFrames++; return; }
  Device.seq++;
  if (frame_out(frameBuffer(), <u32>len) == OK) Device.framesSent++;
  else Device.droppedFrames++; // ERR_NOT_READY (queue full) or a link error: the frame is gone
}

export function sendEvent(ch: u8, kind: u8, value: f64, code: i32, now: u32): void {
  sendFrame(encodeEvent(Device.id, Device.seq, now, ch, kind, value, code));
}

/** HELLO with as much of the channel table as fits in one frame (FRAME_MAX), then CHANNELS frames with
 *  the rest, right after it (docs/protocol.md 0x07): 32 channels with long names need two or three. */
export function sendHello(now: u32): void {
  const n = Channels.count;
  helloBegin(Device.id, Device.seq, now, <u8>HAL_VERSION, Device.firmware, Device.board, hashBuf, Device.bootId, Device.samplePeriodMs, <u8>n);
  let next = writeChannels(0, n);
  sendFrame(helloEnd());
  while (next < n) {
    channelsBegin(Device.id, Device.seq, now, <u8>(n - next));
    const after = writeChannels(next, n);
    const len = channelsEnd();
    if (len <= 0) {
      // Channel `next` alone is larger than a frame (a name and unit of 255 bytes each): the host cannot
      // learn the rest of the table, so say why instead of going silent (the frame counts as dropped).
      Device.droppedFrames++;
      sendFrame(encodeLog(Device.id, Device.seq, now, <u8>LOG_ERROR, "a channel's name and unit do not fit in one frame: shorten them"));
      return;
    }
    sendFrame(len);
    next = after;
  }
}
/** Offer channels from..n-1 to the open HELLO/CHANNELS frame; the first that did not fit (n: all did). */
function writeChannels(from: i32, n: i32): i32 {
  let ch = from;
  while (ch < n && helloChannel(<u8>ch, channelKind(ch), channelName(ch), channelUnit(ch))) ch++;
  return ch;
}

/** STATUS: dropped = missing samples + frames lost (refused by the link or not encodable); frames sent
 *  = frames the link accepted before this one. */
export function sendStatus(now: u32): void {
  const dropped = Device.droppedSamples + Device.droppedFrames;
  sendFrame(encodeStatus(Device.id, Device.seq, now, Device.samples, dropped, Device.faults, Device.framesSent, Device.resets, Device.sleeping));
}

export function sendAck(now: u32, ackedSeq: u32, op: u8, result: i32): void {
  sendFrame(encodeAck(Device.id, Device.seq, now, ackedSeq, op, result));
}
