// A shard whose devices run under the real C runtime and Wasm3 (`iotfw simulate --engine wasm3`): one
// iotfw-runtime-sim process holds them all, and this side answers their HAL calls from the same bus
// models, clocks and scenario the Node engine's devices use (simulator/hal/host.ts), so the two engines
// differ only in what runs the module. Same interface as the Node engine's Shard, same output order.
// May touch: one runtime process (runtime-process.ts).
import { HAL_IMPORT_NAMES, HAL_VERSION } from "../hal/abi.generated.js";
import { HalHost, VirtualClock } from "../hal/host.js";
import { bootIdFor } from "../device/boot-id.js";
import { FrameBatchBuilder, type FrameBatch } from "../fleet/frame-batch.js";
import type { FleetShard, ShardCounters, ShardDeviceFactory, ShardReset } from "../fleet/shard.js";
import {
  controlMessage, decodeDone, decodeFrame, decodeHal, decodeLog, decodeReset, halReplyMessage, moduleMessage, Op,
  runMessage, startMessage, stopMessage,
} from "./protocol.js";
import { RuntimeProcess, RuntimeProcessError } from "./runtime-process.js";
import { buildSimRuntime } from "./runtime-build.js";

export interface Wasm3ShardOptions {
  board: string;
  appHash: Uint8Array;
  /** The fuel-instrumented module (simulator/device/fuel.ts), as the Node engine runs it. */
  binary: Uint8Array;
  deviceIds: number[];
  fuelPerCall: number;
  /** The runtime's time budget per call (docs/runtime.md "Watchdog"), in device milliseconds. */
  budgetMs: number;
  /** Linear memory the board allows (boards/*.json memory.maxPages). */
  maxPages?: number;
  factory: ShardDeviceFactory;
  /** The run's salt for boot ids: the runtime asks the host for boot_id (ports/sim/hal_sim.c), and the
   *  host answers as the Node engine does (simulator/device/boot-id.ts). */
  bootSalt: number;
  onLog?(device: number, level: number, text: string): void;
  /** Keep both directions of the protocol (for a replay on another build of the runtime). */
  record?: boolean;
  /** A prebuilt iotfw-runtime-sim (else built from the sources). */
  runtimeBinary?: string;
}

/** starts: module instances begun before the current one (each RESET and each deploy begins one). */
interface SimDevice { id: number; clock: VirtualClock; host: HalHost; nextMs: number; starts: number }

/** Buffers of a HAL call are placed in one scratch memory the models read and write (3 pages: two
 *  buffers as large as a module's whole page fit). */
const SCRATCH_PAGES = 3;

export class Wasm3Shard implements FleetShard {
  readonly counters: ShardCounters = { ticks: 0, frames: 0, frameBytes: 0, resets: 0 };
  private readonly devices = new Map<number, SimDevice>();
  private readonly byId: SimDevice[] = [];
  private readonly out = new FrameBatchBuilder();
  private readonly resetLog: Array<{ reset: ShardReset; tickMs: number }> = [];
  private readonly scratch = new WebAssembly.Memory({ initial: SCRATCH_PAGES, maximum: SCRATCH_PAGES });
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);

  private constructor(private readonly options: Wasm3ShardOptions, readonly runtime: RuntimeProcess) {
    for (const id of options.deviceIds) {
      const clock = new VirtualClock();
      const host = new HalHost({ deviceId: id, board: options.board, appHash: options.appHash, clock, wiring: options.factory.wiring(id), onFrame: () => undefined });
      host.bind(this.scratch);
      host.options.bootId = bootIdFor(options.bootSalt, id, 0);
      this.devices.set(id, { id, clock, host, nextMs: 0, starts: 0 });
    }
  }

  static async create(options: Wasm3ShardOptions): Promise<Wasm3Shard> {
    const binary = options.runtimeBinary ?? buildSimRuntime().binary;
    const runtime = await RuntimeProcess.start(binary, { record: options.record, halImports: HAL_IMPORT_NAMES, halVersion: HAL_VERSION });
    return new Wasm3Shard(options, runtime);
  }

  boot(atMs: number): void {
    for (const id of [...this.devices.keys()].sort((a, b) => a - b)) {
      const dev = this.devices.get(id)!;
      dev.clock.setMs(atMs);
      const { budgetMs, fuelPerCall: fuel, maxPages = 1, board } = this.options;
      startMessage(this.runtime.out, id, dev.clock.us, { budgetMs, fuel, maxPages, board }, this.options.appHash, this.options.binary);
      dev.nextMs = this.serve(dev, atMs).nextMs;
      this.byId.push(dev);
    }
  }

  runUntil(endMs: number): FrameBatch {
    for (const dev of this.byId) {
      if (dev.nextMs >= endMs) continue;
      runMessage(this.runtime.out, dev.id, endMs);
      const done = this.serve(dev, dev.nextMs);
      dev.nextMs = done.nextMs;
      this.counters.ticks += done.status;
    }
    return this.out.take();
  }

  control(deviceId: number, frame: Uint8Array, atMs: number): number | null {
    const dev = this.devices.get(deviceId);
    if (!dev) return null;
    controlMessage(this.runtime.out, deviceId, atMs, frame);
    const resetsBefore = this.counters.resets;
    const done = this.serve(dev, atMs);
    dev.nextMs = done.nextMs;
    // As the Node engine answers: null when no module was running or it trapped on the frame.
    const NOT_READY = -6, TRAPPED = -100;
    return done.status === NOT_READY || done.status === TRAPPED || this.counters.resets !== resetsBefore ? null : done.status;
  }

  deploy(deviceId: number, binary: Uint8Array, sha256: Uint8Array, atMs: number): void {
    const dev = this.devices.get(deviceId);
    if (!dev) throw new Error(`no device ${deviceId} in this shard`);
    dev.host.options.appHash = sha256;
    this.nextInstance(dev);
    moduleMessage(this.runtime.out, deviceId, atMs, sha256, binary);
    dev.nextMs = this.serve(dev, atMs).nextMs;
  }

  takeFrames(): FrameBatch { return this.out.take(); }

  takeResets(): ShardReset[] {
    const taken = this.resetLog.splice(0, this.resetLog.length);
    taken.sort((a, b) => a.tickMs - b.tickMs || a.reset.device - b.reset.device);
    return taken.map((r) => r.reset);
  }

  close(): void {
    for (const id of this.devices.keys()) { stopMessage(this.runtime.out, id); this.runtime.next(); }
    this.runtime.close();
  }

  /** The runtime will start another instance of dev's module: its boot_id is the next one. */
  private nextInstance(dev: SimDevice): void {
    dev.starts++;
    dev.host.options.bootId = bootIdFor(this.options.bootSalt, dev.id, dev.starts);
  }

  /** Answer the runtime's messages about dev until its DONE. */
  private serve(dev: SimDevice, tickMs: number): { nextMs: number; status: number } {
    for (;;) {
      const { op, payload } = this.runtime.next();
      switch (op) {
        case Op.HAL: this.hal(payload); break;
        case Op.FRAME: {
          const f = decodeFrame(payload);
          this.out.add(f.tickMs, f.dev, new Uint8Array(f.frame)); // a copy: the payload is the read buffer
          this.counters.frames++;
          this.counters.frameBytes += f.frame.length;
          break;
        }
        case Op.LOG: { const l = decodeLog(payload); this.options.onLog?.(l.dev, l.level, l.text); break; }
        case Op.RESET: {
          const r = decodeReset(payload);
          this.counters.resets++;
          const of = this.devices.get(r.dev);
          if (of) this.nextInstance(of);
          this.resetLog.push({ reset: { device: r.dev, reason: r.reason, detail: r.detail, atMs: r.atMs }, tickMs: r.tickMs });
          break;
        }
        case Op.DONE: {
          const d = decodeDone(payload);
          if (d.dev !== dev.id) throw new RuntimeProcessError(`the runtime finished device ${d.dev} while serving ${dev.id} (at ${tickMs} ms)`);
          return d;
        }
        default: throw new RuntimeProcessError(`unexpected message ${String.fromCharCode(op)} from the runtime`);
      }
    }
  }

  /** One HAL call of a device: its buffers go into scratch memory, its models answer. */
  private hal(payload: Buffer): void {
    const req = decodeHal(payload);
    const dev = this.devices.get(req.dev);
    const name = this.runtime.imports[req.index];
    if (!dev || name === undefined) throw new RuntimeProcessError(`HAL request for device ${req.dev}, import ${req.index}: unknown`);
    dev.clock.us = req.clockUs;
    const args = req.args;
    const placed: Array<[number, number]> = [];
    let at = 0;
    for (const r of req.regions) {
      this.scratchBytes.set(r.bytes, at);
      args[r.arg] = at;
      placed.push([at, r.bytes.length]);
      at += (r.bytes.length + 7) & ~7;
    }
    const fn = (dev.host as unknown as Record<string, (...a: number[]) => number>)[name];
    const result = fn.apply(dev.host, args);
    halReplyMessage(this.runtime.out, result, dev.clock.us, placed.map(([o, n]) => this.scratchBytes.subarray(o, o + n)));
  }
}
