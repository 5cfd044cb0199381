// The channel table: what each channel is called, its unit, whether it is frequent (summarised over
// windows) or rare (sent at once), and whether it is in fault. Fixed arrays allocated once at start;
// adding past MAX_CHANNELS returns -1 and changes nothing. Touches no HAL import and sends nothing.
import { put } from "./slots";

export const KIND_FREQUENT: u8 = 0;
export const KIND_RARE: u8 = 1;
export const MAX_CHANNELS: i32 = 32;

/** Used by the channel-table owner only; everyone else reads Channels.count. */
export class Channels {
  static count: i32 = 0;
}

const names = new StaticArray<string>(MAX_CHANNELS);
const units = new StaticArray<string>(MAX_CHANNELS);
const kinds = new StaticArray<u8>(MAX_CHANNELS);
const faulted = new StaticArray<bool>(MAX_CHANNELS);

/** Append a channel; its id, or -1 when the table is full or kind is unknown. */
export function channelAdd(name: string, unit: string, kind: u8): i32 {
  if (Channels.count >= MAX_CHANNELS || kind > KIND_RARE) return -1;
  const ch = Channels.count;
  unchecked(names[ch] = name);
  unchecked(units[ch] = unit);
  put(kinds, ch, kind);
  put(faulted, ch, false);
  Channels.count = ch + 1;
  return ch;
}

// @ts-ignore: decorator
@inline export function isChannel(ch: i32): bool { return <u32>ch < <u32>Channels.count; }
// Callers check isChannel first; the accessors below then index without bounds checks.
// @ts-ignore: decorator
@inline export function channelKind(ch: i32): u8 { return unchecked(kinds[ch]); }
// @ts-ignore: decorator
@inline export function isFrequent(ch: i32): bool { return isChannel(ch) && unchecked(kinds[ch]) == KIND_FREQUENT; }
export function channelName(ch: i32): string { return unchecked(names[ch]); }
export function channelUnit(ch: i32): string { return unchecked(units[ch]); }
// @ts-ignore: decorator
@inline export function isFaulted(ch: i32): bool { return unchecked(faulted[ch]); }
// @ts-ignore: decorator
@inline export function setFaulted(ch: i32, on: bool): void { put(faulted, ch, on); }
