// A shard: the devices one process runs, advanced together through virtual time, slice by slice. The
// devices of a shard share nothing, so a slice runs them one after another, each through every tick due
// before the slice's end: a device's instance, page and models stay in the CPU's caches for its whole
// slice instead of being evicted by the thousand other devices between two of its ticks (about three
// times faster at 1,000 devices with 10 s slices). Frames and resets are then put back into the order of
// (tick time, device id), so a shard's output does not depend on which other devices share its process:
// the fleet can split devices over any number of processes and merge the frames back into the same
// stream, byte for byte.
import type { DeviceWiring } from "../hal/buses.js";
import { readFileSync } from "node:fs";
import { VirtualDevice, WasmMemoryExhausted } from "../device/virtual-device.js";
import { FrameBatchBuilder, type FrameBatch } from "./frame-batch.js";
import { memoryRefusal } from "../device/module-limits.js";

export interface ShardReset { device: number; reason: number; detail: string; atMs: number }

export interface ShardDeviceFactory {
  /** Bus models for one device, seeded from the fleet seed and the device id. */
  wiring(deviceId: number): DeviceWiring;
}

export interface ShardOptions {
  board: string;
  appHash: Uint8Array;
  /** The fuel-instrumented app module's bytes. */
  binary: Uint8Array;
  deviceIds: number[];
  fuelPerCall: number;
  /** Linear memory the board allows (boards/*.json memory.maxPages). */
  maxPages: number;
  factory: ShardDeviceFactory;
  /** The run's salt for the devices' boot ids (simulator/device/boot-id.ts). */
  bootSalt: number;
  /** Log lines as devices write them: each device's in its order, devices one after another per slice. */
  onLog?(device: number, level: number, text: string): void;
}

export interface ShardCounters {
  ticks: number;
  frames: number;
  frameBytes: number;
  resets: number;
}

/** What the fleet asks of a shard, whichever engine runs its modules: this file's Shard (V8, in this
 *  process) or simulator/wasm3/wasm3-shard.ts (the C runtime and Wasm3). Both give frames and resets in
 *  (tick time, device id) order, so their outputs compare byte for byte. */
export interface FleetShard {
  readonly counters: ShardCounters;
  boot(atMs: number): void;
  runUntil(endMs: number): FrameBatch;
  control(deviceId: number, frame: Uint8Array, atMs: number): number | null;
  /** Swap a device's module for another (a deploy): it restarts now with reset_info RESET_REMOTE.
   *  binary: fuel-instrumented as the shard's; sha256: of the module as built. */
  deploy(deviceId: number, binary: Uint8Array, sha256: Uint8Array, atMs: number): void;
  takeFrames(): FrameBatch;
  takeResets(): ShardReset[];
  close(): void;
}

export class Shard implements FleetShard {
  readonly devices = new Map<number, VirtualDevice>();
  readonly counters: ShardCounters = { ticks: 0, frames: 0, frameBytes: 0, resets: 0 };
  /** Every device, by ascending id: the order a slice runs them in. */
  private readonly byId: VirtualDevice[] = [];
  private readonly out = new FrameBatchBuilder();
  private currentTickMs = 0;
  /** Resets since the last takeResets, each with the time of the tick it happened in (its sort key). */
  private readonly resetLog: Array<{ reset: ShardReset; tickMs: number }> = [];

  private readonly refusal: string | undefined;

  constructor(private readonly options: ShardOptions) {
    this.refusal = memoryRefusal(options.binary, options.maxPages);
    const module = new WebAssembly.Module(options.binary as Uint8Array<ArrayBuffer>);
    for (const id of options.deviceIds) {
      const device = new VirtualDevice({
        id,
        board: options.board,
        appHash: options.appHash,
        module,
        wiring: options.factory.wiring(id),
        fuelPerCall: options.fuelPerCall,
        refusal: this.refusal,
        bootSalt: options.bootSalt,
        onFrame: (frame, dev) => {
          this.out.add(this.currentTickMs, dev.id, frame);
          this.counters.frames++;
          this.counters.frameBytes += frame.length;
        },
        onLog: options.onLog ? (level, text, dev) => options.onLog!(dev.id, level, text) : undefined,
        onReset: (reason, detail, dev) => {
          this.counters.resets++;
          this.resetLog.push({ reset: { device: dev.id, reason, detail, atMs: dev.clock.ms }, tickMs: this.currentTickMs });
        },
      });
      this.devices.set(id, device);
    }
  }

  /** Power every device on at device time atMs: instances are created now, init runs as each device's
   *  first step in (time, id) order like any tick. */
  boot(atMs: number): void {
    const ids = [...this.devices.keys()].sort((a, b) => a - b);
    let booted = 0;
    for (const id of ids) {
      const dev = this.devices.get(id)!;
      this.currentTickMs = atMs;
      try {
        dev.boot(atMs);
      } catch (err) {
        if (!(err instanceof WasmMemoryExhausted)) throw err;
        throw new WasmMemoryExhausted(
          `this process could create only ${booted} of its ${ids.length} devices' Wasm memories (${err.message}). ` +
          `Each Wasm memory takes several memory mappings and Linux allows ${maxMapCount()} per process ` +
          `(vm.max_map_count): run fewer devices per process (--devices-per-process) or raise vm.max_map_count.`);
      }
      booted++;
      this.byId.push(dev);
    }
  }

  /** Run every tick due before endMs; return the frames they sent, in (tick time, device id) order. */
  runUntil(endMs: number): FrameBatch {
    const devices = this.byId;
    for (let i = 0; i < devices.length; i++) {
      const dev = devices[i];
      while (dev.nextTickMs < endMs) {
        this.currentTickMs = dev.nextTickMs;
        dev.runTick();
        this.counters.ticks++;
      }
    }
    return this.out.take();
  }

  /** Deliver a downlink frame to one device now (between slices). Null: no such device or it trapped. */
  control(deviceId: number, frame: Uint8Array, atMs: number): number | null {
    const dev = this.devices.get(deviceId);
    if (!dev) return null;
    this.currentTickMs = atMs;
    dev.clock.setMs(Math.max(dev.clock.ms, atMs));
    return dev.control(frame);
  }

  deploy(deviceId: number, binary: Uint8Array, sha256: Uint8Array, atMs: number): void {
    const dev = this.devices.get(deviceId);
    if (!dev) throw new Error(`no device ${deviceId} in this shard`);
    dev.clock.setMs(Math.max(dev.clock.ms, atMs));
    dev.replaceModule(new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>), sha256, memoryRefusal(binary, this.options.maxPages));
  }

  close(): void { /* nothing held outside this process's heap */ }

  /** Frames sent outside runUntil (by control), taken with the next batch or explicitly. */
  takeFrames(): FrameBatch { return this.out.take(); }

  /** Resets since the last call, in (tick time, device id) order like the frames. */
  takeResets(): ShardReset[] {
    const taken = this.resetLog.splice(0, this.resetLog.length);
    taken.sort((a, b) => a.tickMs - b.tickMs || a.reset.device - b.reset.device); // stable: a device's own order stays
    return taken.map((r) => r.reset);
  }
}

function maxMapCount(): string {
  try { return readFileSync("/proc/sys/vm/max_map_count", "utf8").trim(); } catch { return "a limited number of"; }
}
