// The one duration syntax of every iotfw option that takes a time (simulate --duration, monitor
// --duration, bridge --idle-timeout): a number with a unit, 500ms, 30s, 10m, 2h, 1d; a bare number is
// seconds (as sleep(1) and timeout(1) read it). Pure.
import { CliError } from "./errors.js";

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds, or a CliError naming the option. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  if (!m) throw new CliError(`${option} takes a time such as 500ms, 30s, 10m, 2h or 1d (a bare number is seconds), not "${text}"`);
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? "s").toLowerCase() as keyof typeof UNITS]);
}
