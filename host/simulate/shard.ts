// `iotfw simulate --shard K/N` and `--merge`: one deterministic fleet run as N slices on N machines, and
// the slices' NDJSON put back together into exactly the bytes the one-machine run writes.
//
// The split is the fleet's own (simulator/fleet/fleet.ts contiguousSlice): slice K holds a contiguous
// range of device ids, the ids the one-machine run gives them. A device's world depends only on
// (--seed, its id) and its boot ids on (--boot-id-seed, its id), so a device runs the same wherever it
// runs. The one-machine NDJSON is in the order (tick time, device id), each device's frames in its own
// order; every frame's `t` is the device time of the tick that sent it (the core stamps frames with
// tick's now_ms, which is the fleet's clock: it does not restart at a reset), so a slice's file is in
// (t, device) order too, and a k-way merge on (t, device) gives back the one-machine bytes. `t` is a
// u32 of milliseconds: the merge unwraps it per file (runs longer than 49.7 days of device time).
// May touch: the files it is given (read) and the stream it writes to.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { contiguousSlice } from "../../simulator/fleet/fleet.js";

export interface ShardSpec {
  /** 1-based, as the user writes it: 1 <= index <= count. */
  index: number;
  count: number;
}

export class ShardError extends Error {}

/** Parse `K/N` (1 <= K <= N). */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ShardError(`--shard takes K/N (slice K of N, e.g. 2/3), not "${text}"`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new ShardError(`--shard ${text}: K must be from 1 to N (N >= 1)`);
  return { index, count };
}

/** The devices slice K of N of a `total`-device fleet runs: ids first .. first + devices - 1. */
export function shardDevices(total: number, shard: ShardSpec): { firstDeviceId: number; devices: number } {
  if (shard.count > total) throw new ShardError(`--shard ${shard.index}/${shard.count}: ${total} device${total === 1 ? "" : "s"} cannot make ${shard.count} slices (at most one slice per device)`);
  const [start, end] = contiguousSlice(total, shard.index - 1, shard.count);
  return { firstDeviceId: 1 + start, devices: end - start };
}

/** The head every simulate NDJSON line starts with (host/protocol/json.ts frameToJson's field order). */
const HEAD = /^\{"type":"[a-z_]+","device":(\d+),"seq":\d+,"t":(\d+)[,}]/;
const WRAP = 2 ** 32;

interface Cursor {
  path: string;
  lines: AsyncIterator<string>;
  line?: string;
  lineNo: number;
  /** Unwrapped t and device of `line`. */
  t: number;
  device: number;
  epoch: number;
}

/** Merge the NDJSON of a run's slices (`--shard K/N --out`) into the one-machine run's lines, in its
 *  order; write each line (with its newline) through `write`. Returns the number of lines. */
export async function mergeShardOutputs(paths: string[], write: (text: string) => void | Promise<void>): Promise<number> {
  if (paths.length === 0) throw new ShardError("--merge needs the slices' NDJSON files");
  const owner = new Map<number, Cursor>();
  const cursors: Cursor[] = [];
  for (const path of paths) {
    const input = createReadStream(path, { encoding: "utf8" });
    const opened = new Promise<void>((resolve, reject) => { input.once("open", () => resolve()); input.once("error", reject); });
    await opened.catch((e: Error) => { throw new ShardError(`cannot read ${path}: ${e.message}`); });
    const c: Cursor = { path, lines: createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator](), lineNo: 0, t: 0, device: 0, epoch: 0 };
    await advance(c, owner);
    cursors.push(c);
  }
  let n = 0;
  let batch = "";
  for (;;) {
    let best: Cursor | undefined;
    for (const c of cursors) {
      if (c.line === undefined) continue;
      if (!best || c.t < best.t || (c.t === best.t && c.device < best.device)) best = c;
    }
    if (!best) break;
    batch += best.line + "\n";
    n++;
    if (batch.length > 1 << 16) { await write(batch); batch = ""; }
    await advance(best, owner);
  }
  if (batch) await write(batch);
  return n;
}

/** The cursor's next line, its key checked: in (t, device) order within its file, and each device in one file only. */
async function advance(c: Cursor, owner: Map<number, Cursor>): Promise<void> {
  const before = c.line === undefined ? undefined : { t: c.t, device: c.device };
  const next = await c.lines.next();
  if (next.done) { c.line = undefined; return; }
  c.lineNo++;
  const m = HEAD.exec(next.value);
  if (!m) throw new ShardError(`${c.path} line ${c.lineNo}: not a line of \`iotfw simulate --out\` NDJSON`);
  const device = Number(m[1]);
  let t = Number(m[2]) + c.epoch;
  // A u32 that went back by more than half its range wrapped (49.7 days); smaller steps back are disorder.
  if (before && t < before.t - WRAP / 2) { c.epoch += WRAP; t += WRAP; }
  if (before && (t < before.t || (t === before.t && device < before.device))) {
    throw new ShardError(`${c.path} line ${c.lineNo}: out of (time, device) order: not one slice's --out as written`);
  }
  const first = owner.get(device);
  if (first === undefined) owner.set(device, c);
  else if (first !== c) throw new ShardError(`device ${device} is in both ${first.path} and ${c.path}: slices of different runs, or one slice given twice`);
  c.line = next.value;
  c.t = t;
  c.device = device;
}
