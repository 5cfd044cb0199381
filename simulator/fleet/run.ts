// Drives a fleet through virtual time: as fast as the machine allows (`max`), paced to the wall clock
// (`realtime`), or a speed-up factor. Slices are short enough that control frames and the live view
// stay responsive, long enough that shards are not drowned in messages.
import { setTimeout as sleep } from "node:timers/promises";
import type { Fleet, SliceResult } from "./fleet.js";

export type Speed = "max" | "realtime" | number;

export interface RunOptions {
  /** Device time to run, in ms. Infinity runs until `signal` aborts. */
  durationMs: number;
  speed: Speed;
  /** Device time per slice; default 100 ms paced, 10 s at max speed (long slices keep each device's
   *  state in the CPU cache through its ticks: simulator/fleet/shard.ts). */
  sliceMs?: number;
  /** Called after each slice with the merged frames and the device time reached. Awaited. */
  onSlice(result: SliceResult, nowMs: number): void | Promise<void>;
  /** Called between slices; return downlink work to do at nowMs (control frames), awaited before the next slice. */
  between?(nowMs: number): void | Promise<void>;
  signal?: AbortSignal;
}

/** Parse --speed: "max", "realtime", or a positive factor ("10", "0.5"). */
export function parseSpeed(text: string): Speed {
  if (text === "max" || text === "realtime") return text;
  const factor = Number(text);
  if (!Number.isFinite(factor) || factor <= 0) throw new Error(`--speed takes max, realtime or a positive number, not "${text}"`);
  return factor;
}

export async function runFleet(fleet: Fleet, options: RunOptions): Promise<{ deviceMs: number; wallMs: number }> {
  const factor = options.speed === "max" ? Infinity : options.speed === "realtime" ? 1 : options.speed;
  const slice = options.sliceMs ?? (factor === Infinity ? 10_000 : 100);
  const started = performance.now();
  let now = 0;
  while (now < options.durationMs && !options.signal?.aborted) {
    const end = Math.min(options.durationMs, now + slice);
    const result = await fleet.runUntil(end);
    now = end;
    await options.onSlice(result, now);
    await options.between?.(now);
    if (factor !== Infinity) {
      const due = started + now / factor;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
  return { deviceMs: now, wallMs: performance.now() - started };
}
