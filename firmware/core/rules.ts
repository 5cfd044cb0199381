// Threshold rules with hysteresis, and the deadband in front of them, per channel. Sends EVENT frames
// (ALERT_HIGH, ALERT_LOW, CLEAR) through device.ts; fixed arrays, nothing allocated per sample.
//
// - ALERT_HIGH once when an accepted value goes above high; CLEAR once when it then goes below
//   high - hysteresis. ALERT_LOW / CLEAR mirror it below low (clear above low + hysteresis).
//   NaN disables a side. So a value wandering inside the hysteresis band never chatters.
// - Deadband: a value within deadband (|v - last accepted| < deadband) of the last accepted value is
//   ignored by the rules (not by the window statistics, which see every sample).
// - Changing a threshold keeps an active alert (it clears under the new bounds), except that disabling
//   an alerted side sends its CLEAR at once; and the next value is evaluated whatever the deadband.
import { MAX_CHANNELS } from "./channels";
import { sendEvent } from "./device";
import { EVENT_ALERT_HIGH, EVENT_ALERT_LOW, EVENT_CLEAR } from "./frame/encoder";
import { put } from "./slots";

const high = new StaticArray<f64>(MAX_CHANNELS);
const low = new StaticArray<f64>(MAX_CHANNELS);
const hysteresis = new StaticArray<f64>(MAX_CHANNELS);
const deadband = new StaticArray<f64>(MAX_CHANNELS);
const lastAccepted = new StaticArray<f64>(MAX_CHANNELS);
const lastValue = new StaticArray<f64>(MAX_CHANNELS);
const inHigh = new StaticArray<bool>(MAX_CHANNELS);
const inLow = new StaticArray<bool>(MAX_CHANNELS);

/** A new channel: no threshold, no deadband. */
export function rulesReset(ch: i32): void {
  put(high, ch, NaN);
  put(low, ch, NaN);
  put(hysteresis, ch, 0);
  put(deadband, ch, 0);
  put(lastAccepted, ch, NaN);
  put(lastValue, ch, NaN);
  put(inHigh, ch, false);
  put(inLow, ch, false);
}

/** A valid (not NaN) value of channel ch at now. The caller checked ch. */
export function rulesApply(ch: i32, v: f64, now: u32): void {
  put(lastValue, ch, v);
  const db = unchecked(deadband[ch]);
  const prev = unchecked(lastAccepted[ch]);
  if (db > 0 && Math.abs(v - prev) < db) return; // false while prev is NaN: the first value is accepted
  put(lastAccepted, ch, v);
  const h = unchecked(high[ch]);
  if (h == h) {
    if (!unchecked(inHigh[ch])) {
      if (v > h) { put(inHigh, ch, true); sendEvent(<u8>ch, EVENT_ALERT_HIGH, v, 0, now); }
    } else if (v < h - unchecked(hysteresis[ch])) {
      put(inHigh, ch, false); sendEvent(<u8>ch, EVENT_CLEAR, v, 0, now);
    }
  }
  const l = unchecked(low[ch]);
  if (l == l) {
    if (!unchecked(inLow[ch])) {
      if (v < l) { put(inLow, ch, true); sendEvent(<u8>ch, EVENT_ALERT_LOW, v, 0, now); }
    } else if (v > l + unchecked(hysteresis[ch])) {
      put(inLow, ch, false); sendEvent(<u8>ch, EVENT_CLEAR, v, 0, now);
    }
  }
}

/** 0, or ERR_INVALID (-4) for a hysteresis that is negative or NaN, or low above high. */
export function rulesSetThreshold(ch: i32, h: f64, l: f64, hyst: f64, now: u32): i32 {
  if (!(hyst >= 0) || (h == h && l == l && l > h)) return -4;
  put(high, ch, h);
  put(low, ch, l);
  put(hysteresis, ch, hyst);
  put(lastAccepted, ch, NaN);
  if (h != h && unchecked(inHigh[ch])) { put(inHigh, ch, false); sendEvent(<u8>ch, EVENT_CLEAR, unchecked(lastValue[ch]), 0, now); }
  if (l != l && unchecked(inLow[ch])) { put(inLow, ch, false); sendEvent(<u8>ch, EVENT_CLEAR, unchecked(lastValue[ch]), 0, now); }
  return 0;
}

/** 0 (deadband 0 = off), or ERR_INVALID (-4) for a negative or NaN deadband. */
export function rulesSetDeadband(ch: i32, db: f64): i32 {
  if (!(db >= 0)) return -4;
  put(deadband, ch, db);
  return 0;
}
