// One reading's path through the core: a frequent sample (window stats, then rules), a rare value
// (EVENT_VALUE at once, then rules), or a fault (EVENT_FAULT once per entry into fault,
// EVENT_FAULT_CLEARED with the next valid reading). Counts what STATUS reports. No allocation.
import { KIND_RARE, isChannel, channelKind, isFaulted, setFaulted } from "./channels";
import { Device, sendEvent } from "./device";
import { windowAdd, flushSummaries } from "./window";
import { rulesApply } from "./rules";
import { EVENT_VALUE, EVENT_FAULT, EVENT_FAULT_CLEARED } from "./frame/encoder";

export class Batch {
  /** Inside tick(): closed windows wait for the end of the tick so they share SUMMARY frames.
   *  Outside (an app or test calling sample() directly), they are sent at once. */
  static open: bool = false;
}

// @ts-ignore: decorator
@inline function clearFault(ch: i32, v: f64, now: u32): void {
  if (isFaulted(ch)) { setFaulted(ch, false); sendEvent(<u8>ch, EVENT_FAULT_CLEARED, v, 0, now); }
}

export function recordSample(ch: i32, v: f64, now: u32): void {
  if (!isChannel(ch)) return;
  if (channelKind(ch) == KIND_RARE) { recordEvent(ch, v, now); return; }
  if (v != v) {
    Device.droppedSamples++;
    windowAdd(ch, v, now); // a missing sample still opens (or counts toward) a window
    if (!Batch.open) flushSummaries(now);
    return;
  }
  clearFault(ch, v, now);
  Device.samples++;
  windowAdd(ch, v, now);
  if (!Batch.open) flushSummaries(now); // a window this sample closed goes out before its alerts
  rulesApply(ch, v, now);
}

export function recordEvent(ch: i32, v: f64, now: u32): void {
  if (!isChannel(ch)) return;
  if (channelKind(ch) != KIND_RARE) { recordSample(ch, v, now); return; }
  if (v != v) { Device.droppedSamples++; return; }
  clearFault(ch, v, now);
  Device.samples++;
  sendEvent(<u8>ch, EVENT_VALUE, v, 0, now);
  rulesApply(ch, v, now);
}

export function recordFault(ch: i32, code: i32, now: u32): void {
  if (!isChannel(ch) || isFaulted(ch)) return;
  setFaulted(ch, true);
  Device.faults++;
  sendEvent(<u8>ch, EVENT_FAULT, NaN, code, now);
}
