// Test entry for firmware/tests/frame-encoder.test.ts: exposes the device frame encoder and control
// decoder to JS with number-only signatures. Strings are put in slots first (JS writes UTF-8 into
// scratch(), setString turns it into an AS string), so an encode call itself allocates nothing and
// heapMark() around it can prove that. Touches only the encoder and its own scratch memory.
import "../../hal/abort";
import * as enc from "../../core/frame/encoder";
import { crc32 as crc } from "../../core/frame/crc32";

const scratchArea = memory.data(2048);
const slots: string[] = ["", "", "", ""];

export function scratch(): usize { return scratchArea; }
export function setString(slot: i32, ptr: usize, len: i32): void { slots[slot] = String.UTF8.decodeUnsafe(ptr, len); }
/** The bump allocator's next block (the stub runtime never frees): unchanged spacing = nothing allocated. */
export function heapMark(): usize { return heap.alloc(1); }
export function crc32(ptr: usize, len: i32): u32 { return crc(ptr, len); }

export function frameBuffer(): usize { return enc.frameBuffer(); }
export function summaryMaxEntries(): i32 { return enc.SUMMARY_MAX_ENTRIES; }

/** firmware = slot 0, board = slot 1. */
export function helloBegin(device: u32, seq: u32, t: u32, abi: u8, appHash8: usize, bootId: u32, samplePeriodMs: u32, channelCount: u8): void {
  enc.helloBegin(device, seq, t, abi, slots[0], slots[1], appHash8, bootId, samplePeriodMs, channelCount);
}
/** name = slot 2, unit = slot 3; 1 when the entry went in, 0 when the frame is full. */
export function helloChannel(id: u8, kind: u8): i32 { return enc.helloChannel(id, kind, slots[2], slots[3]) ? 1 : 0; }
export function helloEnd(): i32 { return enc.helloEnd(); }
export function channelsBegin(device: u32, seq: u32, t: u32, channelCount: u8): void { enc.channelsBegin(device, seq, t, channelCount); }
export function channelsEnd(): i32 { return enc.channelsEnd(); }
export function channelEntries(): i32 { return enc.channelEntries(); }

export function summaryBegin(device: u32, seq: u32, t: u32, windowStart: u32, windowLen: u32): void {
  enc.summaryBegin(device, seq, t, windowStart, windowLen);
}
export function summaryEntry(channel: u8, count: u16, min: f64, max: f64, mean: f64, std: f64, last: f64): void {
  enc.summaryEntry(channel, count, min, max, mean, std, last);
}
export function summaryEnd(): i32 { return enc.summaryEnd(); }

export function encodeEvent(device: u32, seq: u32, t: u32, channel: u8, kind: u8, value: f64, code: i32): i32 {
  return enc.encodeEvent(device, seq, t, channel, kind, value, code);
}
export function encodeStatus(device: u32, seq: u32, t: u32, samples: u32, dropped: u32, faults: u32, framesSent: u32, resets: u16, sleeping: i32): i32 {
  return enc.encodeStatus(device, seq, t, samples, dropped, faults, framesSent, resets, sleeping != 0);
}
/** text = slot 0. */
export function encodeLog(device: u32, seq: u32, t: u32, level: u8): i32 { return enc.encodeLog(device, seq, t, level, slots[0]); }
export function encodeAck(device: u32, seq: u32, t: u32, ackedSeq: u32, op: u8, result: i32): i32 {
  return enc.encodeAck(device, seq, t, ackedSeq, op, result);
}

export function decodeControl(ptr: usize, len: i32, device: u32): i32 { return enc.decodeControl(ptr, len, device); }
export function controlSeq(): u32 { return enc.Control.seq; }
export function controlOp(): u32 { return enc.Control.op; }
export function controlChannel(): u32 { return enc.Control.channel; }
export function controlMs(): u32 { return enc.Control.ms; }
export function controlCount(): u32 { return enc.Control.count; }
export function controlHigh(): f32 { return enc.Control.high; }
export function controlLow(): f32 { return enc.Control.low; }
export function controlHysteresis(): f32 { return enc.Control.hysteresis; }
export function controlDeadband(): f32 { return enc.Control.deadband; }
