// Windows of frequent channels and their statistics (count, min, max, mean, std, last), and the
// SUMMARY frames that carry closed windows. Plain fixed arrays, allocated once at start; nothing per
// sample. The same algorithm, in plain TypeScript, is simulator/reference/aggregator.ts: keep them equal.
//
// Rules (docs: firmware/core/README.md):
// - A window opens at the first sample (valid or missing) after the previous close. With a time bound
//   its start is that sample's time rounded down to a multiple of ms (a grid in device time), unless
//   that is before the previous window's end (after a close by count or the u32 wrap: then the
//   sample's time). Its time bound is the next grid line after its start, so windows of the same
//   length on every channel close together and travel in ONE summary frame, and an off-grid window
//   (shorter) brings the channel back onto the grid. Without a time bound, start = the sample's time.
// - It closes by time once now reaches that end (exactly, however late the
//   tick that saw it), or by count once it has received `count` samples (valid + missing; end = the
//   closing sample's time), whichever first. A window never takes more than 65535 samples (the
//   frame's u16 count): it closes by count there.
// - A sample arriving at or after the time bound closes the window first, then opens the next one.
// - Stats use Welford's update (numerically stable) over the valid samples; std is the POPULATION
//   standard deviation sqrt(M2 / n) (0 for one sample). count 0: min/max/mean/std/last are NaN.
import { MAX_CHANNELS, Channels, isFrequent } from "./channels";
import { Device, sendFrame } from "./device";
import { summaryBegin, summaryEntry, summaryEnd, SUMMARY_MAX_ENTRIES } from "./frame/encoder";
import { put } from "./slots";

export const DEFAULT_WINDOW_MS: u32 = 60_000;
export const MAX_WINDOW_SAMPLES: u32 = 0xFFFF;

// Bounds (0 = that bound unused; never both 0).
const boundMs = new StaticArray<u32>(MAX_CHANNELS);
const boundCount = new StaticArray<u32>(MAX_CHANNELS);
// The open window.
const open = new StaticArray<bool>(MAX_CHANNELS);
const start = new StaticArray<u32>(MAX_CHANNELS);
const prevEnd = new StaticArray<u32>(MAX_CHANNELS);  // end of the last closed window
const hasPrev = new StaticArray<bool>(MAX_CHANNELS);
const received = new StaticArray<u32>(MAX_CHANNELS);
const n = new StaticArray<u32>(MAX_CHANNELS);
const mean = new StaticArray<f64>(MAX_CHANNELS);
const m2 = new StaticArray<f64>(MAX_CHANNELS);
const lo = new StaticArray<f64>(MAX_CHANNELS);
const hi = new StaticArray<f64>(MAX_CHANNELS);
const last = new StaticArray<f64>(MAX_CHANNELS);
// Closed windows waiting for flushSummaries (so windows closing in one tick share a frame).
const pending = new StaticArray<bool>(MAX_CHANNELS);
const pStart = new StaticArray<u32>(MAX_CHANNELS);
const pLen = new StaticArray<u32>(MAX_CHANNELS);
const pCount = new StaticArray<u32>(MAX_CHANNELS);
const pMin = new StaticArray<f64>(MAX_CHANNELS);
const pMax = new StaticArray<f64>(MAX_CHANNELS);
const pMean = new StaticArray<f64>(MAX_CHANNELS);
const pStd = new StaticArray<f64>(MAX_CHANNELS);
const pLast = new StaticArray<f64>(MAX_CHANNELS);

export class Windows {
  /** Some channel has a closed window not yet sent. */
  static anyPending: bool = false;
}

/** A new channel: the default window (60 s by time), nothing open. */
export function windowReset(ch: i32): void {
  put(boundMs, ch, DEFAULT_WINDOW_MS);
  put(boundCount, ch, <u32>0);
  put(open, ch, false);
  put(hasPrev, ch, false);
  put(pending, ch, false);
}

// @ts-ignore: decorator
@inline function timeBoundReached(ch: i32, now: u32): bool {
  const ms = unchecked(boundMs[ch]);
  // Signed difference, as everywhere device time is compared: right across the u32 wrap, and a time
  // slightly before start (a sample stamped before the tick) is not read as 49 days later.
  return ms != 0 && <i32>(now - windowEnd(ch)) >= 0;
}

/** The time bound of ch's open window: the first line of its ms grid after its start. */
// @ts-ignore: decorator
@inline function windowEnd(ch: i32): u32 {
  const at = unchecked(start[ch]);
  const ms = unchecked(boundMs[ch]);
  return at - at % ms + ms;
}

function closeWindow(ch: i32, end: u32, now: u32): void {
  if (unchecked(pending[ch])) flushSummaries(now); // the previous one is still waiting: send it first
  const count = unchecked(n[ch]);
  put(pStart, ch, unchecked(start[ch]));
  put(pLen, ch, end - unchecked(start[ch]));
  put(prevEnd, ch, end);
  put(hasPrev, ch, true);
  put(pCount, ch, count);
  if (count > 0) {
    put(pMin, ch, unchecked(lo[ch]));
    put(pMax, ch, unchecked(hi[ch]));
    put(pMean, ch, unchecked(mean[ch]));
    put(pStd, ch, Math.sqrt(unchecked(m2[ch]) / <f64>count));
    put(pLast, ch, unchecked(last[ch]));
  } else {
    put(pMin, ch, NaN); put(pMax, ch, NaN); put(pMean, ch, NaN);
    put(pStd, ch, NaN); put(pLast, ch, NaN);
  }
  put(open, ch, false);
  put(pending, ch, true);
  Windows.anyPending = true;
}

/** One sample (NaN = missing) of frequent channel ch at now. The caller checked ch. */
export function windowAdd(ch: i32, v: f64, now: u32): void {
  if (unchecked(open[ch]) && timeBoundReached(ch, now)) closeWindow(ch, windowEnd(ch), now);
  if (!unchecked(open[ch])) {
    put(open, ch, true);
    const ms = unchecked(boundMs[ch]);
    let at = ms != 0 ? now - now % ms : now;
    if (unchecked(hasPrev[ch]) && <i32>(at - unchecked(prevEnd[ch])) < 0) at = now; // never overlap the previous window
    put(start, ch, at);
    put(received, ch, <u32>0);
    put(n, ch, <u32>0);
    put(mean, ch, 0);
    put(m2, ch, 0);
    put(lo, ch, Infinity);
    put(hi, ch, -Infinity);
    put(last, ch, NaN);
  }
  const got = unchecked(received[ch]) + 1;
  put(received, ch, got);
  if (v == v) { // not NaN
    const k = unchecked(n[ch]) + 1;
    put(n, ch, k);
    const delta = v - unchecked(mean[ch]);
    const m = unchecked(mean[ch]) + delta / <f64>k;
    put(mean, ch, m);
    put(m2, ch, unchecked(m2[ch]) + delta * (v - m));
    if (v < unchecked(lo[ch])) put(lo, ch, v);
    if (v > unchecked(hi[ch])) put(hi, ch, v);
    put(last, ch, v);
  }
  const count = unchecked(boundCount[ch]);
  if ((count != 0 && got >= count) || got >= MAX_WINDOW_SAMPLES) closeWindow(ch, now, now);
}

/** Close every window whose time bound is reached at now. */
export function closeDueWindows(now: u32): void {
  const nch = Channels.count;
  for (let ch = 0; ch < nch; ch++) {
    if (unchecked(open[ch]) && timeBoundReached(ch, now)) closeWindow(ch, windowEnd(ch), now);
  }
}

/** Milliseconds from now until the earliest open window's time bound (0 if one is due), or
 *  u32.MAX_VALUE when no open window has one. */
export function nextWindowDelay(now: u32): u32 {
  let best: u32 = u32.MAX_VALUE;
  const nch = Channels.count;
  for (let ch = 0; ch < nch; ch++) {
    const ms = unchecked(boundMs[ch]);
    if (!unchecked(open[ch]) || ms == 0) continue;
    const left = <i32>(windowEnd(ch) - now);
    const d: u32 = left > 0 ? <u32>left : 0;
    if (d < best) best = d;
  }
  return best;
}

/** New bounds for frequent channel ch at now, taking effect mid-window: if the open window already
 *  reached a new bound it closes now (end = now, with every sample it has), otherwise it goes on under
 *  the new bounds. No sample is lost or counted twice. 0 or ERR_INVALID (-4). */
export function windowSetBounds(ch: i32, ms: u32, count: u32, now: u32): i32 {
  if (!isFrequent(ch) || (ms == 0 && count == 0)) return -4;
  put(boundMs, ch, ms);
  put(boundCount, ch, min(count, MAX_WINDOW_SAMPLES));
  if (unchecked(open[ch])) {
    const c = unchecked(boundCount[ch]);
    if ((c != 0 && unchecked(received[ch]) >= c) || timeBoundReached(ch, now)) closeWindow(ch, now, now);
  }
  return 0;
}

export function windowBoundMs(ch: i32): u32 { return unchecked(boundMs[ch]); }
export function windowBoundCount(ch: i32): u32 { return unchecked(boundCount[ch]); }

/** Send every closed window: one SUMMARY per (start, length) group, split at the frame's capacity. */
export function flushSummaries(now: u32): void {
  if (!Windows.anyPending) return;
  Windows.anyPending = false;
  const nch = Channels.count;
  for (let first = 0; first < nch; first++) {
    if (!unchecked(pending[first])) continue;
    const s = unchecked(pStart[first]);
    const len = unchecked(pLen[first]);
    summaryBegin(Device.id, Device.seq, now, s, len);
    let entries = 0;
    for (let ch = first; ch < nch && entries < SUMMARY_MAX_ENTRIES; ch++) {
      if (!unchecked(pending[ch]) || unchecked(pStart[ch]) != s || unchecked(pLen[ch]) != len) continue;
      summaryEntry(<u8>ch, <u16>unchecked(pCount[ch]), unchecked(pMin[ch]), unchecked(pMax[ch]),
        unchecked(pMean[ch]), unchecked(pStd[ch]), unchecked(pLast[ch]));
      put(pending, ch, false);
      entries++;
    }
    // Entries past the frame's capacity stay pending; the loop goes on and opens the next frame.
    sendFrame(summaryEnd());
  }
}
