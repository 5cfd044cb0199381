// One virtual device: its own instance of the (fuel-instrumented) app module, its own HAL over its own
// bus models, its own id and clock. It runs init, then tick after tick at the times the module asks for,
// and plays the runtime's watchdog: a trap or an overrun tick restarts the module (counted, and visible
// to the module through reset_info) while the rest of the fleet goes on.
import { HalConst, type AppExports } from "../hal/abi.generated.js";
import type { DeviceWiring } from "../hal/buses.js";
import { HalHost, ModulePanic, VirtualClock } from "../hal/host.js";
import { FUEL_EXPORT } from "./fuel.js";
import { bootIdFor } from "./boot-id.js";

export interface VirtualDeviceOptions {
  id: number;
  board: string;
  /** SHA-256 of the app module as built (what the runtime would verify). */
  appHash: Uint8Array;
  /** The app compiled for the simulator: instrumented with instrumentFuel(). */
  module: WebAssembly.Module;
  wiring: DeviceWiring;
  /** Loop iterations one init or tick may take before the watchdog resets the module. */
  fuelPerCall: number;
  /** Device milliseconds one init, tick or control may take (HAL calls that wait move the clock) before
   *  the watchdog resets the module, as the C runtime's budget does (docs/runtime.md "Watchdog").
   *  Default DEFAULT_BUDGET_MS. */
  budgetMs?: number;
  /** Why this device cannot start the module (simulator/device/module-limits.ts), if it cannot: every
   *  boot then fails with it, as the runtime's memory check makes it fail. */
  refusal?: string;
  /** The run's salt for boot_id (simulator/device/boot-id.ts). */
  bootSalt: number;
  onFrame(frame: Uint8Array, device: VirtualDevice): void;
  onLog?(level: number, text: string, device: VirtualDevice): void;
  /** A reset happened (after the module was restarted). */
  onReset?(reason: number, detail: string, device: VirtualDevice): void;
}

/** The process cannot give this device a Wasm memory (each takes several memory mappings; Linux's
 *  default vm.max_map_count of 65530 caps a Node process at roughly 13,000). Not a device fault: the
 *  fleet must be sharded over more processes. */
export class WasmMemoryExhausted extends Error {}

/** After this many restarts in a row without one good tick, the device waits this long before booting again. */
const BOOT_LOOP_BACKOFF_MS = 1_000;
/** The C runtime's default budget for one call (firmware/runtime/ports/*: --budget-ms 1000). */
export const DEFAULT_BUDGET_MS = 1_000;
const OVER_BUDGET = "a call exceeded its time budget";

export class VirtualDevice {
  readonly clock = new VirtualClock();
  /** Device time (ms) of the next tick. */
  nextTickMs = 0;
  resets = 0;
  lastResetReason: number = HalConst.RESET_POWER_ON;
  lastResetDetail = "";
  private readonly host: HalHost;
  private exports!: AppExports;
  private fuel!: WebAssembly.Global;
  private booted = false;
  /** An instance exists that init has not run on yet. */
  private created = false;
  private failuresInARow = 0;

  constructor(readonly options: VirtualDeviceOptions) {
    this.host = new HalHost({
      deviceId: options.id,
      board: options.board,
      appHash: options.appHash,
      clock: this.clock,
      wiring: options.wiring,
      resetInfo: 0,
      onFrame: (frame) => options.onFrame(frame, this),
      onLog: options.onLog ? (level, text) => options.onLog!(level, text, this) : undefined,
    });
  }

  get id(): number { return this.options.id; }

  /** Power on at device time atMs: create the instance now (so a fleet learns at once whether the
   *  process can hold it); init runs as the device's first scheduled step, at atMs. */
  boot(atMs: number): void {
    this.clock.setMs(atMs);
    this.nextTickMs = atMs;
    this.create();
  }

  /** Run the tick that is due (nextTickMs) and schedule the next one. Never throws. */
  runTick(): void {
    this.clock.setMs(this.nextTickMs);
    if (!this.booted) { this.instantiate(); return; }
    this.fuel.value = this.options.fuelPerCall;
    const started = this.clock.ms;
    let delay: number;
    try {
      delay = this.exports.tick(started >>> 0) >>> 0;
    } catch (err) {
      this.reset(err);
      return;
    }
    if (this.overBudget(started)) return;
    this.failuresInARow = 0;
    // The delay counts from when tick returned (a HAL call may have taken device time); at least 1 ms.
    this.nextTickMs = this.clock.ms + Math.max(1, delay);
  }

  /** Deliver a downlink frame to the module (control_buffer + control). Returns the module's status,
   *  or null when the module trapped (it is reset). */
  control(frame: Uint8Array): number | null {
    if (!this.booted) return null;
    if (frame.length > HalConst.CONTROL_MAX) return -4;
    const at = this.exports.control_buffer();
    new Uint8Array(this.exports.memory.buffer, at, frame.length).set(frame);
    this.fuel.value = this.options.fuelPerCall;
    const started = this.clock.ms;
    try {
      const status = this.exports.control(frame.length);
      if (this.overBudget(started)) return null;
      // A control may change the schedule (wake, set-rate): tick again now so the module re-plans.
      this.nextTickMs = Math.min(this.nextTickMs, this.clock.ms + 1);
      return status;
    } catch (err) {
      this.reset(err);
      return null;
    }
  }

  /** A deploy: run `module` (fuel-instrumented; sha256 of the module as built) from now on, restarting
   *  at once with reset_info reason RESET_REMOTE, as the runtime's iotfw_rt_restart does. */
  replaceModule(module: WebAssembly.Module, sha256: Uint8Array, refusal?: string): void {
    (this.options as { module: WebAssembly.Module }).module = module;
    (this.options as { refusal?: string }).refusal = refusal;
    this.host.options.appHash = sha256;
    this.resets++;
    this.lastResetReason = HalConst.RESET_REMOTE;
    this.lastResetDetail = "deploy";
    this.failuresInARow = 0;
    this.booted = false;
    this.created = false;
    this.nextTickMs = this.clock.ms;
  }

  /** A fresh instance (start function run), not yet initialised. */
  private create(): boolean {
    this.booted = false;
    this.host.options.resetInfo = (this.resets << 8) | (this.resets ? this.lastResetReason : HalConst.RESET_POWER_ON);
    // Every instance after the first follows exactly one reset or deploy: resets numbers the instance.
    this.host.options.bootId = bootIdFor(this.options.bootSalt, this.options.id, this.resets);
    if (this.options.refusal) { this.reset(new Error(this.options.refusal), false); return false; }
    try {
      const instance = new WebAssembly.Instance(this.options.module, this.host.imports());
      this.exports = instance.exports as unknown as AppExports;
      this.fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
      this.host.bind(this.exports.memory);
      this.created = true;
      return true;
    } catch (err) {
      if (err instanceof RangeError && /out of memory|cannot allocate/i.test(err.message)) {
        throw new WasmMemoryExhausted(`device ${this.id}: ${err.message}`);
      }
      this.reset(err);
      return false;
    }
  }

  /** Create the instance if the last one was lost, then run init; the first tick is due at once. */
  private instantiate(): void {
    if (!this.created && !this.create()) return;
    this.created = false; // the next boot needs a fresh instance
    this.fuel.value = this.options.fuelPerCall;
    const started = this.clock.ms;
    try {
      this.exports.init();
      if (this.overBudget(started)) return;
      this.booted = true;
      this.nextTickMs = this.clock.ms;
    } catch (err) {
      this.reset(err);
    }
  }

  /** The call that started at device ms `started` returned too late: the watchdog resets the module. */
  private overBudget(started: number): boolean {
    if (this.clock.ms - started <= (this.options.budgetMs ?? DEFAULT_BUDGET_MS)) return false;
    this.reset(OVER_BUDGET, true);
    return true;
  }

  private reset(err: unknown, watchdog = this.fuel !== undefined && this.fuel.value === 0): void {
    this.lastResetReason = watchdog ? HalConst.RESET_WATCHDOG : HalConst.RESET_TRAP;
    this.lastResetDetail = watchdog ? OVER_BUDGET : err instanceof ModulePanic || err instanceof Error ? err.message : String(err);
    this.resets++;
    this.failuresInARow++;
    this.booted = false;
    // Restart at once, like a runtime would; a device stuck in a boot loop backs off.
    this.nextTickMs = this.clock.ms + (this.failuresInARow > 3 ? BOOT_LOOP_BACKOFF_MS : 1);
    this.options.onReset?.(this.lastResetReason, this.lastResetDetail, this);
  }
}
