// The aggregation core's API for apps: channels, windows, rules, and sensors attached to a schedule.
// Apps call these at top level (module start) to declare what they read; firmware/core/entry.ts holds
// the exports the runtime calls (init, tick, control). The behaviour is specified in
// firmware/core/README.md; the pieces live in channels, window, rules, readings, schedule, device.
// Nothing here allocates except setFirmware (once, at start).
import { Sensor } from "../drivers/sensor";
import { isChannel, isFrequent } from "./channels";
import { Device } from "./device";
import { windowSetBounds } from "./window";
import { rulesSetThreshold, rulesSetDeadband } from "./rules";
import { recordSample, recordEvent, recordFault } from "./readings";
import { attachSensor, newChannel, setDevicePeriod } from "./schedule";
import { time_ms } from "../hal/imports";
export { Sensor };
export { KIND_FREQUENT, KIND_RARE, MAX_CHANNELS } from "./channels";

/** Identity sent in hello, as "name@version". Call at start: the string is built once here. */
export function setFirmware(name: string, version: string): void { Device.firmware = name + "@" + version; }
/** Declare a channel; returns its id (0..MAX_CHANNELS-1) or -1 when the table is full. */
export function addChannel(name: string, unit: string, kind: u8): i32 { return newChannel(name, unit, kind); }
/** Window of a frequent channel: closes after ms milliseconds or count samples, whichever first (0 = not used;
 *  both 0 is refused). Mid-window, a window already past a new bound closes at once. */
export function setWindow(channel: i32, ms: u32, count: u32): void {
  if (isFrequent(channel)) windowSetBounds(channel, ms, count, time_ms());
}
/** Threshold rule: ALERT_HIGH above high, ALERT_LOW below low (NaN disables a side); CLEAR once back inside by hysteresis. */
export function setThreshold(channel: i32, high: f64, low: f64, hysteresis: f64): void {
  if (isChannel(channel)) rulesSetThreshold(channel, high, low, hysteresis, time_ms());
}
/** Ignore a sample that differs from the last accepted one by less than deadband (0 = off). */
export function setDeadband(channel: i32, deadband: f64): void {
  if (isChannel(channel)) rulesSetDeadband(channel, deadband);
}
/** The device's sample period: how often attached sensors with period 0 are fetched. */
export function setSamplePeriod(ms: u32): void { setDevicePeriod(ms); }
/** Record one reading of a frequent channel (NaN = missing, counted, not aggregated). */
export function sample(channel: i32, value: f64, now: u32): void { recordSample(channel, value, now); }
/** Record one reading of a rare channel: sent at once as an EVENT_VALUE. */
export function event(channel: i32, value: f64, now: u32): void { recordEvent(channel, value, now); }
/** Record a sensor fault on a channel: an EVENT_FAULT, never a reading. */
export function fault(channel: i32, code: i32, now: u32): void { recordFault(channel, code, now); }
/** Attach a sensor: declares its channels and fetches it every periodMs (0 = the device sample period).
 *  Returns the id of its first channel, or -1 when the channel table is full. */
export function attach(sensor: Sensor, periodMs: u32 = 0): i32 { return attachSensor(sensor, periodMs); }
