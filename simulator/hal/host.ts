// The simulator's implementation of the HAL contract (HalImports, generated from firmware/hal/abi.json):
// a virtual device's clock, its wiring to bus-level sensor models, and where its frames and logs go.
// One HalHost per device instance. It touches only the module's memory and the models it is wired to.
// Kept allocation-light: it runs once per HAL call for every device of a fleet.
import { HAL_IMPORT_NAMES, HAL_MODULE, HalConst, Status, type HalImports } from "./abi.generated.js";
import type { DeviceWiring, I2cTarget, PinDevice } from "./buses.js";

/** A device's monotonic virtual clock. The fleet scheduler sets it before each tick; HAL calls that
 *  block on a device (pulse capture, clock stretching) advance it. */
export class VirtualClock {
  us = 0;
  get ms(): number { return Math.floor(this.us / 1000); }
  setMs(ms: number): void { this.us = ms * 1000; }
  advanceUs(us: number): void { this.us += us; }
}

export interface HalHostOptions {
  deviceId: number;
  board: string;
  /** SHA-256 of the module (32 bytes), as the runtime would have checked it. */
  appHash: Uint8Array;
  clock: VirtualClock;
  wiring: DeviceWiring;
  /** One encoded frame (docs/protocol.md) left the device. The bytes are a copy the callee may keep. */
  onFrame(frame: Uint8Array): void;
  onLog?(level: number, text: string): void;
  /** Reason and count for reset_info (bits 0..7 reason, 8..31 restarts); 0 = power-on. */
  resetInfo?: number;
  /** boot_id of the current module instance (simulator/device/boot-id.ts); the owner sets it at each start. */
  bootId?: number;
  /** The module called panic (AssemblyScript abort): the host traps right after. */
  onPanic?(message: string): void;
}

/** Thrown inside a HAL import to trap the module (panic); the device's watchdog catches it. */
export class ModulePanic extends Error {}

/** Thrown when a pointer argument's range leaves the module's memory: the module traps, as the C
 *  runtime's thunks make it trap before a port sees the pointer (firmware/runtime/core/hal_dispatch.c). */
export class HalBoundsTrap extends Error {
  constructor(name: string) { super(`out of bounds memory access (HAL argument of ${name})`); }
}

const utf8 = new TextDecoder();
/** bytes() keys a view by ptr * (this + 1) + len: unique (len <= this), and exact in a double, for
 *  memories up to 64 MiB; larger ones get a fresh view per call. */
const MAX_KEYED_MEMORY = 2 ** 26;
/** Views kept per device at most (env-station's drivers use about ten). */
const MAX_VIEWS = 64;
const NACK = Object.freeze({ status: Status.ERR_NACK as number });
const INVALID = Object.freeze({ status: Status.ERR_INVALID as number });

export class HalHost implements HalImports {
  private mem: Uint8Array = new Uint8Array(0);
  private memory?: WebAssembly.Memory;
  private readonly pinModes = new Map<number, number>();
  private readonly watchedFrom = new Map<number, number>();

  constructor(readonly options: HalHostOptions) {}

  /** Bind the instance's memory after instantiation. */
  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.mem = new Uint8Array(memory.buffer);
    this.views.clear(); // views of the last instance's memory
  }

  /** The import object for WebAssembly.instantiate: { iotfw: { name: fn } }. */
  imports(): WebAssembly.Imports {
    const fns: Record<string, (...args: number[]) => number | void> = {};
    for (const name of HAL_IMPORT_NAMES) fns[name] = (this[name] as (...args: number[]) => number | void).bind(this);
    return { [HAL_MODULE]: fns };
  }

  private view(): Uint8Array {
    // memory.grow replaces the buffer and detaches the old one, whose views then read as empty: a
    // one-page module never grows, but stay correct if it does (without asking memory.buffer per call).
    if (this.mem.length === 0 && this.memory) { this.mem = new Uint8Array(this.memory.buffer); this.views.clear(); }
    return this.mem;
  }

  /** Views of [ptr, ptr + len) handed to bus models, reused: drivers transact through the same few
   *  static buffers, and a model may use a view during the call only (I2cTarget), so one view per
   *  (ptr, len) serves every transaction instead of a new object per call. */
  private readonly views = new Map<number, Uint8Array>();

  /** The module's bytes [ptr, ptr + len), bounds already checked. */
  private bytes(ptr: number, len: number): Uint8Array {
    const mem = this.view();
    if (mem.length > MAX_KEYED_MEMORY) return mem.subarray(ptr, ptr + len);
    const key = ptr * (MAX_KEYED_MEMORY + 1) + len;
    let bytes = this.views.get(key);
    if (bytes === undefined) {
      if (this.views.size >= MAX_VIEWS) this.views.clear(); // a module that uses many buffers: start over
      bytes = mem.subarray(ptr, ptr + len);
      this.views.set(key, bytes);
    }
    return bytes;
  }

  private inBounds(ptr: number, len: number): boolean {
    return ptr >= 0 && len >= 0 && ptr + len <= this.view().length;
  }

  /** Trap unless [ptr, ptr + len) is inside memory; every pointer argument is checked first, as the
   *  runtime's thunks do, whatever else the call would answer. */
  private within(name: string, ptr: number, len: number): void {
    if (!this.inBounds(ptr >>> 0, len >>> 0)) throw new HalBoundsTrap(name);
  }

  private pin(pin: number): PinDevice | undefined { return this.options.wiring.pins.get(pin); }

  private writeU32s(ptr: number, values: ArrayLike<number>): void {
    const dv = new DataView(this.view().buffer, ptr, values.length * 4);
    for (let i = 0; i < values.length; i++) dv.setUint32(i * 4, values[i] >>> 0, true);
  }

  // ---- time
  time_ms(): number { return this.options.clock.ms >>> 0; }
  time_us(): number { return this.options.clock.us >>> 0; }

  // ---- gpio
  gpio_mode(pin: number, mode: number): number {
    if (mode < HalConst.GPIO_INPUT || mode > HalConst.GPIO_INPUT_PULLDOWN) return Status.ERR_INVALID;
    this.pinModes.set(pin, mode);
    return Status.OK;
  }
  gpio_read(pin: number): number {
    const dev = this.pin(pin);
    if (dev?.level) return dev.level(this.options.clock.us) ? 1 : 0;
    const mode = this.pinModes.get(pin);
    return mode === HalConst.GPIO_INPUT_PULLUP ? 1 : 0; // a floating pin reads its pull
  }
  gpio_write(pin: number, level: number): number {
    if (this.pinModes.get(pin) !== HalConst.GPIO_OUTPUT) return Status.ERR_INVALID;
    this.pin(pin)?.driven?.(level ? 1 : 0, this.options.clock.us);
    return Status.OK;
  }
  gpio_watch(pin: number, edges: number): number {
    if (edges === HalConst.EDGE_NONE) this.watchedFrom.delete(pin);
    else this.watchedFrom.set(pin, this.options.clock.us);
    return Status.OK;
  }
  gpio_edges(pin: number, out: number, max: number): number {
    this.within("gpio_edges", out, (max >>> 0) * 8);
    const from = this.watchedFrom.get(pin);
    const dev = this.pin(pin);
    if (from === undefined) return Status.ERR_INVALID;
    if (!dev?.edges) return 0;
    const now = this.options.clock.us;
    const edges = dev.edges(from, now);
    const taken = edges.slice(Math.max(0, edges.length - max)); // the native queue drops the oldest
    const flat: number[] = [];
    for (const [t, level] of taken) flat.push(t, level);
    this.writeU32s(out, flat);
    this.watchedFrom.set(pin, now);
    return taken.length;
  }

  // ---- adc
  adc_read(pin: number): number {
    const dev = this.pin(pin);
    if (!dev?.adc) return Status.ERR_UNSUPPORTED;
    const max = (1 << this.options.wiring.adcBits) - 1;
    return Math.max(0, Math.min(max, Math.round(dev.adc(this.options.clock.us, this.options.wiring.adcBits))));
  }
  sys_sensor_read(sensor: number): number {
    const chip = this.options.wiring.chip;
    return chip ? chip.read(sensor, this.options.clock.us) : Status.ERR_UNSUPPORTED;
  }

  // ---- i2c
  /** Buses the module opened with i2c_setup: a transfer on any other is refused (docs/runtime.md "Bus
   *  setup"), as the C HALs refuse it. Kept across module restarts, like a port's configured bus. */
  private readonly openBuses = new Set<number>();
  i2c_setup(bus: number, freq_hz: number): number {
    if (!this.options.wiring.i2c.has(bus)) return Status.ERR_INVALID;
    if (!(freq_hz > 0 && freq_hz <= 1_000_000)) return Status.ERR_INVALID;
    this.openBuses.add(bus);
    return Status.OK;
  }
  /** Reused answer of i2cTarget: one lookup per transaction of every device, so no object per call. */
  private readonly found: { status: number; target?: I2cTarget } = { status: Status.OK };

  private i2cTarget(bus: number, addr: number): { status: number; target?: I2cTarget } {
    const parts = this.options.wiring.i2c.get(bus);
    if (!parts || !this.openBuses.has(bus)) return INVALID;
    const now = this.options.clock.us;
    const fault = this.options.wiring.i2cFault?.check(bus, addr, now) ?? Status.OK;
    if (fault !== Status.OK) return { status: fault };
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (p.address === addr && p.present(now)) { this.found.target = p; return this.found; }
    }
    return NACK;
  }
  i2c_write(bus: number, addr: number, data: number, len: number): number {
    this.within("i2c_write", data, len);
    const { status, target } = this.i2cTarget(bus, addr);
    if (!target) return status;
    return target.write(this.bytes(data, len), this.options.clock.us);
  }
  i2c_read(bus: number, addr: number, out: number, len: number): number {
    this.within("i2c_read", out, len);
    const { status, target } = this.i2cTarget(bus, addr);
    if (!target) return status;
    const stretch = target.stretchUs?.(this.options.clock.us) ?? 0;
    this.options.clock.advanceUs(stretch);
    return target.read(this.bytes(out, len), this.options.clock.us);
  }
  i2c_write_read(bus: number, addr: number, data: number, len: number, out: number, out_len: number): number {
    this.within("i2c_write_read", data, len);
    this.within("i2c_write_read", out, out_len);
    const w = this.i2c_write(bus, addr, data, len);
    return w === Status.OK ? this.i2c_read(bus, addr, out, out_len) : w;
  }

  // ---- pulse capture
  pulse_out(pin: number, level: number, width_us: number): number {
    if (this.pinModes.get(pin) !== HalConst.GPIO_OUTPUT) return Status.ERR_INVALID;
    this.pin(pin)?.pulseOut?.(level ? 1 : 0, width_us, this.options.clock.us);
    this.options.clock.advanceUs(width_us);
    return Status.OK;
  }
  pulse_in(pin: number, level: number, timeout_us: number): number {
    const dev = this.pin(pin);
    if (!dev?.pulseIn) { this.options.clock.advanceUs(timeout_us); return Status.ERR_TIMEOUT; }
    const r = dev.pulseIn(level ? 1 : 0, timeout_us, this.options.clock.us);
    this.options.clock.advanceUs(r.elapsedUs);
    return r.value;
  }
  pulse_train(pin: number, start_low_us: number, out: number, max: number, timeout_us: number): number {
    this.within("pulse_train", out, (max >>> 0) * 4);
    const dev = this.pin(pin);
    if (!dev?.pulseTrain) { this.options.clock.advanceUs(start_low_us + timeout_us); return Status.ERR_TIMEOUT; }
    const r = dev.pulseTrain(start_low_us, max, timeout_us, this.options.clock.us);
    this.options.clock.advanceUs(r.elapsedUs);
    if (typeof r.value === "number") return r.value;
    const n = Math.min(max, r.value.length);
    this.writeU32s(out, r.value.slice(0, n));
    return n;
  }
  pwm_read(pin: number, out: number): number {
    this.within("pwm_read", out, 8);
    const dev = this.pin(pin);
    if (!dev?.pwmCycle) return Status.ERR_TIMEOUT;
    const r = dev.pwmCycle(this.options.clock.us);
    if (typeof r === "number") return r;
    this.writeU32s(out, r);
    return Status.OK;
  }

  // ---- frames, log
  frame_out(data: number, len: number): number {
    this.within("frame_out", data, len);
    this.options.onFrame(this.view().slice(data, data + len));
    return Status.OK;
  }
  log(level: number, text: number, len: number): number {
    this.within("log", text, len);
    this.options.onLog?.(level, utf8.decode(this.view().subarray(text, text + len)));
    return Status.OK;
  }

  // ---- identity
  device_id(): number { return this.options.deviceId >>> 0; }
  board_name(out: number, max: number): number {
    const bytes = new TextEncoder().encode(this.options.board);
    this.within("board_name", out, max >>> 0);
    const n = Math.min(max, bytes.length);
    this.view().set(bytes.subarray(0, n), out);
    return n;
  }
  app_hash(out: number): number {
    this.within("app_hash", out, 32);
    this.view().set(this.options.appHash.subarray(0, 32), out);
    return 32;
  }
  reset_info(): number { return (this.options.resetInfo ?? 0) >>> 0; }
  boot_id(): number { return (this.options.bootId ?? 0) >>> 0; }
  panic(message: number, file: number, line: number, column: number): void {
    const text = `${this.readAsString(message) ?? "abort"} at ${this.readAsString(file) ?? "?"}:${line}:${column}`;
    this.options.onPanic?.(text);
    throw new ModulePanic(text);
  }

  /** An AssemblyScript string: UTF-16LE, its byte length in the u32 at ptr - 4. */
  private readAsString(ptr: number): string | null {
    if (!ptr || !this.inBounds(ptr - 4, 4)) return null;
    const len = new DataView(this.view().buffer).getUint32(ptr - 4, true);
    if (!this.inBounds(ptr, len)) return null;
    return Buffer.from(this.view().subarray(ptr, ptr + len)).toString("utf16le");
  }
}

/** A wiring with nothing attached, for tests of the core that read no sensors. */
export function emptyWiring(adcBits = 12): DeviceWiring {
  return { i2c: new Map([[0, []]]), pins: new Map(), adcBits };
}
