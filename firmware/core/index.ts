// STUB: signatures fixed by the lead; the core helper replaces the bodies.
// The aggregation core's API for apps: channels, windows, rules, and sensors attached to a schedule.
// Apps call these at top level (module start) to declare what they read; firmware/core/entry.ts holds
// the exports the runtime calls (init, tick, control).
import { Sensor } from "../drivers/sensor";
export { Sensor };

export const KIND_FREQUENT: u8 = 0;
export const KIND_RARE: u8 = 1;
export const MAX_CHANNELS: i32 = 32;

/** Identity sent in hello. */
export function setFirmware(name: string, version: string): void {}
/** Declare a channel; returns its id (0..MAX_CHANNELS-1) or -1 when the table is full. */
export function addChannel(name: string, unit: string, kind: u8): i32 { return -1; }
/** Window of a frequent channel: closes after ms milliseconds or count samples, whichever first (0 = not used). */
export function setWindow(channel: i32, ms: u32, count: u32): void {}
/** Threshold rule: ALERT_HIGH above high, ALERT_LOW below low (NaN disables a side); CLEAR once back inside by hysteresis. */
export function setThreshold(channel: i32, high: f64, low: f64, hysteresis: f64): void {}
/** Ignore a sample that differs from the last accepted one by less than deadband (0 = off). */
export function setDeadband(channel: i32, deadband: f64): void {}
/** The device's sample period: how often attached sensors with period 0 are fetched. */
export function setSamplePeriod(ms: u32): void {}
/** Record one reading of a frequent channel (NaN = missing, counted, not aggregated). */
export function sample(channel: i32, value: f64, now: u32): void {}
/** Record one reading of a rare channel: sent at once as an EVENT_VALUE. */
export function event(channel: i32, value: f64, now: u32): void {}
/** Record a sensor fault on a channel: an EVENT_FAULT, never a reading. */
export function fault(channel: i32, code: i32, now: u32): void {}
/** Attach a sensor: declares its channels and fetches it every periodMs (0 = the device sample period).
 *  Returns the id of its first channel, or -1 when the channel table is full. */
export function attach(sensor: Sensor, periodMs: u32 = 0): i32 { return -1; }
