// Control commands as users and programs give them to the bridge (docs/bridge.md "Control"): a JSON
// object {"op": "sleep", "ms": 0} from the HTTP API or the MQTT cmd topic, or `iotfw ctl` words
// (`set-window 0 60000 10`), validated into a protocol ControlCommand (host/protocol/frame.ts) with
// messages that name the problem. Pure functions; touches nothing.
import type { ControlCommand } from "../protocol/index.js";

export class CommandError extends Error {}

const U32 = 0xffffffff;

function int(v: unknown, name: string, max: number): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > max) throw new CommandError(`${name} must be an integer 0..${max}, got ${JSON.stringify(v)}`);
  return n;
}
function channel(v: unknown): number {
  if (v === "all") return 0xff;
  return int(v, "channel", 0xff);
}
function num(v: unknown, name: string): number {
  if (v === null || v === "off") return NaN; // disables a threshold side
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || Number.isNaN(n)) throw new CommandError(`${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** The ops `iotfw ctl` and the API accept, with their arguments, for help and errors. */
export const COMMAND_USAGE = "sleep [<ms>] | wake | set-window <channel|all> <ms> [<count>] | set-rate <ms> | ping | hello";

/** From a JSON body: {"op": "sleep"|"wake"|"set_window"|"set-window"|..., ...arguments}. */
export function parseCommand(body: unknown): ControlCommand {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new CommandError(`a command is a JSON object with "op"; ops: ${COMMAND_USAGE}`);
  const b = body as Record<string, unknown>;
  const op = typeof b.op === "string" ? b.op.replace(/-/g, "_") : "";
  switch (op) {
    case "sleep": return { op, ms: b.ms === undefined ? 0 : int(b.ms, "ms", U32) };
    case "wake": return { op };
    case "ping": return { op };
    case "hello": return { op };
    case "set_window": {
      const ms = b.ms === undefined ? 0 : int(b.ms, "ms", U32);
      const count = b.count === undefined ? 0 : int(b.count, "count", 0xffff);
      if (ms === 0 && count === 0) throw new CommandError("set-window needs a window length in ms or a count (or both)");
      return { op, channel: channel(b.channel), ms, count };
    }
    case "set_rate": {
      const periodMs = int(b.periodMs ?? b.ms, "ms", U32);
      if (periodMs === 0) throw new CommandError("set-rate needs a sample period above 0 ms");
      return { op, periodMs };
    }
    case "set_threshold":
      return { op, channel: channel(b.channel), high: num(b.high, "high"), low: num(b.low, "low"), hysteresis: b.hysteresis === undefined ? 0 : num(b.hysteresis, "hysteresis") };
    case "set_deadband":
      return { op, channel: channel(b.channel), deadband: num(b.deadband, "deadband") };
    default:
      throw new CommandError(`unknown op ${JSON.stringify(b.op)}; ops: ${COMMAND_USAGE}`);
  }
}

/** From `iotfw ctl <device> <op> [args...]` words, into the JSON body the API takes. */
export function commandFromWords(words: string[]): Record<string, unknown> {
  const [op, ...args] = words;
  const want = (n: number, m = n) => {
    if (args.length < n || args.length > m) throw new CommandError(`${op} takes ${n === m ? n : `${n} to ${m}`} argument${m === 1 ? "" : "s"}; usage: ${COMMAND_USAGE}`);
  };
  switch (op) {
    case "sleep": want(0, 1); return { op, ...(args[0] !== undefined ? { ms: args[0] } : {}) };
    case "wake": case "ping": case "hello": want(0); return { op };
    case "set-window": want(2, 3); return { op, channel: args[0], ms: args[1], ...(args[2] !== undefined ? { count: args[2] } : {}) };
    case "set-rate": want(1); return { op, ms: args[0] };
    default: throw new CommandError(`unknown command ${JSON.stringify(op ?? "")}; usage: iotfw ctl <device> ${COMMAND_USAGE}`);
  }
}
