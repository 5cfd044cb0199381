// The command side of the virtual ESP32's serial bootloader: the ROM loader's command set and, once a
// program is loaded with MEM_BEGIN/MEM_DATA/MEM_END and started, the esptool flasher stub's (it greets
// with "OHAI", answers with 2 status bytes, adds READ_FLASH, ERASE_FLASH, ERASE_REGION, RUN_USER_CODE
// and raw-MD5). Behaviour follows Espressif's "Serial Protocol" document and the stub's cmd_loop
// (esptool flasher stub, stub_flasher.c). Requests are handled one at a time in arrival order; READ_FLASH
// acknowledgements bypass that queue. May touch: the flash it is given; talks only through LoaderHost.
import { createInflate, constants as zc, type Inflate } from "node:zlib";
import type { ChipProfile } from "./chip.js";
import { FlashRangeError, type FlashFile } from "./flash.js";
import {
  Cmd, concat, dataChecksum, FLASH_SECTOR_SIZE, MAX_WRITE_BLOCK, OHAI, parseRequest, response, ROM_SYNC_VALUE, RomError,
  romStatus, StubError, stubStatus, word, type Request,
} from "./protocol.js";

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

type Mode = "rom" | "stub";

interface FlashSession {
  compressed: boolean;
  offset: number;
  /** Bytes the session may write (erase size / uncompressed size). */
  size: number;
  blockSize: number;
  written: number;
  inflate?: Inflate;
  inflateError?: string;
}

export class BootloaderLoader {
  mode: Mode = "rom";
  readonly regs = new Map<number, number>();
  private queue: Promise<void> = Promise.resolve();
  private flashSession: FlashSession | null = null;
  private mem: { offset: number; size: number; received: number } | null = null;
  private reading: { acked: number; waiter?: () => void } | null = null;
  private dataPackets = 0;

  constructor(readonly chip: ChipProfile, readonly flash: FlashFile, readonly host: LoaderHost, readonly faults: LoaderFaults = {}) {}

  /** Back to the ROM loader (a reset into download mode). */
  reset(): void {
    this.mode = "rom";
    this.flashSession?.inflate?.destroy();
    this.flashSession = null;
    this.mem = null;
    this.reading = null;
    this.regs.clear();
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
    this.queue = this.queue.then(() => this.handle(req)).catch((err) => this.host.log?.(`loader error: ${(err as Error).message}`));
  }

  /** Resolves when every request received so far has been handled. */
  idle(): Promise<void> { return this.queue; }

  private reply(op: number, error = 0, body: Uint8Array = new Uint8Array(0), value = 0): void {
    this.host.send(response(op, value, concat(body, this.mode === "rom" ? romStatus(error) : stubStatus(error))));
  }

  private err(kind: keyof typeof RomError | keyof typeof StubError): number {
    if (this.mode === "rom") return (RomError as Record<string, number>)[kind] ?? RomError.INVALID_MESSAGE;
    return (StubError as Record<string, number>)[kind] ?? StubError.INVALID_COMMAND;
  }

  private async handle(req: Request): Promise<void> {
    const { op, data } = req;
    const rom = this.mode === "rom";
    const needLen = (n: number) => data.length === n;
    if (req.sizeMismatch) return this.reply(op, rom ? RomError.INVALID_MESSAGE : StubError.BAD_DATA_LEN);
    switch (op) {
      case Cmd.SYNC: {
        if (!needLen(36)) return this.reply(op, rom ? RomError.INVALID_MESSAGE : StubError.BAD_DATA_LEN);
        // The ROM answers SYNC eight times; the stub too, with value 0 (stub_flasher.c cmd_loop).
        for (let i = 0; i < 8; i++) this.reply(op, 0, undefined, rom ? ROM_SYNC_VALUE : 0);
        return;
      }
      case Cmd.READ_REG: {
        if (!needLen(4)) return this.reply(op, this.err("BAD_DATA_LEN"));
        return this.reply(op, 0, undefined, this.readReg(word(data, 0)));
      }
      case Cmd.WRITE_REG: {
        if (data.length === 0 || data.length % 16) return this.reply(op, this.err("BAD_DATA_LEN"));
        for (let i = 0; i < data.length / 16; i++) this.writeReg(word(data, i * 4), word(data, i * 4 + 1), word(data, i * 4 + 2));
        return this.reply(op);
      }
      case Cmd.SPI_ATTACH: // ROM: 8 bytes (the word plus 4 zero bytes), stub: 4
      case Cmd.SPI_SET_PARAMS:
        return this.reply(op);
      case Cmd.CHANGE_BAUDRATE: {
        if (!needLen(8)) return this.reply(op, this.err("BAD_DATA_LEN"));
        const baud = word(data, 0);
        this.reply(op);
        this.host.setBaud(baud);
        return;
      }
      case Cmd.GET_SECURITY_INFO: {
        if (this.chip.securityInfoChipId === null) {
          // ESP32 ROM and stub have no such command: the ROM's "invalid message" reply (which esptool reads
          // as UnsupportedCommandError because its command byte differs), the stub's "not implemented".
          if (rom) return this.host.send(response(0x00, 0, romStatus(RomError.INVALID_MESSAGE)));
          return this.reply(op, StubError.CMD_NOT_IMPLEMENTED);
        }
        // 32-bit flags, 1 byte flash_crypt_cnt, 7 key purposes, 32-bit chip id, 32-bit API/eco version (Serial Protocol).
        const body = new Uint8Array(20);
        new DataView(body.buffer).setUint32(12, this.chip.securityInfoChipId, true);
        return this.reply(op, 0, body);
      }
      case Cmd.MEM_BEGIN: {
        if (!needLen(16)) return this.reply(op, this.err("BAD_DATA_LEN"));
        this.mem = { size: word(data, 0), offset: word(data, 3), received: 0 };
        return this.reply(op);
      }
      case Cmd.MEM_DATA: {
        const bad = this.checkData(req);
        if (bad) return this.reply(op, bad);
        if (!this.mem) return this.reply(op, this.err("NOT_IN_FLASH_MODE"));
        this.mem.received += data.length - 16;
        return this.reply(op);
      }
      case Cmd.MEM_END: {
        if (!needLen(8)) return this.reply(op, this.err("BAD_DATA_LEN"));
        const execute = word(data, 0) === 0;
        const entry = word(data, 1);
        this.reply(op);
        if (execute && entry !== 0) {
          // Whatever was loaded and started is taken to be the flasher stub: we cannot run Xtensa/RISC-V
          // code, and the stub is the only program flashing tools load this way.
          this.host.log?.(`MEM_END: running the loaded program (${this.mem?.received ?? 0} bytes) at 0x${entry.toString(16)} as the flasher stub`);
          this.mode = "stub";
          this.host.send(OHAI);
        }
        this.mem = null;
        return;
      }
      case Cmd.FLASH_BEGIN:
      case Cmd.FLASH_DEFL_BEGIN:
        return this.flashBegin(req);
      case Cmd.FLASH_DATA:
      case Cmd.FLASH_DEFL_DATA:
        return this.flashData(req);
      case Cmd.FLASH_END:
      case Cmd.FLASH_DEFL_END: {
        const error = await this.flashEnd(op === Cmd.FLASH_DEFL_END);
        this.reply(op, error);
        // Word 0: 0 = reboot, 1 = run user code (Serial Protocol). The stub acts only on 0 (stub_flasher.c:
        // "passing 0 as parameter for ESP_FLASH_END means reboot now"); the ROM leaves the loader either way.
        if (data.length >= 4 && !error) {
          if (word(data, 0) === 0) this.host.leave("reboot");
          else if (rom) this.host.leave("run-user-code");
        }
        return;
      }
      case Cmd.SPI_FLASH_MD5: {
        if (!needLen(16)) return this.reply(op, this.err("BAD_DATA_LEN"));
        let digest: Uint8Array;
        try { digest = this.flash.md5(word(data, 0), word(data, 1)); } catch { return this.reply(op, rom ? RomError.FLASH_READ_ERROR : StubError.FAILED_SPI_OP); }
        // ROM: 32 hex-encoded ASCII bytes; stub: 16 raw bytes (Serial Protocol, "Verifying Uploaded Data").
        return this.reply(op, 0, rom ? new TextEncoder().encode(Buffer.from(digest).toString("hex")) : digest);
      }
      default:
        if (!rom) return this.stubOnly(req);
        return this.host.send(response(0x00, 0, romStatus(RomError.INVALID_MESSAGE)));
    }
  }

  private async stubOnly(req: Request): Promise<void> {
    const { op, data } = req;
    switch (op) {
      case Cmd.ERASE_FLASH:
        this.flash.erase(0, this.chip.flashSize);
        return this.reply(op);
      case Cmd.ERASE_REGION: {
        if (data.length !== 8) return this.reply(op, StubError.BAD_DATA_LEN);
        const [offset, size] = [word(data, 0), word(data, 1)];
        if (offset % FLASH_SECTOR_SIZE || size % FLASH_SECTOR_SIZE) return this.reply(op, StubError.BAD_DATA_LEN);
        try { this.flash.erase(offset, size); } catch { return this.reply(op, StubError.FAILED_SPI_OP); }
        return this.reply(op);
      }
      case Cmd.READ_FLASH: {
        if (data.length !== 16) return this.reply(op, StubError.BAD_DATA_LEN);
        const [offset, length, blockSize, maxInFlight] = [word(data, 0), word(data, 1), word(data, 2), word(data, 3)];
        if (offset + length > this.chip.flashSize || blockSize === 0 || blockSize > MAX_WRITE_BLOCK || maxInFlight === 0) {
          return this.reply(op, StubError.BAD_DATA_LEN);
        }
        this.reply(op);
        await this.readFlash(offset, length, blockSize, maxInFlight);
        return;
      }
      case Cmd.RUN_USER_CODE:
        return this.host.leave("run-user-code"); // no response (stub_flasher.c)
      default:
        return this.reply(op, StubError.CMD_NOT_IMPLEMENTED);
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
    const rom = this.mode === "rom";
    if (req.data.length < 16 || word(req.data, 0) !== req.data.length - 16) return rom ? RomError.INVALID_MESSAGE : StubError.BAD_DATA_LEN;
    if (dataChecksum(req.data.subarray(16)) !== (req.checksum & 0xff)) return rom ? RomError.INVALID_CRC : StubError.BAD_DATA_CHECKSUM;
    return 0;
  }

  private flashBegin(req: Request): void {
    const { op, data } = req;
    const rom = this.mode === "rom";
    // ROM: 16 bytes (+4 for the encrypted flag on newer ROMs); stub: exactly 16 (stub_flasher.c).
    if (!(data.length === 16 || (rom && data.length === 20))) return this.reply(op, this.err("BAD_DATA_LEN"));
    const [size, , blockSize, offset] = [word(data, 0), word(data, 1), word(data, 2), word(data, 3)];
    if (!rom && blockSize > MAX_WRITE_BLOCK) return this.reply(op, StubError.BAD_BLOCKSIZE);
    this.flashSession?.inflate?.destroy();
    const compressed = op === Cmd.FLASH_DEFL_BEGIN;
    if (offset + size > this.chip.flashSize) {
      this.flashSession = null;
      return this.reply(op, rom ? RomError.FAILED_TO_ACT : StubError.FAILED_SPI_OP);
    }
    // The ROM erases the region at FLASH_BEGIN; the stub erases sector by sector as it writes. Either way
    // the sectors covering the written range end up erased first.
    const eraseEnd = Math.min(this.chip.flashSize, Math.ceil((offset + size) / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE);
    const eraseStart = offset - (offset % FLASH_SECTOR_SIZE);
    if (eraseEnd > eraseStart) this.flash.erase(eraseStart, eraseEnd - eraseStart);
    const session: FlashSession = { compressed, offset, size, blockSize, written: 0 };
    if (compressed) {
      session.inflate = createInflate();
      session.inflate.on("data", (chunk: Buffer) => this.store(session, chunk));
      session.inflate.on("error", (e) => { session.inflateError = e.message; });
    }
    this.flashSession = session;
    this.reply(op);
  }

  private store(session: FlashSession, chunk: Uint8Array): void {
    if (session.written + chunk.length > session.size) {
      session.inflateError ??= `more data than the ${session.size} bytes announced`;
      chunk = chunk.subarray(0, Math.max(0, session.size - session.written));
    }
    if (chunk.length === 0) return;
    let data = chunk;
    if (this.faults.badFlashCell) { data = Uint8Array.from(chunk); data[0] ^= 0x01; }
    try {
      this.flash.write(session.offset + session.written, data);
    } catch (e) {
      session.inflateError ??= e instanceof FlashRangeError ? e.message : String(e);
    }
    session.written += chunk.length;
  }

  private async flashData(req: Request): Promise<void> {
    const { op } = req;
    const rom = this.mode === "rom";
    const index = this.dataPackets++;
    if (this.faults.corruptDataPackets?.includes(index) && req.data.length > 16) {
      const payload = Uint8Array.from(req.data);
      payload[16 + (index * 7919) % (payload.length - 16)] ^= 0x5a; // deterministic position, a flipped byte
      req = { ...req, data: payload };
      this.host.log?.(`fault: corrupted data packet #${index}`);
    }
    const bad = this.checkData(req);
    if (bad) return this.reply(op, bad);
    const session = this.flashSession;
    const compressed = op === Cmd.FLASH_DEFL_DATA;
    if (!session || session.compressed !== compressed) return this.reply(op, rom ? RomError.FAILED_TO_ACT : StubError.NOT_IN_FLASH_MODE);
    const payload = req.data.subarray(16);
    // A failure while writing an earlier block is reported with this one (stub: get_flash_error()).
    if (session.inflateError) return this.reply(op, this.writeError(compressed));
    // The stub acknowledges a block as soon as it takes it and writes it while the next one arrives
    // (stub_flasher.c: "ACK FLASH_DATA commands before write"); the ROM writes first, then answers.
    // Requests are handled in order, so whatever comes next (another block, END, MD5) waits for this write.
    if (!rom) this.reply(op);
    if (compressed) {
      const inflate = session.inflate!;
      // Feed the block and wait until its output is stored, so a later MD5 sees every byte.
      await new Promise<void>((resolve) => {
        inflate.write(Buffer.from(payload));
        inflate.flush(zc.Z_SYNC_FLUSH, () => resolve());
      });
    } else {
      const room = session.size - session.written;
      // esptool pads the last block to the block size with 0xFF; only the announced size is kept (the
      // stub does so; the ROM writes the padding too, which leaves the erased flash as it was).
      this.store(session, payload.subarray(0, Math.min(payload.length, room)));
    }
    if (rom) this.reply(op, session.inflateError ? this.writeError(compressed) : 0);
  }

  /** The error code for a block that could not be inflated or written. */
  private writeError(compressed: boolean): number {
    if (this.mode === "rom") return compressed ? RomError.DEFLATE_ERROR : RomError.FLASH_WRITE_ERROR;
    return compressed ? StubError.INFLATE_ERROR : StubError.FAILED_SPI_OP;
  }

  /** 0, or why the session cannot end cleanly. */
  private async flashEnd(compressed: boolean): Promise<number> {
    const session = this.flashSession;
    const rom = this.mode === "rom";
    if (!session) return rom ? 0 : StubError.NOT_IN_FLASH_MODE; // the ROM accepts FLASH_END any time
    this.flashSession = null;
    if (compressed && session.inflate) {
      const inflate = session.inflate;
      if (!inflate.writableEnded) {
        await new Promise<void>((resolve) => {
          inflate.once("end", resolve);
          inflate.once("error", () => resolve());
          inflate.once("close", resolve);
          inflate.end();
          inflate.resume();
        });
      }
    }
    // The ROM already refused a failed uncompressed block; the stub, which answered before writing, tells now.
    if (session.inflateError && (compressed || !rom)) return this.writeError(compressed);
    if (!rom && session.written < session.size) return StubError.NOT_ENOUGH_DATA;
    return 0;
  }

  private readReg(addr: number): number {
    if (addr === this.chip.magicRegister) return this.chip.magicValue;
    return this.regs.get(addr) ?? 0; // eFuse and other registers read as 0 (an unprogrammed chip, revision 0)
  }

  private writeReg(addr: number, value: number, mask: number): void {
    const old = this.regs.get(addr) ?? 0;
    this.regs.set(addr, ((old & ~mask) | (value & mask)) >>> 0);
    const spi = this.chip.spi;
    const SPI_CMD_USR = 1 << 18; // SPI_CMD_REG bit that starts a user command (esptool run_spiflash_command)
    if (addr === spi.base && value & SPI_CMD_USR) {
      const command = (this.regs.get(spi.base + spi.usr2) ?? 0) & 0xff;
      const SPIFLASH_RDID = 0x9f;
      this.regs.set(spi.base + spi.w0, command === SPIFLASH_RDID ? this.chip.flashId : 0);
      this.regs.set(addr, (this.regs.get(addr)! & ~SPI_CMD_USR) >>> 0); // done at once
    }
  }
}
