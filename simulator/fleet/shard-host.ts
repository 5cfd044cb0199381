// What runs a shard: in this process (small fleets, tests) or in a child process (a fleet is sharded
// over processes because one Node process holds only ~13,000 Wasm memories: each takes several memory
// mappings and Linux's default vm.max_map_count is 65530; worker threads share the process, so they
// would not help). Both speak the same small request/reply protocol (ShardRequest / ShardReply).
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../host/repo-root.js";
import { Shard, type FleetShard, type ShardReset } from "./shard.js";
import { Wasm3Shard } from "../wasm3/wasm3-shard.js";
import type { FrameBatch } from "./frame-batch.js";
import { createDeviceFactory, type FleetWiringSpec } from "./wiring.js";

/** The C runtime's default time budget for one init, tick or control (docs/runtime.md "Watchdog"). */
export const DEFAULT_BUDGET_MS = 1000;
/** What every board file allows (boards/*.json memory.maxPages). */
export const DEFAULT_MAX_PAGES = 1;

export interface ShardSpec {
  board: string;
  appHash: Uint8Array;
  /** Fuel-instrumented module bytes. */
  binary: Uint8Array;
  deviceIds: number[];
  fuelPerCall: number;
  wiring: FleetWiringSpec;
  bootAtMs: number;
  /** The run's salt for the devices' boot ids (simulator/device/boot-id.ts). */
  bootSalt: number;
  /** What runs the modules: V8 in this process (default) or the C runtime with Wasm3. */
  engine?: Engine;
  /** The runtime's time budget per call in device ms (the wasm3 engine's C runtime). */
  budgetMs?: number;
  /** Linear memory the board allows, in 64 KiB pages (boards/*.json memory.maxPages); default 1. */
  maxPages?: number;
}

export type Engine = "v8" | "wasm3";

export type { ShardReset } from "./shard.js";
export interface ShardSliceResult {
  batch: FrameBatch;
  resets: ShardReset[];
  ticks: number;
}

export type ShardRequest =
  | { op: "start"; spec: ShardSpec }
  | { op: "run"; endMs: number }
  | { op: "control"; device: number; frame: Uint8Array; atMs: number }
  | { op: "deploy"; device: number; binary: Uint8Array; sha256: Uint8Array; atMs: number }
  | { op: "stop" };

export type ShardReply =
  | { op: "started"; devices: number }
  | { op: "slice"; result: ShardSliceResult }
  | { op: "control"; status: number | null; batch: FrameBatch }
  | { op: "deployed" }
  | { op: "error"; message: string };

/** Handles requests against a Shard; used in-process and by shard-process.ts. */
export class ShardServer {
  private shard?: FleetShard;
  private ticksBefore = 0;

  async handle(req: ShardRequest): Promise<ShardReply> {
    try {
      switch (req.op) {
        case "start": {
          const spec = req.spec;
          const common = {
            board: spec.board, appHash: spec.appHash, binary: spec.binary, deviceIds: spec.deviceIds, fuelPerCall: spec.fuelPerCall,
            maxPages: spec.maxPages ?? DEFAULT_MAX_PAGES, factory: createDeviceFactory(spec.wiring), bootSalt: spec.bootSalt,
          };
          this.shard = spec.engine === "wasm3"
            ? await Wasm3Shard.create({ ...common, budgetMs: spec.budgetMs ?? DEFAULT_BUDGET_MS })
            : new Shard(common);
          this.shard.boot(spec.bootAtMs);
          return { op: "started", devices: req.spec.deviceIds.length };
        }
        case "run": {
          const shard = this.need();
          const batch = shard.runUntil(req.endMs);
          const ticks = shard.counters.ticks - this.ticksBefore;
          this.ticksBefore = shard.counters.ticks;
          return { op: "slice", result: { batch, resets: shard.takeResets(), ticks } };
        }
        case "control": {
          const shard = this.need();
          const status = shard.control(req.device, req.frame, req.atMs);
          return { op: "control", status, batch: shard.takeFrames() };
        }
        case "deploy": {
          this.need().deploy(req.device, req.binary, req.sha256, req.atMs);
          return { op: "deployed" };
        }
        case "stop":
          this.shard?.close();
          this.shard = undefined;
          return { op: "started", devices: 0 };
      }
    } catch (err) {
      return { op: "error", message: err instanceof Error ? err.message : String(err) };
    }
  }

  private need(): FleetShard {
    if (!this.shard) throw new Error("shard not started");
    return this.shard;
  }
}

export interface ShardHandle {
  request(req: ShardRequest): Promise<ShardReply>;
  close(): Promise<void>;
}

export function inProcessShard(): ShardHandle {
  const server = new ShardServer();
  return {
    request: (req) => server.handle(req),
    close: async () => { await server.handle({ op: "stop" }); },
  };
}

// Always the compiled script (npm run build:host), also when this file runs from source under vitest.
const SHARD_SCRIPT = join(REPO_ROOT, "dist", "simulator", "fleet", "shard-process.js");

/** A shard in a child process (dist/simulator/fleet/shard-process.js). Requests are answered in order. */
export function childProcessShard(): ShardHandle {
  // In its own process group: Ctrl-C in a terminal signals the foreground group, and a shard killed by
  // it (even while it is still loading) would turn an ordinary interrupt into a failed run. The fleet
  // stops its shards itself; a shard whose parent died sees its IPC channel close and exits.
  const child: ChildProcess = fork(SHARD_SCRIPT, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"], detached: true });
  const waiting: Array<{ resolve(r: ShardReply): void; reject(e: Error): void }> = [];
  let exited: Error | undefined;
  child.on("message", (msg) => waiting.shift()?.resolve(msg as ShardReply));
  child.on("exit", (code, signal) => {
    exited = new Error(`shard process exited (${signal ?? `code ${code}`})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    request: (req) => new Promise((resolve, reject) => {
      if (exited) return reject(exited);
      waiting.push({ resolve, reject });
      child.send(req);
    }),
    close: () => new Promise((resolve) => {
      if (exited) return resolve();
      child.once("exit", () => resolve());
      child.kill();
    }),
  };
}
