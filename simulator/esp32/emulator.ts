// The virtual ESP32: one chip with a flash file, a UART to whatever stream is attached (a pty opened by
// `iotfw emulate --serial`, or a TCP connection from --listen), the ROM/stub serial bootloader and, after
// a reset into the app, the app runner. It powers on in download mode (there are no DTR/RTS lines over
// a pty or a socket to strap GPIO0, so it behaves as if BOOT were held). Leaving download mode: FLASH_END
// or FLASH_DEFL_END with "reboot" (a stub resets, as the legacy esptool stub does), or RUN_USER_CODE. Going back
// to download mode while the app runs: a SYNC request on the line acts as the reset-into-bootloader that
// esptool's DTR/RTS sequence performs on a real board. When paced, the flash chip also takes its time to
// erase and program (flash-timing.ts), so flashing figures show what the chip costs as well as the wire.
// May touch: its flash file and the attached stream.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Board } from "../../host/build/boards.js";
import type { HardwarePart } from "../fleet/wiring.js";
import { AppRunner } from "./app-runner.js";
import { chipProfile, type ChipProfile } from "./chip.js";
import { FlashFile } from "./flash.js";
import { FlashTiming } from "./flash-timing.js";
import { BootloaderLoader, type LoaderFaults } from "./loader.js";
import { Cmd, parseRequest, ROM_BAUD } from "./protocol.js";
import { SlipDecoder, slipEncode } from "./slip.js";
import { Wire, type LineFaults } from "./wire.js";

export { ROM_BAUD };

export interface EmulatorOptions {
  board: Board;
  flashFile: string;
  /** Pace both directions at the current baud rate (baud/10 bytes per second). Default true. */
  pace?: boolean;
  /** The flash chip's erase and program times (flash-timing.ts, a W25Q32JV's typical values) times this
   *  factor: 1 by default when paced, 0 (instant) unpaced. */
  flashTimeScale?: number;
  /** Line faults on the host-to-chip direction, and loader-level faults. */
  faults?: LineFaults & LoaderFaults;
  /** The app's hardware (app.json "hardware"), wired to sensor models when the app boots. */
  hardware: HardwarePart[];
  deviceId?: number;
  seed?: number;
  /** Device ms per wall-clock ms for the app (1 = real time). */
  timeScale?: number;
  log?(text: string): void;
}

export type EmulatorState = "download" | "app";

export class Esp32Emulator extends EventEmitter {
  readonly chip: ChipProfile;
  readonly flash: FlashFile;
  readonly loader: BootloaderLoader;
  /** The flash chip's clock; null when erasing and writing take no time (--no-pace). */
  readonly flashTiming: FlashTiming | null;
  state: EmulatorState = "download";
  private stream: Duplex | null = null;
  private readonly rx: Wire;
  private readonly tx: Wire;
  private readonly slip = new SlipDecoder();
  private runner: AppRunner | null = null;
  private closed = false;
  private readonly onData = (chunk: Buffer) => this.rx.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  private readonly onGone = () => this.detach();

  constructor(readonly options: EmulatorOptions) {
    super();
    this.chip = chipProfile(options.board);
    this.flash = new FlashFile(options.flashFile, this.chip.flashSize);
    const pace = options.pace ?? true;
    const scale = options.flashTimeScale ?? (pace ? 1 : 0);
    this.flashTiming = scale > 0 ? new FlashTiming(scale) : null;
    this.rx = new Wire(ROM_BAUD, pace, (bytes) => this.fromHost(bytes), options.faults);
    this.tx = new Wire(ROM_BAUD, pace, (bytes) => this.toHost(bytes));
    this.loader = new BootloaderLoader(this.chip, this.flash, {
      send: (packet) => this.tx.push(slipEncode(packet)),
      setBaud: (baud) => this.setBaud(baud),
      leave: (how) => { this.log(`leaving the loader (${how})`); void this.bootApp(); },
      log: (text) => this.log(text),
    }, { ...options.faults, deviceId: options.deviceId ?? 1, flashTiming: this.flashTiming });
  }

  get baud(): number { return this.rx.baud; }

  private log(text: string): void { this.options.log?.(text); }

  /** Connect the UART to a stream (replacing any other). */
  attach(stream: Duplex): void {
    this.detach();
    this.stream = stream;
    stream.on("data", this.onData);
    stream.once("close", this.onGone);
    stream.once("error", this.onGone);
  }

  /** Disconnect the UART (bytes in flight are lost). */
  detach(): void {
    const s = this.stream;
    if (!s) return;
    this.stream = null;
    s.off("data", this.onData);
    s.off("close", this.onGone);
    s.off("error", this.onGone);
    this.rx.clear();
    this.tx.clear();
    this.slip.reset();
  }

  private setBaud(baud: number): void {
    this.log(`baud rate ${this.rx.baud} -> ${baud}`);
    this.rx.baud = baud;
    this.tx.baud = baud;
  }

  private toHost(bytes: Uint8Array): void {
    if (this.stream && !this.stream.destroyed) this.stream.write(bytes);
  }

  private fromHost(bytes: Uint8Array): void {
    if (this.state === "download") {
      for (const packet of this.slip.push(bytes)) this.loader.receive(packet);
      return;
    }
    this.runner?.receive(bytes);
    for (const packet of this.slip.push(bytes)) {
      const req = parseRequest(packet);
      if (req?.op === Cmd.SYNC) {
        this.resetIntoDownload("SYNC on the line while the app runs");
        this.loader.receive(packet);
        return;
      }
    }
  }

  /** Reset with GPIO0 held low: the ROM bootloader at 115200 baud. */
  resetIntoDownload(why: string): void {
    this.log(`reset into download mode (${why})`);
    this.runner?.stop();
    this.runner = null;
    this.loader.reset();
    this.slip.reset();
    this.setBaud(ROM_BAUD);
    this.state = "download";
    this.emit("state", this.state);
  }

  /** Reset into the app: boot what is in flash. */
  async bootApp(): Promise<boolean> {
    this.runner?.stop();
    this.loader.reset();
    this.slip.reset();
    this.state = "app";
    this.setBaud(ROM_BAUD); // the runtime's console UART, like the ROM's, runs at 115200
    this.emit("state", this.state);
    const runner = this.runner = new AppRunner({
      board: this.options.board, flash: this.flash, hardware: this.options.hardware,
      deviceId: this.options.deviceId ?? 1, seed: this.options.seed ?? 1, timeScale: this.options.timeScale ?? 1,
      send: (bytes) => this.tx.push(bytes), log: (text) => this.log(text),
    });
    const ok = await runner.boot();
    if (runner === this.runner) this.emit("boot", ok);
    return ok;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runner?.stop();
    this.detach();
    this.rx.close();
    this.tx.close();
    await this.loader.idle();
    this.flash.close();
  }
}
