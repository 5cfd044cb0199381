// A shard: the devices one process runs, advanced together through virtual time. Devices tick in order
// of (due time, device id) from a binary heap, so a shard's output does not depend on which other
// devices share its process: the fleet can split devices over any number of processes and merge the
// frames back into the same stream, byte for byte.
import type { DeviceWiring } from "../hal/buses.js";
import { readFileSync } from "node:fs";
import { VirtualDevice, WasmMemoryExhausted } from "../device/virtual-device.js";
import { FrameBatchBuilder, type FrameBatch } from "./frame-batch.js";

export interface ShardDeviceFactory {
  /** Bus models for one device, seeded from the fleet seed and the device id. */
  wiring(deviceId: number): DeviceWiring;
}

export interface ShardOptions {
  board: string;
  appHash: Uint8Array;
  /** The fuel-instrumented app module. */
  module: WebAssembly.Module;
  deviceIds: number[];
  fuelPerCall: number;
  factory: ShardDeviceFactory;
  onLog?(device: number, level: number, text: string): void;
}

export interface ShardCounters {
  ticks: number;
  frames: number;
  frameBytes: number;
  resets: number;
}

export class Shard {
  readonly devices = new Map<number, VirtualDevice>();
  readonly counters: ShardCounters = { ticks: 0, frames: 0, frameBytes: 0, resets: 0 };
  private readonly heap: VirtualDevice[] = [];
  private readonly out = new FrameBatchBuilder();
  private currentTickMs = 0;
  private readonly resetLog: Array<{ device: number; reason: number; detail: string; atMs: number }> = [];

  constructor(private readonly options: ShardOptions) {
    for (const id of options.deviceIds) {
      const device = new VirtualDevice({
        id,
        board: options.board,
        appHash: options.appHash,
        module: options.module,
        wiring: options.factory.wiring(id),
        fuelPerCall: options.fuelPerCall,
        onFrame: (frame, dev) => {
          this.out.add(this.currentTickMs, dev.id, frame);
          this.counters.frames++;
          this.counters.frameBytes += frame.length;
        },
        onLog: options.onLog ? (level, text, dev) => options.onLog!(dev.id, level, text) : undefined,
        onReset: (reason, detail, dev) => {
          this.counters.resets++;
          this.resetLog.push({ device: dev.id, reason, detail, atMs: dev.clock.ms });
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
      this.push(dev);
    }
  }

  /** Run every tick due before endMs; return the frames they sent. */
  runUntil(endMs: number): FrameBatch {
    const heap = this.heap;
    while (heap.length > 0 && heap[0].nextTickMs < endMs) {
      const dev = heap[0];
      this.currentTickMs = dev.nextTickMs;
      dev.runTick();
      this.counters.ticks++;
      this.siftDown(0);
    }
    return this.out.take();
  }

  /** Deliver a downlink frame to one device now (between slices). Null: no such device or it trapped. */
  control(deviceId: number, frame: Uint8Array, atMs: number): number | null {
    const dev = this.devices.get(deviceId);
    if (!dev) return null;
    this.currentTickMs = atMs;
    dev.clock.setMs(Math.max(dev.clock.ms, atMs));
    const status = dev.control(frame);
    this.heapify();
    return status;
  }

  /** Frames sent outside runUntil (by control), taken with the next batch or explicitly. */
  takeFrames(): FrameBatch { return this.out.take(); }

  takeResets(): Array<{ device: number; reason: number; detail: string; atMs: number }> {
    return this.resetLog.splice(0, this.resetLog.length);
  }

  // ---- binary heap on (nextTickMs, id)
  private less(a: VirtualDevice, b: VirtualDevice): boolean {
    return a.nextTickMs < b.nextTickMs || (a.nextTickMs === b.nextTickMs && a.id < b.id);
  }
  private push(dev: VirtualDevice): void {
    const heap = this.heap;
    heap.push(dev);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }
  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && this.less(heap[l], heap[m])) m = l;
      if (r < heap.length && this.less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
  private heapify(): void {
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }
}

function maxMapCount(): string {
  try { return readFileSync("/proc/sys/vm/max_map_count", "utf8").trim(); } catch { return "a limited number of"; }
}
