// The fleet: N virtual devices running the same app module, split over shards (this process, or child
// processes: one per core, more when a process would exceed its Wasm-memory budget), advanced slice by
// slice through virtual time. The frames of each slice are merged by (tick time, device id), so the same
// seed gives the same frames, byte for byte, whatever the number of shards.
import { availableParallelism } from "node:os";
import { instrumentFuel } from "../device/fuel.js";
import { randomBootSalt } from "../device/boot-id.js";
import { mergeBatches, type FrameBatch } from "./frame-batch.js";
import { childProcessShard, inProcessShard, type Engine, type ShardHandle, type ShardReply, type ShardReset } from "./shard-host.js";
import type { FleetWiringSpec } from "./wiring.js";

/** Devices one process takes at most: under the ~13,000 Wasm memories a Node process can map. */
export const DEFAULT_DEVICES_PER_PROCESS = 10_000;
/** Loop iterations an init, tick or control may run before the watchdog resets the module. */
export const DEFAULT_FUEL_PER_CALL = 2_000_000;

export interface FleetOptions {
  binary: Uint8Array;
  appHash: Uint8Array;
  board: string;
  devices: number;
  firstDeviceId?: number;
  /** Number of shards; 0 = choose (one per core, enough to respect devicesPerProcess). */
  workers?: number;
  /** Run a single shard in this process instead of a child process (tests, tiny fleets). */
  inProcess?: boolean;
  devicesPerProcess?: number;
  fuelPerCall?: number;
  wiring: FleetWiringSpec;
  startMs?: number;
  /** What runs the modules: V8 (default) or the device's C runtime with Wasm3 (docs/runtime.md "The sim port"). */
  engine?: Engine;
  /** The C runtime's time budget per call, device ms (engine wasm3). */
  budgetMs?: number;
  /** Linear memory the board allows, in pages (boards/*.json memory.maxPages; default 1). */
  maxPages?: number;
  /** Salt of the devices' boot ids (simulator/device/boot-id.ts). Default: drawn from the host's entropy,
   *  so a re-run's boots are new boots to a bridge; give one for byte-identical re-runs. */
  bootSalt?: number;
}

/** The k-th (0-based) of n contiguous, balanced parts of `count` items: [start, end), sizes differing
 *  by at most one, none empty while count >= n. One split for both uses: devices over a fleet's
 *  processes, and a fleet over machines (`iotfw simulate --shard`, host/simulate/shard.ts). */
export function contiguousSlice(count: number, k: number, n: number): [number, number] {
  return [Math.floor((k * count) / n), Math.floor(((k + 1) * count) / n)];
}

/** Which part of contiguousSlice(count, *, n) holds item i: the largest k with floor(k*count/n) <= i. */
export function sliceOf(count: number, i: number, n: number): number {
  return Math.floor(((i + 1) * n - 1) / count);
}

export interface SliceResult {
  batch: FrameBatch;
  resets: ShardReset[];
  ticks: number;
}

export class FleetError extends Error {}

export class Fleet {
  private constructor(
    private readonly shards: ShardHandle[],
    private readonly shardOf: (deviceId: number) => number,
    readonly deviceIds: number[],
  ) {}

  get shardCount(): number { return this.shards.length; }

  static async start(options: FleetOptions): Promise<Fleet> {
    const perProcess = options.devicesPerProcess ?? DEFAULT_DEVICES_PER_PROCESS;
    const needed = Math.ceil(options.devices / perProcess);
    // Never more shards than devices: every shard holds at least one.
    const workers = Math.min(options.devices, Math.max(needed, options.workers || Math.min(availableParallelism(), Math.max(1, Math.ceil(options.devices / 16)))));
    if (options.inProcess && workers > 1) {
      throw new FleetError(`${options.devices} devices need ${workers} processes (at most ${perProcess} Wasm memories each); in-process mode holds one`);
    }
    const first = options.firstDeviceId ?? 1;
    const ids = Array.from({ length: options.devices }, (_, i) => first + i);
    const binary = await instrumentFuel(options.binary);
    const bootSalt = options.bootSalt ?? randomBootSalt();
    // Contiguous ranges (contiguousSlice), the same split `simulate --shard` makes over machines.
    const shards: ShardHandle[] = [];
    const starts: Promise<ShardReply>[] = [];
    for (let k = 0; k < workers; k++) {
      const part = ids.slice(...contiguousSlice(ids.length, k, workers));
      const handle = options.inProcess ? inProcessShard() : childProcessShard();
      shards.push(handle);
      starts.push(handle.request({
        op: "start",
        spec: {
          board: options.board, appHash: options.appHash, binary, deviceIds: part,
          fuelPerCall: options.fuelPerCall ?? DEFAULT_FUEL_PER_CALL, wiring: options.wiring,
          bootAtMs: options.startMs ?? 0, bootSalt, engine: options.engine, budgetMs: options.budgetMs, maxPages: options.maxPages,
        },
      }));
    }
    const replies = await Promise.allSettled(starts);
    const failure = replies.find((r) => r.status === "rejected" || r.value.op === "error");
    if (failure) {
      await Promise.all(shards.map((s) => s.close()));
      const why = failure.status === "rejected" ? String(failure.reason) : (failure.value as { message: string }).message;
      throw new FleetError(`could not start the fleet: ${why}`);
    }
    return new Fleet(shards, (id) => sliceOf(ids.length, id - first, workers), ids);
  }

  /** Advance every device to endMs (exclusive); the merged frames of that slice. */
  async runUntil(endMs: number): Promise<SliceResult> {
    const replies = await Promise.all(this.shards.map((s) => s.request({ op: "run", endMs })));
    const batches: FrameBatch[] = [];
    const resets: ShardReset[] = [];
    let ticks = 0;
    for (const r of replies) {
      if (r.op === "error") throw new FleetError(r.message);
      if (r.op !== "slice") throw new FleetError(`unexpected shard reply ${r.op}`);
      batches.push(r.result.batch);
      resets.push(...r.result.resets);
      ticks += r.result.ticks;
    }
    return { batch: mergeBatches(batches), resets, ticks };
  }

  /** Deliver a downlink frame to a device at device time atMs; the frames it answered with. */
  async control(deviceId: number, frame: Uint8Array, atMs: number): Promise<{ status: number | null; batch: FrameBatch }> {
    const r = await this.shards[this.shardFor(deviceId)].request({ op: "control", device: deviceId, frame, atMs });
    if (r.op === "error") throw new FleetError(r.message);
    if (r.op !== "control") throw new FleetError(`unexpected shard reply ${r.op}`);
    return { status: r.status, batch: r.batch };
  }

  /** Deploy a module (as built; sha256 of it) to one device or several at device time atMs: each
   *  restarts with it, reset_info reason RESET_REMOTE, keeping its id. */
  async deploy(deviceIds: number | readonly number[], binary: Uint8Array, sha256: Uint8Array, atMs: number): Promise<void> {
    const fueled = await instrumentFuel(binary); // once for all the devices
    for (const device of typeof deviceIds === "number" ? [deviceIds] : deviceIds) {
      const r = await this.shards[this.shardFor(device)].request({ op: "deploy", device, binary: fueled, sha256, atMs });
      if (r.op === "error") throw new FleetError(r.message);
    }
  }

  private shardFor(deviceId: number): number {
    const k = this.shardOf(deviceId);
    if (k < 0 || k >= this.shards.length || !this.deviceIds.includes(deviceId)) throw new FleetError(`no device ${deviceId} in this fleet`);
    return k;
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
