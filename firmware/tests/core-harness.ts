// Test support for firmware/tests/core*.test.ts: compiles the core's AS test entry once
// (firmware/tests/entries/core-test.ts) and runs fresh instances of it on a HalHost over a
// VirtualClock, decoding every frame with host/protocol. Test-only; touches nothing outside the instance.
import { compileAssemblyScript } from "../../host/build/compile.js";
import { decodeFrame, encodeFrame, type ControlCommand, type Frame } from "../../host/protocol/index.js";
import { HalHost, VirtualClock, emptyWiring } from "../../simulator/hal/host.js";

export const CORE_TEST_ENTRY = "firmware/tests/entries/core-test.ts";
export const DEVICE_ID = 0x1234abcd;
export const ERR_NOT_READY = -6;
export const ERR_INVALID = -4;
const ROW = 80; // TableSensor row bytes (core-test.ts)

let compiled: Promise<WebAssembly.Module> | undefined;
export function coreTestModule(): Promise<WebAssembly.Module> {
  compiled ??= compileAssemblyScript([CORE_TEST_ENTRY]).then((r) => {
    if (!r.ok || !r.binary) throw new Error(`compile failed:\n${r.diagnostics}`);
    return WebAssembly.compile(r.binary as BufferSource);
  });
  return compiled;
}

export interface CoreExports {
  memory: WebAssembly.Memory;
  init(): number;
  tick(now: number): number;
  control_buffer(): number;
  control(len: number): number;
  addTestChannel(kind: number): number;
  addLongChannel(): number;
  addHugeChannel(): number;
  attachTableSensor(nch: number, rareMask: number, periodMs: number, minIntervalMs: number): number;
  sensorTable(): number;
  valuesBuf(): number;
  feedSamples(ch: number, n: number, t0: number, dt: number, nValues: number): void;
  sample(ch: number, v: number, now: number): void;
  event(ch: number, v: number, now: number): void;
  fault(ch: number, code: number, now: number): void;
  setWindow(ch: number, ms: number, count: number): void;
  setThreshold(ch: number, high: number, low: number, hysteresis: number): void;
  setDeadband(ch: number, deadband: number): void;
  setSamplePeriod(ms: number): void;
  controlRejected(): number;
  droppedFrames(): number;
  framesSent(): number;
  heapProbe(): number;
  heapBase(): number;
  leakForTest(bytes: number): number;
}

export interface CoreDeviceOptions {
  board?: string;
  resetInfo?: number;
  bootId?: number;
  appHash?: Uint8Array;
}

/** One instance of the core test module on a simulated HAL. */
export class CoreDevice {
  readonly frames: Frame[] = [];
  readonly raw: Uint8Array[] = [];
  /** What frame_out answers next; set ERR_NOT_READY to play a full link queue. */
  frameOutStatus = 0;
  private controlSeq = 100;

  private constructor(readonly x: CoreExports, readonly host: HalHost, readonly clock: VirtualClock) {}

  static async create(options: CoreDeviceOptions = {}): Promise<CoreDevice> {
    const module = await coreTestModule();
    let device!: CoreDevice;
    const appHash = options.appHash ?? Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const clock = new VirtualClock();
    const host = new HalHost({
      deviceId: DEVICE_ID, board: options.board ?? "esp32", appHash, clock, wiring: emptyWiring(),
      resetInfo: options.resetInfo ?? 0, bootId: options.bootId ?? 0xb007_1d00,
      onFrame: (bytes) => device.received(bytes),
    });
    const imports = host.imports() as { iotfw: Record<string, (...a: number[]) => number | void> };
    const frameOut = imports.iotfw.frame_out;
    imports.iotfw.frame_out = (ptr: number, len: number) => (device.frameOutStatus === 0 ? frameOut(ptr, len) : device.frameOutStatus);
    const instance = await WebAssembly.instantiate(module, imports);
    const x = instance.exports as unknown as CoreExports;
    host.bind(x.memory);
    device = new CoreDevice(x, host, clock);
    return device;
  }

  private received(bytes: Uint8Array): void {
    const d = decodeFrame(bytes);
    if (!d.ok) throw new Error(`the core sent an undecodable frame: ${d.error}`);
    this.raw.push(bytes);
    this.frames.push(d.frame);
  }

  /** Frames received since the last take(). */
  take(): Frame[] { return this.frames.splice(0); }

  init(atMs = 0): number { this.clock.setMs(atMs); return this.x.init(); }
  tick(now: number): number { this.clock.setMs(now); return this.x.tick(now >>> 0); }

  /** Tick at the times the module asks for, from `from` until `until` (inclusive); returns the tick times. */
  run(from: number, until: number): number[] {
    const times: number[] = [];
    let t = from;
    while (t <= until) { times.push(t); t += this.tick(t); }
    return times;
  }

  /** Send a control frame (encoded with the host codec) at device time now; the module's status. */
  control(command: ControlCommand, now: number, device = DEVICE_ID): number {
    return this.controlBytes(encodeFrame({ type: "control", device, seq: ++this.controlSeq, t: 0, ...command } as Frame), now);
  }
  controlBytes(bytes: Uint8Array, now: number): number {
    this.clock.setMs(now);
    new Uint8Array(this.x.memory.buffer, this.x.control_buffer(), bytes.length).set(bytes);
    return this.x.control(bytes.length);
  }
  get lastControlSeq(): number { return this.controlSeq; }

  // ---- TableSensor rows
  private row(sensor: number): DataView { return new DataView(this.x.memory.buffer, this.x.sensorTable() + sensor * ROW, ROW); }
  setSetupResult(sensor: number, r: number): void { this.row(sensor).setInt32(0, r, true); }
  setFetchResult(sensor: number, r: number): void { this.row(sensor).setInt32(4, r, true); }
  setReading(sensor: number, i: number, v: number): void { this.row(sensor).setFloat64(16 + 8 * i, v, true); }
  fetches(sensor: number): number { return this.row(sensor).getUint32(8, true); }
  lastFetchAt(sensor: number): number { return this.row(sensor).getUint32(12, true); }

  /** Write values for feedSamples (at most 1024). */
  setValues(values: ArrayLike<number>): void {
    new Float64Array(this.x.memory.buffer, this.x.valuesBuf(), values.length).set(Array.from(values));
  }
}

/** Frames of one type, narrowed. */
export function ofType<T extends Frame["type"]>(frames: Frame[], type: T): Extract<Frame, { type: T }>[] {
  return frames.filter((f): f is Extract<Frame, { type: T }> => f.type === type);
}

/** A seeded PRNG (mulberry32): deterministic test inputs. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A normal deviate (Box-Muller) from a uniform source. */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
