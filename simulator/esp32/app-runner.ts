// What the virtual ESP32 does after a reset into the app, as the C runtime would: read the partition
// table from flash, find the Wasm partition (type 0x40, subtype 0x00), check its image (magic, header
// version, HAL version, length, SHA-256: docs/wasm-partition.md "Reading it"), then run the module in the
// simulator (fuel-instrumented, VirtualDevice, bus models from the app's hardware list), clocked from
// the wall clock (optionally sped up), frames out on the serial link with serial framing (COBS + 0x00,
// with a leading delimiter since text shares the line) and downlink control frames read from the link.
// If it cannot boot it says why in a text line on the link, as a runtime's log would.
// May touch: reads the flash; writes only to the link through `send`.
import { parsePartitionTable } from "../../host/build/parse-partition-table.js";
import { IMAGE_HEADER_SIZE, parseWasmImage } from "../../host/build/wasm-image.js";
import { WASM_PARTITION_SUBTYPE, WASM_PARTITION_TYPE, type Board } from "../../host/build/boards.js";
import { serialFrame } from "../../host/protocol/link-framing.js";
import { SerialReader } from "../../host/protocol/serial-reader.js";
import { HAL_VERSION } from "../hal/abi.generated.js";
import { instrumentFuel } from "../device/fuel.js";
import { randomBootSalt } from "../device/boot-id.js";
import { VirtualDevice } from "../device/virtual-device.js";
import { DEFAULT_FUEL_PER_CALL } from "../fleet/fleet.js";
import { createDeviceFactory, type HardwarePart } from "../fleet/wiring.js";
import { MAX_PARTITION_LENGTH } from "../../host/build/partition-table.js";
import type { FlashFile } from "./flash.js";

export interface AppRunnerOptions {
  board: Board;
  flash: FlashFile;
  hardware: HardwarePart[];
  deviceId: number;
  seed: number;
  /** Device milliseconds per wall-clock millisecond (1 = real time). */
  timeScale: number;
  send(bytes: Uint8Array): void;
  log?(text: string): void;
}

export class BootError extends Error {}

/** Find and check the app in flash; throws BootError saying what is wrong. */
export function findApp(board: Board, flash: FlashFile): { partitionOffset: number; partitionSize: number; module: Uint8Array; sha256: Uint8Array } {
  const at = board.flash.partitionTableOffset;
  let entries;
  try {
    entries = parsePartitionTable(flash.read(at, MAX_PARTITION_LENGTH)).entries;
  } catch (e) {
    throw new BootError(`no valid partition table at 0x${at.toString(16)} (${(e as Error).message})`);
  }
  if (entries.length === 0) throw new BootError(`no partition table at 0x${at.toString(16)} (flash erased?)`);
  const part = entries.find((p) => p.type === WASM_PARTITION_TYPE && p.subtype === WASM_PARTITION_SUBTYPE);
  if (!part) throw new BootError(`the partition table has no Wasm partition (type 0x40, subtype 0x00)`);
  if (part.offset + part.size > flash.size) throw new BootError(`the Wasm partition ends beyond the flash`);
  const bytes = flash.read(part.offset, part.size);
  if (bytes.subarray(0, 4).every((b) => b === 0xff)) throw new BootError(`no app flashed (the Wasm partition at 0x${part.offset.toString(16)} is erased)`);
  let image;
  try {
    image = parseWasmImage(bytes);
  } catch (e) {
    throw new BootError(`the Wasm partition at 0x${part.offset.toString(16)} holds no valid app: ${(e as Error).message}`);
  }
  if (image.halAbi !== HAL_VERSION) throw new BootError(`the app needs HAL ABI v${image.halAbi}; this runtime implements v${HAL_VERSION}`);
  if (IMAGE_HEADER_SIZE + image.moduleLength > part.size) throw new BootError(`the app is larger than its partition`);
  return { partitionOffset: part.offset, partitionSize: part.size, module: image.module, sha256: image.sha256 };
}

export class AppRunner {
  private device: VirtualDevice | null = null;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private stopped = false;
  private readonly downlink = new SerialReader();
  framesSent = 0;
  /** While a control from the deploy port is delivered: the frames the module sends meanwhile. */
  private capture: Uint8Array[] | null = null;

  constructor(readonly options: AppRunnerOptions) {}

  private line(text: string): void {
    this.options.send(new TextEncoder().encode(`${text}\r\n`));
  }

  /** Boot; resolves true when the app runs, false when it could not (the reason went out on the link). */
  async boot(): Promise<boolean> {
    const { board, flash } = this.options;
    let app;
    try {
      app = findApp(board, flash);
    } catch (e) {
      const why = e instanceof BootError ? e.message : `unexpected: ${(e as Error).message}`;
      this.line(`iotfw-runtime: cannot boot: ${why}`);
      this.options.log?.(`cannot boot: ${why}`);
      return false;
    }
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module((await instrumentFuel(app.module)) as Uint8Array<ArrayBuffer>);
    } catch (e) {
      this.line(`iotfw-runtime: cannot boot: the module does not load: ${(e as Error).message}`);
      return false;
    }
    if (this.stopped) return false;
    this.line(`iotfw-runtime: ${board.chip} (${board.name}), booting the Wasm app at 0x${app.partitionOffset.toString(16)} (${app.module.length} bytes, sha256 ${Buffer.from(app.sha256).toString("hex").slice(0, 16)}...)`);
    const factory = createDeviceFactory({ hardware: this.options.hardware, seed: this.options.seed, adcBits: board.pins.adc.bits, chipSensors: board.sysSensors });
    this.device = new VirtualDevice({
      id: this.options.deviceId,
      board: board.name,
      appHash: app.sha256,
      module,
      wiring: factory.wiring(this.options.deviceId),
      fuelPerCall: DEFAULT_FUEL_PER_CALL,
      bootSalt: randomBootSalt(), // each boot of the emulated chip is a power-on: a new draw, as esp_random gives
      onFrame: (frame) => { this.framesSent++; this.capture?.push(frame); this.options.send(serialFrame(frame, true)); },
      onLog: (_level, text) => this.options.log?.(`app: ${text}`),
      onReset: (_reason, detail) => this.line(`iotfw-runtime: app restarted by the watchdog: ${detail}`),
    });
    this.startedAt = performance.now();
    this.device.boot(0);
    this.run();
    return true;
  }

  private nowMs(): number {
    return Math.floor((performance.now() - this.startedAt) * this.options.timeScale);
  }

  /** Run every tick that is due, then sleep until the next one. */
  private run(): void {
    this.timer = null;
    const device = this.device;
    if (!device || this.stopped) return;
    const now = this.nowMs();
    for (let guard = 0; device.nextTickMs <= now && guard < 10_000; guard++) device.runTick();
    const waitMs = Math.max(1, (device.nextTickMs - this.nowMs()) / this.options.timeScale);
    this.timer = setTimeout(() => this.run(), Math.min(waitMs, 1000));
  }

  /** Something changed the device's schedule (a control, a deploy): run what is due now, not at the timer. */
  private runNow(): void {
    if (this.timer) { clearTimeout(this.timer); this.run(); }
  }

  /** Bytes from the link while the app runs: downlink control frames. */
  receive(bytes: Uint8Array): void {
    if (!this.device) return;
    for (const { bytes: frame } of this.downlink.push(bytes)) {
      this.device.control(frame);
      this.runNow();
    }
  }

  /** Whether the app is running (booted and not stopped): what a deploy or a control needs. */
  get running(): boolean { return this.device !== null && !this.stopped; }

  /** A deploy through the runtime's deploy port (the image already checked and written to flash):
   *  run `binary` from now on, restarted with reset_info reason RESET_REMOTE, keeping the device's
   *  id, wiring and clock, as the C runtime's iotfw_rt_restart does. */
  async install(binary: Uint8Array, sha256: Uint8Array): Promise<void> {
    const module = new WebAssembly.Module((await instrumentFuel(binary)) as Uint8Array<ArrayBuffer>);
    if (!this.device) throw new BootError("the app is not running");
    this.device.replaceModule(module, sha256);
    this.line(`iotfw-runtime: deploy: running the new module (${binary.length} bytes, sha256 ${Buffer.from(sha256).toString("hex").slice(0, 16)}...)`);
    this.runNow();
  }

  /** A CONTROL frame from the deploy port ("IOTC"): delivered as one from the link is, then the ticks
   *  that are due run; the frames the module sent meanwhile are returned (its ACK among them). */
  controlNow(frame: Uint8Array): Uint8Array[] {
    if (!this.device) return [];
    this.capture = [];
    try {
      this.device.control(frame);
      this.runNow();
      return this.capture;
    } finally {
      this.capture = null;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.device = null;
  }
}
