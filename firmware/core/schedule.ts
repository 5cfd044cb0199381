// Attached sensors and when each is fetched next; sleep (no fetching). A sensor is fetched every
// period (its own, or the device sample period when attached with 0), never sooner than its
// minIntervalMs(); a late tick does not cause a burst (the next fetch is one period after this one).
// A sensor whose setup() failed has its channels in fault and setup is retried at each due time.
import { Sensor, ERR_TOO_SOON } from "../drivers/sensor";
import { ERR_NOT_READY } from "../hal/imports";
import { KIND_FREQUENT, KIND_RARE, MAX_CHANNELS, Channels, channelAdd } from "./channels";
import { Device } from "./device";
import { windowReset } from "./window";
import { rulesReset } from "./rules";
import { recordSample, recordEvent, recordFault } from "./readings";
import { put } from "./slots";

export const MAX_SENSORS: i32 = 16;

const sensors = new StaticArray<Sensor | null>(MAX_SENSORS);
const firstChannel = new StaticArray<i32>(MAX_SENSORS);
const periodMs = new StaticArray<u32>(MAX_SENSORS); // 0 = the device sample period
const nextDue = new StaticArray<u32>(MAX_SENSORS);
const lastFetch = new StaticArray<u32>(MAX_SENSORS);
const fetched = new StaticArray<bool>(MAX_SENSORS);
const ready = new StaticArray<bool>(MAX_SENSORS);
const pending = new StaticArray<bool>(MAX_SENSORS);   // start() ran; collect at collectAt
const collectAt = new StaticArray<u32>(MAX_SENSORS);

export class Schedule {
  static count: i32 = 0;
  /** Sleeping (Device.sleeping) until this time when timed, else until WAKE. */
  static sleepTimed: bool = false;
  static sleepUntil: u32 = 0;
}

// @ts-ignore: decorator
@inline export function isDue(now: u32, at: u32): bool { return <i32>(now - at) >= 0; }

/** A channel with its window and rules in their defaults; its id or -1. */
export function newChannel(name: string, unit: string, kind: u8): i32 {
  const ch = channelAdd(name, unit, kind);
  if (ch >= 0) { windowReset(ch); rulesReset(ch); }
  return ch;
}

/** Declare a sensor's channels and schedule it; the first channel's id, or -1 (nothing added) when its
 *  channels do not all fit or the sensor table is full. */
export function attachSensor(sensor: Sensor, period: u32): i32 {
  const nch = sensor.channelCount();
  if (Schedule.count >= MAX_SENSORS || nch < 0 || Channels.count + nch > MAX_CHANNELS) return -1;
  const first = Channels.count;
  for (let i = 0; i < nch; i++) newChannel(sensor.channelName(i), sensor.channelUnit(i), sensor.isRare(i) ? KIND_RARE : KIND_FREQUENT);
  const s = Schedule.count;
  unchecked(sensors[s] = sensor);
  put(firstChannel, s, first);
  put(periodMs, s, period);
  put(nextDue, s, <u32>0);
  put(fetched, s, false);
  put(ready, s, false);
  put(pending, s, false);
  Schedule.count = s + 1;
  return first;
}

function effectivePeriod(s: i32, sensor: Sensor): u32 {
  let p = unchecked(periodMs[s]);
  if (p == 0) p = Device.samplePeriodMs;
  return max(max(p, sensor.minIntervalMs()), 1);
}

function faultAll(s: i32, sensor: Sensor, code: i32, now: u32): void {
  const first = unchecked(firstChannel[s]);
  const nch = sensor.channelCount();
  for (let i = 0; i < nch; i++) recordFault(first + i, code, now);
}

/** setup() every sensor; the first failure's status (its channels go into fault), else 0. Each sensor
 *  is first fetched at now. */
export function setupSensors(now: u32): i32 {
  let result = 0;
  for (let s = 0; s < Schedule.count; s++) {
    const sensor = unchecked(sensors[s])!;
    const r = sensor.setup();
    put(ready, s, r >= 0);
    if (r < 0) { faultAll(s, sensor, r, now); if (result == 0) result = r; }
    put(nextDue, s, now);
  }
  return result;
}

/** A status that means "no reading this time", not a fault: the part is converting or rate-limited. */
// @ts-ignore: decorator
@inline function isSkip(r: i32): bool { return r == ERR_NOT_READY || r == ERR_TOO_SOON; }

/** Start every sensor due at now (collecting at once, or after the wait its start() asks for), and
 *  collect every started measurement that is due; feed the readings to the core. */
export function fetchDue(now: u32): void {
  for (let s = 0; s < Schedule.count; s++) {
    const sensor = unchecked(sensors[s])!;
    if (unchecked(pending[s])) {
      if (isDue(now, unchecked(collectAt[s]))) { put(pending, s, false); collect(s, sensor, now); }
      continue;
    }
    if (!isDue(now, unchecked(nextDue[s]))) continue;
    const period = effectivePeriod(s, sensor);
    const minGap = sensor.minIntervalMs();
    if (unchecked(fetched[s]) && minGap > 0 && now - unchecked(lastFetch[s]) < minGap) {
      put(nextDue, s, unchecked(lastFetch[s]) + minGap); // the part's datasheet minimum comes first
      continue;
    }
    let next = unchecked(nextDue[s]) + period;
    put(nextDue, s, isDue(now, next) ? now + period : next);
    if (!unchecked(ready[s])) {
      const r = sensor.setup();
      if (r < 0) { faultAll(s, sensor, r, now); continue; }
      put(ready, s, true);
    }
    put(lastFetch, s, now);
    put(fetched, s, true);
    const wait = sensor.start(now);
    if (wait < 0) { if (!isSkip(wait)) faultAll(s, sensor, wait, now); continue; }
    if (wait > 0) { put(pending, s, true); put(collectAt, s, now + <u32>wait); continue; }
    collect(s, sensor, now);
  }
}

function collect(s: i32, sensor: Sensor, now: u32): void {
  const r = sensor.fetch(now);
  if (isSkip(r)) return;
  if (r < 0) { faultAll(s, sensor, r, now); return; }
  const first = unchecked(firstChannel[s]);
  const nch = sensor.channelCount();
  for (let i = 0; i < nch; i++) {
    if (sensor.isRare(i)) { if (r > 0) recordEvent(first + i, sensor.read(i), now); }
    else recordSample(first + i, sensor.read(i), now);
  }
}

/** Milliseconds from now to the earliest due fetch (0 if one is due), u32.MAX_VALUE with no sensor. */
export function nextFetchDelay(now: u32): u32 {
  let best: u32 = u32.MAX_VALUE;
  for (let s = 0; s < Schedule.count; s++) {
    const at = unchecked(pending[s]) ? unchecked(collectAt[s]) : unchecked(nextDue[s]);
    const left = <i32>(at - now);
    const d: u32 = left > 0 ? <u32>left : 0;
    if (d < best) best = d;
  }
  return best;
}

/** A new device sample period: sensors that follow it are next fetched one new period after their
 *  last fetch (at once if that is past). 0 or ERR_INVALID (-4) for 0 ms. */
export function setDevicePeriod(ms: u32): i32 {
  if (ms == 0) return -4;
  Device.samplePeriodMs = ms;
  for (let s = 0; s < Schedule.count; s++) {
    if (unchecked(periodMs[s]) != 0 || !unchecked(fetched[s])) continue;
    const sensor = unchecked(sensors[s])!;
    put(nextDue, s, unchecked(lastFetch[s]) + effectivePeriod(s, sensor));
  }
  return 0;
}

/** SLEEP for ms (0 = until WAKE): no fetching meanwhile; windows and STATUS go on. */
export function sleepFor(ms: u32, now: u32): void {
  Device.sleeping = true;
  Schedule.sleepTimed = ms != 0;
  Schedule.sleepUntil = now + ms;
}

export function wake(): void {
  Device.sleeping = false;
  Schedule.sleepTimed = false;
}

/** End a timed sleep that is over at now. */
export function sleepCheck(now: u32): void {
  if (Device.sleeping && Schedule.sleepTimed && isDue(now, Schedule.sleepUntil)) wake();
}

/** Milliseconds until a timed sleep ends, u32.MAX_VALUE when awake or sleeping until WAKE. */
export function sleepDelay(now: u32): u32 {
  if (!Device.sleeping || !Schedule.sleepTimed) return u32.MAX_VALUE;
  const left = <i32>(Schedule.sleepUntil - now);
  return left > 0 ? <u32>left : 0;
}
