// The command side of the virtual ESP32's serial bootloader: the ROM loader's command set and, once a
// known flasher stub is loaded with MEM_BEGIN/MEM_DATA/MEM_END and started (programs.ts tells which),
// that stub's: it greets with "OHAI", answers with 2 status bytes and adds READ_FLASH, ERASE_FLASH,
// ERASE_REGION, RUN_USER_CODE and raw-MD5. A program it does not know is not run (it cannot execute
// Xtensa or RISC-V code): the log says so and the ROM keeps answering. Behaviour follows Espressif's
// "Serial Protocol" document (ROM), the legacy stub's stub_flasher.c cmd_loop and esp-flasher-stub's
// command_handler.c; programs.ts lists where the two stubs differ. Requests are handled one at a time in
// arrival order; READ_FLASH acknowledgements bypass that queue; a reset (reset()) drops what is queued
// and silences what still runs (a chip in reset answers nothing). May touch: the flash it is given; talks
// only through LoaderHost.
import type { ChipProfile } from "./chip.js";
import type { FlashFile } from "./flash.js";
import { FlashWriter } from "./flash-writer.js";
import type { FlashTiming } from "./flash-timing.js";
import { identifyProgram, STUB_RULES, type StubKind, type StubRules } from "./programs.js";
import {
  Cmd, concat, dataChecksum, FLASH_SECTOR_SIZE, MAX_WRITE_BLOCK, OHAI, parseRequest, response, ROM_BAUD, ROM_SYNC_VALUE, RomError,
  romStatus, StubError, stubStatus, word, type Request,
} from "./protocol.js";
import { ChipRegisters, deviceMac, UART_CLOCK_HZ } from "./registers.js";

export interface LoaderHost {
  /** Send one packet (the host SLIP-encodes it). */
  send(packet: Uint8Array): void;
  /** Switch the UART to a new baud rate (called after the response went into the queue). */
  setBaud(baud: number): void;
  /** Leave the loader: FLASH_END/FLASH_DEFL_END with "reboot" or "run user code", or RUN_USER_CODE. */
  leave(how: "reboot" | "run-user-code"): void;
  log?(text: string): void;
}

export interface LoaderFaults {
  /** Zero-based indices, among FLASH_DATA/FLASH_DEFL_DATA requests, of packets that arrive with one payload byte flipped. */
  corruptDataPackets?: number[];
  /** A bad flash cell: every flash write stores its first byte with bit 0 flipped (MD5 checks then fail). */
  badFlashCell?: boolean;
}

export interface LoaderOptions extends LoaderFaults {
  /** The emulated device's id: its factory MAC is derived from it (registers.ts deviceMac). Default 1. */
  deviceId?: number;
  /** How long erasing and programming take (flash-timing.ts); none: at once. */
  flashTiming?: FlashTiming | null;
}

export type Mode = "rom" | StubKind;

/** Baud rates a UART can be set to: its 20-bit clock divider (esptool loader.py UART_CLKDIV_MASK) bounds
 *  the slow end, the UART's 5 Mbaud maximum (ESP32 Technical Reference Manual, UART Controller) the fast
 *  end. Neither ROM nor stubs check the value they are sent; a divider of 0 or beyond 20 bits would leave
 *  the chip deaf, so the emulator refuses such a rate (ROM: "failed to act") and keeps the old one. */
const MIN_BAUD = Math.ceil(UART_CLOCK_HZ / 0xfffff);
const MAX_BAUD = 5_000_000;
/** READ_FLASH_SLOW: the ROM reads at most 64 bytes per request and always answers 64 (esptool
 *  targets/esp32.py read_flash_slow BLOCK_LEN). */
const SLOW_READ_BLOCK = 64;

export class BootloaderLoader {
  mode: Mode = "rom";
  readonly regs: ChipRegisters;
  private queue: Promise<void> = Promise.resolve();
  private readonly writer: FlashWriter;
  /** RAM segments loaded with MEM_BEGIN/MEM_DATA since the last reset, by load address. */
  private segments = new Map<number, Uint8Array>();
  private mem: { offset: number; parts: Uint8Array[] } | null = null;
  private reading: { acked: number; waiter?: () => void } | null = null;
  private dataPackets = 0;
  /** esp-flasher-stub: the error of a failed background write, answered to the next request. */
  private pendingError = 0;
  /** Counts resets: a request received before the last reset is not handled, and nothing it was still
   *  doing (an erase, a read) answers after it: a reset stops the chip. */
  private epoch = 0;
  private handling = 0;

  constructor(readonly chip: ChipProfile, readonly flash: FlashFile, readonly host: LoaderHost, readonly options: LoaderOptions = {}) {
    this.regs = new ChipRegisters(chip, deviceMac(options.deviceId ?? 1));
    this.writer = new FlashWriter(flash, chip.flashSize, options.badFlashCell, options.flashTiming ?? null);
  }

  /** The rules of the stub that runs; null for the ROM. */
  private get stub(): StubRules | null { return this.mode === "rom" ? null : STUB_RULES[this.mode]; }

  /** Back to the ROM loader (a reset into download mode). */
  reset(): void {
    this.epoch++;
    this.queue = Promise.resolve(); // what was queued belongs to the program that the reset stopped
    this.mode = "rom";
    this.writer.reset();
    this.segments = new Map();
    this.mem = null;
    const reading = this.reading;
    this.reading = null;
    reading?.waiter?.(); // its loop sees the reset and stops
    this.pendingError = 0;
    this.regs.reset(ROM_BAUD);
  }

  /** One SLIP-decoded packet from the host. */
  receive(packet: Uint8Array): void {
    if (this.reading && packet.length === 4) { // a READ_FLASH acknowledgement: total bytes received
      this.reading.acked = new DataView(packet.buffer, packet.byteOffset, 4).getUint32(0, true);
      this.reading.waiter?.();
      return;
    }
    const req = parseRequest(packet);
    if (!req) { this.host.log?.(`ignored a packet that is not a request (${packet.length} bytes)`); return; }
    const epoch = this.epoch;
    this.queue = this.queue.then(() => {
      if (epoch !== this.epoch) return;
      this.handling = epoch;
      return this.handle(req);
    }).catch((err) => this.host.log?.(`loader error: ${(err as Error).message}`));
  }

  /** Resolves when every request received so far has been handled. */
  idle(): Promise<void> { return this.queue; }

  private reply(op: number, error = 0, body: Uint8Array = new Uint8Array(0), value = 0): void {
    if (this.handling !== this.epoch) return; // the chip was reset while this request ran
    this.host.send(response(op, value, concat(body, this.mode === "rom" ? romStatus(error) : stubStatus(error))));
  }

  /** The "bad request length" code of whoever answers. */
  private badLength(): number { return this.mode === "rom" ? RomError.INVALID_MESSAGE : StubError.BAD_DATA_LEN; }

  private async handle(req: Request): Promise<void> {
    const { op, data } = req;
    const stub = this.stub;
    const needLen = (n: number) => data.length === n;
    if (req.sizeMismatch) return this.reply(op, this.badLength());
    if (stub?.errorFailsNextCommand && this.pendingError) {
      const error = this.pendingError;
      this.pendingError = 0;
      return this.reply(op, error);
    }
    switch (op) {
      case Cmd.SYNC: {
        if (!needLen(36)) return this.reply(op, this.badLength());
        // The ROM answers SYNC eight times; the stubs too, with value 0 (which is how esptool tells them apart).
        for (let i = 0; i < 8; i++) this.reply(op, 0, undefined, stub ? 0 : ROM_SYNC_VALUE);
        return;
      }
      case Cmd.READ_REG: {
        if (!needLen(4)) return this.reply(op, this.badLength());
        return this.reply(op, 0, undefined, this.regs.read(word(data, 0)));
      }
      case Cmd.WRITE_REG: {
        if (data.length === 0 || data.length % 16) return this.reply(op, stub ? stub.writeRegLengthError : RomError.INVALID_MESSAGE);
        for (let i = 0; i < data.length / 16; i++) this.regs.write(word(data, i * 4), word(data, i * 4 + 1), word(data, i * 4 + 2));
        return this.reply(op);
      }
      case Cmd.SPI_ATTACH: // ROM: 8 bytes (the word plus 4 "is legacy" bytes), stubs: 4 (esptool loader.py flash_spi_attach)
        if (stub && !needLen(4)) return this.reply(op, StubError.BAD_DATA_LEN);
        return this.reply(op);
      case Cmd.SPI_SET_PARAMS: // six words (esptool loader.py flash_set_parameters)
        if (stub && !needLen(24)) return this.reply(op, StubError.BAD_DATA_LEN);
        return this.reply(op);
      case Cmd.CHANGE_BAUDRATE:
        return this.changeBaud(req);
      case Cmd.GET_SECURITY_INFO: {
        if (this.chip.securityInfoChipId === null) {
          // ESP32 ROM and stubs have no such command: the ROM's "invalid message" reply (which esptool reads
          // as UnsupportedCommandError because its command byte differs), the stubs' "not implemented".
          if (!stub) return this.host.send(response(0x00, 0, romStatus(RomError.INVALID_MESSAGE)));
          return this.reply(op, StubError.CMD_NOT_IMPLEMENTED);
        }
        // 32-bit flags, 1 byte flash_crypt_cnt, 7 key purposes, 32-bit chip id, 32-bit API/eco version (Serial Protocol).
        const body = new Uint8Array(20);
        new DataView(body.buffer).setUint32(12, this.chip.securityInfoChipId, true);
        return this.reply(op, 0, body);
      }
      case Cmd.MEM_BEGIN: {
        if (!needLen(16)) return this.reply(op, this.badLength());
        this.mem = { offset: word(data, 3), parts: [] };
        return this.reply(op);
      }
      case Cmd.MEM_DATA: {
        const bad = this.checkData(req);
        if (bad) return this.reply(op, bad);
        if (!this.mem) return this.reply(op, stub ? StubError.NOT_IN_FLASH_MODE : RomError.FAILED_TO_ACT);
        this.mem.parts.push(data.slice(16));
        this.segments.set(this.mem.offset, concat(...this.mem.parts));
        return this.reply(op);
      }
      case Cmd.MEM_END:
        return this.memEnd(req);
      case Cmd.FLASH_BEGIN:
      case Cmd.FLASH_DEFL_BEGIN: {
        // Four words, or five with the encrypted-write flag: esptool v5 sends five to every stub and to
        // the ESP32-S2-and-later ROMs (esptool loader.py flash_begin); esptool-js sends four to a stub.
        // (The legacy stub sources read, stub_flasher.c up to v1.7.1, take four only; esptool v5.3.1 sends
        // five to the v1.11.1 it ships, so that build is taken to accept both, as esp-flasher-stub does.)
        if (!needLen(16) && !needLen(20)) return this.reply(op, this.badLength());
        // Logged so a test can tell whether a flashing tool erased or wrote anything (size 0: the reset idiom).
        this.host.log?.(`${op === Cmd.FLASH_DEFL_BEGIN ? "FLASH_DEFL_BEGIN" : "FLASH_BEGIN"} at 0x${word(data, 3).toString(16)}, ${word(data, 0)} bytes`);
        return this.reply(op, await this.writer.begin(stub, op === Cmd.FLASH_DEFL_BEGIN, word(data, 0), word(data, 2), word(data, 3)));
      }
      case Cmd.FLASH_DATA:
      case Cmd.FLASH_DEFL_DATA:
        return this.flashData(req);
      case Cmd.FLASH_END:
      case Cmd.FLASH_DEFL_END: {
        if (stub && !needLen(4)) return this.reply(op, StubError.BAD_DATA_LEN); // command_handler.c FLASH_END_SIZE
        const error = await this.writer.end(stub, op === Cmd.FLASH_DEFL_END);
        this.reply(op, error);
        // Word 0: 0 = reboot, 1 = run user code (Serial Protocol). The legacy stub acts only on 0
        // (stub_flasher.c: "passing 0 as parameter for ESP_FLASH_END means reboot now"); the ROM leaves the
        // loader either way. esp-flasher-stub's sources (command_handler.c s_flash_end, up to v0.6.0) do not
        // reboot at all ("TODO: Implement reboot"); the emulator still reboots there, because `iotfw flash`
        // relies on this in-band reset over links without DTR/RTS (docs/flashing.md).
        if (data.length >= 4 && !error) {
          if (word(data, 0) === 0) this.host.leave("reboot");
          else if (!stub) this.host.leave("run-user-code");
        }
        return;
      }
      case Cmd.SPI_FLASH_MD5: {
        if (!needLen(16)) return this.reply(op, this.badLength());
        let digest: Uint8Array;
        try { digest = this.flash.md5(word(data, 0), word(data, 1)); } catch { return this.reply(op, stub ? StubError.FAILED_SPI_OP : RomError.FLASH_READ_ERROR); }
        // ROM: 32 hex-encoded ASCII bytes; stubs: 16 raw bytes (Serial Protocol, "Verifying Uploaded Data").
        return this.reply(op, 0, stub ? digest : new TextEncoder().encode(Buffer.from(digest).toString("hex")));
      }
      case Cmd.READ_FLASH_SLOW:
        if (!stub) return this.readFlashSlow(req);
        return this.reply(op, stub.unknownCommand); // ROM only (esptool loader.py: "ROM only")
      default:
        if (stub) return this.stubOnly(req, stub);
        return this.host.send(response(0x00, 0, romStatus(RomError.INVALID_MESSAGE)));
    }
  }

  private changeBaud(req: Request): void {
    const { op, data } = req;
    if (data.length !== 8) return this.reply(op, this.badLength());
    // The stubs take (new, old) (stub_flasher.c ESP_SET_BAUD); the ROM takes (new, 0). The ESP32 ROM
    // derives its divider from its own calibrated clock estimate, which is why esptool scales the rate it
    // sends by that estimate (esptool targets/esp32.py change_baud): undo the same scaling here.
    let baud = word(data, 0);
    if (this.mode === "rom" && this.chip.name === "ESP32") baud = Math.round((baud * UART_CLOCK_HZ) / this.regs.romCalibratedClock());
    if (!(baud >= MIN_BAUD && baud <= MAX_BAUD)) {
      this.host.log?.(`CHANGE_BAUDRATE to ${word(data, 0)} refused: the UART runs at ${MIN_BAUD}-${MAX_BAUD} baud; staying at ${this.regs.baud}`);
      return this.reply(op, this.mode === "rom" ? RomError.FAILED_TO_ACT : StubError.BAD_DATA_LEN);
    }
    this.reply(op);
    this.regs.baud = baud;
    this.host.setBaud(baud);
  }

  private memEnd(req: Request): void {
    const { op, data } = req;
    if (data.length !== 8) return this.reply(op, this.badLength());
    const execute = word(data, 0) === 0;
    const entry = word(data, 1);
    this.reply(op);
    this.mem = null;
    if (this.mode !== "rom" || !execute || entry === 0) return;
    const program = identifyProgram(this.chip.name, this.segments, entry);
    const loaded = [...this.segments].map(([at, bytes]) => `${bytes.length} bytes at 0x${at.toString(16)}`).join(", ");
    if (!program) {
      this.host.log?.(`MEM_END: the program loaded (${loaded || "nothing"}) with entry 0x${entry.toString(16)} is not a flasher stub the emulator knows; it cannot run it, so the ROM loader keeps answering`);
      return;
    }
    this.host.log?.(`MEM_END: running ${program.kind} (${program.from}) at 0x${entry.toString(16)}`);
    this.mode = program.kind;
    this.host.send(OHAI);
  }

  /** ROM READ_FLASH_SLOW: up to 64 bytes at (offset, length), answered in a 64-byte body. */
  private readFlashSlow(req: Request): void {
    const { op, data } = req;
    if (data.length !== 8) return this.reply(op, RomError.INVALID_MESSAGE);
    const [offset, length] = [word(data, 0), word(data, 1)];
    if (length > SLOW_READ_BLOCK) return this.reply(op, RomError.FLASH_READ_LENGTH_ERROR);
    if (offset + length > this.chip.flashSize) return this.reply(op, RomError.FLASH_READ_ERROR);
    const body = new Uint8Array(SLOW_READ_BLOCK);
    body.set(this.flash.read(offset, length));
    return this.reply(op, 0, body);
  }

  private async stubOnly(req: Request, stub: StubRules): Promise<void> {
    const { op, data } = req;
    switch (op) {
      case Cmd.ERASE_FLASH: // answered when the chip erase (tCE) is done, as both stubs wait for it
        this.flash.erase(0, this.chip.flashSize);
        await this.options.flashTiming?.busy(this.options.flashTiming.chipEraseMs());
        return this.reply(op);
      case Cmd.ERASE_REGION: {
        if (data.length !== 8) return this.reply(op, StubError.BAD_DATA_LEN);
        const [offset, size] = [word(data, 0), word(data, 1)];
        if (offset % FLASH_SECTOR_SIZE || size % FLASH_SECTOR_SIZE) return this.reply(op, StubError.BAD_DATA_LEN);
        try { this.flash.erase(offset, size); } catch { return this.reply(op, StubError.FAILED_SPI_OP); }
        await this.options.flashTiming?.busy(this.options.flashTiming.eraseMs(offset, size));
        return this.reply(op);
      }
      case Cmd.READ_FLASH: {
        if (data.length !== 16) return this.reply(op, StubError.BAD_DATA_LEN);
        const [offset, length, blockSize, inFlight] = [word(data, 0), word(data, 1), word(data, 2), word(data, 3)];
        const maxPacket = stub.readFlash?.maxPacket ?? MAX_WRITE_BLOCK;
        if (offset + length > this.chip.flashSize || blockSize === 0 || blockSize > maxPacket || inFlight === 0) {
          return this.reply(op, StubError.BAD_DATA_LEN);
        }
        this.reply(op);
        await this.readFlash(offset, length, blockSize, Math.min(inFlight, stub.readFlash?.maxInFlight ?? inFlight));
        return;
      }
      case Cmd.RUN_USER_CODE: // no response from either stub
        if (stub.runUserCodeLeaves) this.host.leave("run-user-code");
        else this.host.log?.("RUN_USER_CODE: esp-flasher-stub ignores it (command_handler.c), still in the stub");
        return;
      default:
        return this.reply(op, stub.unknownCommand);
    }
  }

  /** Stub READ_FLASH: raw packets of blockSize, at most maxInFlight unacknowledged, then the MD5 of all. */
  private async readFlash(offset: number, length: number, blockSize: number, maxInFlight: number): Promise<void> {
    const reading = this.reading = { acked: 0 } as { acked: number; waiter?: () => void };
    let sent = 0;
    try {
      while (reading.acked < length) {
        while (sent < length && sent - reading.acked < blockSize * maxInFlight) {
          const n = Math.min(blockSize, length - sent);
          this.host.send(this.flash.read(offset + sent, n));
          sent += n;
        }
        await new Promise<void>((resolve, reject) => {
          reading.waiter = resolve;
          setTimeout(() => reject(new Error("READ_FLASH: no acknowledgement within 10 s")), 10_000).unref();
        });
        if (this.reading !== reading) return; // reset meanwhile
      }
      this.host.send(this.flash.md5(offset, length));
    } finally {
      if (this.reading === reading) this.reading = null;
    }
  }

  /** 0 or the error code for a _DATA request's header, length and checksum. */
  private checkData(req: Request): number {
    const stub = this.stub;
    if (req.data.length < 16 || word(req.data, 0) !== req.data.length - 16) return stub ? stub.dataLengthError : RomError.INVALID_MESSAGE;
    if (dataChecksum(req.data.subarray(16)) !== (req.checksum & 0xff)) return stub ? StubError.BAD_DATA_CHECKSUM : RomError.INVALID_CRC;
    return 0;
  }

  private async flashData(req: Request): Promise<void> {
    const { op } = req;
    const stub = this.stub;
    const index = this.dataPackets++;
    if (this.options.corruptDataPackets?.includes(index) && req.data.length > 16) {
      const payload = Uint8Array.from(req.data);
      payload[16 + (index * 7919) % (payload.length - 16)] ^= 0x5a; // deterministic position, a flipped byte
      req = { ...req, data: payload };
      this.host.log?.(`fault: corrupted data packet #${index}`);
    }
    const refused = this.checkData(req) || this.writer.accept(stub, op === Cmd.FLASH_DEFL_DATA);
    if (refused) return this.reply(op, refused);
    // The stubs acknowledge a block as soon as they take it and write it while the next one arrives
    // (stub_flasher.c: "ACK DATA commands immediately"; command_handler.c s_pending_post_process); the ROM
    // writes first, then answers. Requests are handled in order, so whatever comes next waits for this write.
    if (stub) this.reply(op);
    const error = await this.writer.write(stub, req.data.subarray(16));
    if (!stub) return this.reply(op, error);
    if (error && stub.errorFailsNextCommand) this.pendingError ||= error;
  }
}
