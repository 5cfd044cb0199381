// The virtual ESP32: one chip with a flash file, a UART to whatever stream is attached (a pty opened by
// `iotfw emulate --serial`, a TCP connection from --listen, or an RFC 2217 session from --rfc2217, which
// also carries the DTR/RTS lines), the ROM/stub serial bootloader and, after a reset into the app, the
// app runner. It powers on in download mode (as if BOOT were held) unless told to boot.
// Two ways of resetting, by what the link has:
// - no lines (pty, socket): FLASH_END or FLASH_DEFL_END with "reboot" (a stub resets, as the legacy esptool
//   stub does), FLASH_END (the ROM) or RUN_USER_CODE boot the app; a SYNC request while the app runs acts as
//   the reset-into-bootloader that esptool's DTR/RTS sequence performs on a real board;
// - lines (RFC 2217): the board's auto-reset circuit (reset-circuit.ts) decides. EN low holds the chip;
//   EN released starts it in download mode when the boot strap is low, else it boots the app; the ROM
//   prints its boot banner either way. In-band resets are what the programs do on a real chip: the
//   legacy stub's and the ROM's "reboot" is a software reset, which restarts into the mode the strapping
//   pins latched at the last EN release; esp-flasher-stub ignores it (its sources: "TODO: Implement
//   reboot"); RUN_USER_CODE and the ROM's "run user code" start the app; SYNC does nothing special.
// When paced, the flash chip also takes its time to erase and program (flash-timing.ts), so flashing
// figures show what the chip costs as well as the wire. May touch: its flash file and the attached stream.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Board } from "../../host/build/boards.js";
import type { HardwarePart } from "../fleet/wiring.js";
import { AppRunner } from "./app-runner.js";
import { chipProfile, romBootBanner, type ChipProfile } from "./chip.js";
import { FlashFile } from "./flash.js";
import { FlashTiming } from "./flash-timing.js";
import { BootloaderLoader, type LoaderFaults } from "./loader.js";
import { Cmd, parseRequest, ROM_BAUD } from "./protocol.js";
import { SlipDecoder, slipEncode } from "./slip.js";
import { Wire, type LineFaults } from "./wire.js";
import { ResetCircuit } from "./reset-circuit.js";

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
  /** Milliseconds from EN's release to the chip leaving reset (reset-circuit.ts; default 139). */
  enDelayMs?: number;
  log?(text: string): void;
}

export type EmulatorState = "download" | "app" | "reset";

/** A stream that wants to know the baud rate the chip sent each chunk at (the RFC 2217 port does). */
export interface UartPeer {
  fromUart(bytes: Uint8Array, baud: number): void;
}

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
  /** The board's DTR/RTS auto-reset circuit; driven only by a link with lines (RFC 2217). */
  readonly circuit: ResetCircuit;
  /** Whether the attached link has DTR/RTS (then in-band reset shortcuts are off). */
  private lines = false;
  /** The boot mode the strapping pins latched at the last reset: a software reset restarts into it. */
  private strapDownload = true;
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
    this.tx = new Wire(ROM_BAUD, pace, (bytes, baud) => this.toHost(bytes, baud));
    this.loader = new BootloaderLoader(this.chip, this.flash, {
      send: (packet) => this.tx.push(slipEncode(packet)),
      setBaud: (baud) => this.setBaud(baud),
      leave: (how) => this.leaveLoader(how),
      log: (text) => this.log(text),
    }, { ...options.faults, deviceId: options.deviceId ?? 1, flashTiming: this.flashTiming });
    this.circuit = new ResetCircuit({
      hold: () => this.holdInReset(),
      release: (strapLow) => this.leaveReset(strapLow),
      log: (text) => this.log(text),
    }, options.enDelayMs);
  }

  get baud(): number { return this.rx.baud; }

  private log(text: string): void { this.options.log?.(text); }

  /** Connect the UART to a stream (replacing any other); `lines`: the link carries DTR/RTS (setLines). */
  attach(stream: Duplex, opts: { lines?: boolean } = {}): void {
    this.detach();
    this.stream = stream;
    this.lines = !!opts.lines;
    stream.on("data", this.onData);
    stream.once("close", this.onGone);
    stream.once("error", this.onGone);
  }

  /** Whether this stream is the one the UART is connected to. */
  isAttached(stream: Duplex): boolean { return this.stream === stream; }

  /** Drop what the host sent that the UART has not received yet (RFC 2217 PURGE-DATA, transmit buffer). */
  purgeFromHost(): void { this.rx.clear(); }

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

  /** DTR/RTS as the host's UART drives them (an RFC 2217 SET-CONTROL): into the reset circuit. */
  setLines(lines: { dtr?: boolean; rts?: boolean }): void {
    if (!this.closed) this.circuit.set(lines);
  }

  private toHost(bytes: Uint8Array, baud: number): void {
    const s = this.stream;
    if (!s || s.destroyed) return;
    if ("fromUart" in s) (s as unknown as UartPeer).fromUart(bytes, baud);
    else s.write(bytes);
  }

  private fromHost(bytes: Uint8Array): void {
    if (this.state === "reset") return; // held in reset: nothing listens
    if (this.state === "download") {
      for (const packet of this.slip.push(bytes)) this.loader.receive(packet);
      return;
    }
    this.runner?.receive(bytes);
    if (this.lines) return; // a real reset line exists: SYNC is just bytes to the app
    for (const packet of this.slip.push(bytes)) {
      const req = parseRequest(packet);
      if (req?.op === Cmd.SYNC) {
        this.resetIntoDownload("SYNC on the line while the app runs");
        this.loader.receive(packet);
        return;
      }
    }
  }

  /** The loader asked to leave (FLASH_END / FLASH_DEFL_END, RUN_USER_CODE): see the header for each link. */
  private leaveLoader(how: "reboot" | "run-user-code"): void {
    if (!this.lines) { this.log(`leaving the loader (${how})`); void this.bootApp(); return; }
    if (how === "run-user-code") { this.log("leaving the loader (run user code)"); void this.bootApp(); return; }
    if (this.loader.mode === "esp-flasher-stub") {
      this.log("FLASH_END reboot: esp-flasher-stub does not reboot (command_handler.c); still in the stub until EN is pulsed");
      return;
    }
    this.log(`software reset (${this.loader.mode} reboot): restarting into the latched boot mode, ${this.strapDownload ? "download" : "the app"}`);
    if (this.strapDownload) this.resetIntoDownload("software reset with the boot strap latched low");
    else void this.bootApp();
  }

  /** EN low: the chip stops; whatever it was doing is lost, nothing is sent or heard. */
  private holdInReset(): void {
    this.runner?.stop();
    this.runner = null;
    this.loader.reset();
    this.slip.reset();
    this.rx.clear();
    this.tx.clear();
    this.state = "reset";
    this.emit("state", this.state);
  }

  /** EN crossed its threshold: the ROM starts at 115200, prints its banner and goes where the strap says. */
  private leaveReset(strapLow: boolean): void {
    this.strapDownload = strapLow;
    this.setBaud(ROM_BAUD);
    this.tx.push(new TextEncoder().encode(romBootBanner(this.chip.name, strapLow)));
    if (strapLow) this.resetIntoDownload("EN released with the boot strap low");
    else void this.bootApp();
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

  /** The app runner while the app runs: the way in for the runtime's deploy port (deploy-port.ts). */
  get app(): AppRunner | null { return this.state === "app" && this.runner?.running ? this.runner : null; }

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
    this.circuit.cancel();
    this.runner?.stop();
    this.detach();
    this.rx.close();
    this.tx.close();
    await this.loader.idle();
    this.flash.close();
  }
}
