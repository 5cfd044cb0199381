// FLASH_BEGIN/DATA/END and their compressed (DEFL) forms, for the ROM loader and both flasher stubs: the
// session a BEGIN opens, its blocks (inflated with zlib when compressed), and what END finds. The loader
// (loader.ts) checks each request's framing and sends the replies; this file decides what is written
// and which error code each program gives, and (with a FlashTiming) how long the flash chip works on it:
// the ROM erases the whole range at BEGIN before it answers, and programs each block before answering it;
// the stubs erase sector by sector (block by block where aligned) just ahead of the data and program it
// after acknowledging the block, so that work overlaps the next block's transfer. Behaviour follows
// Espressif's "Serial Protocol" document (ROM), the legacy stub's stub_flasher.c / stub_write_flash.c and esp-flasher-stub's command_handler.c.
// May touch: the flash it is given.
import { createInflate, constants as zc, type Inflate } from "node:zlib";
import { FlashRangeError, type FlashFile } from "./flash.js";
import { FLASH_BLOCK_BYTES, type FlashTiming } from "./flash-timing.js";
import { FLASH_SECTOR_SIZE, MAX_WRITE_BLOCK, RomError, StubError } from "./protocol.js";
import type { StubRules } from "./programs.js";

interface FlashSession {
  compressed: boolean;
  offset: number;
  /** Bytes the session may write (erase size / uncompressed size). */
  size: number;
  written: number;
  inflate?: Inflate;
  /** Why a block could not be inflated or written (reported later: the stubs answer before writing). */
  writeError?: string;
  /** For the timing model: the end of the sectors to erase, how far they are erased (the stubs erase as
   *  they go; the ROM erased them all at BEGIN), and how far the data is programmed. */
  eraseEnd: number;
  erasedTo: number;
  programmedTo: number;
}

/** null: the ROM loader; else the rules of the stub that runs. */
export type Program = StubRules | null;

export class FlashWriter {
  private session: FlashSession | null = null;

  constructor(private readonly flash: FlashFile, private readonly flashSize: number, private readonly badFlashCell = false,
    private readonly timing: FlashTiming | null = null) {}

  get active(): boolean { return this.session !== null; }

  /** Forget any session (a reset). */
  reset(): void {
    this.session?.inflate?.destroy();
    this.session = null;
  }

  /** FLASH_BEGIN / FLASH_DEFL_BEGIN words 0-3; 0 or the error code (the ROM's after its erase). */
  async begin(program: Program, compressed: boolean, size: number, blockSize: number, offset: number): Promise<number> {
    // The stubs' receive buffers hold MAX_WRITE_BLOCK + 64 bytes (stub_flasher.c uart_buf_t).
    if (program && blockSize > MAX_WRITE_BLOCK) return StubError.BAD_BLOCKSIZE;
    this.reset();
    if (offset + size > this.flashSize) return program ? StubError.FAILED_SPI_OP : RomError.FAILED_TO_ACT;
    // The ROM erases the region at FLASH_BEGIN; the stubs erase sector by sector as they write (legacy:
    // stub_write_flash.c; esp-flasher-stub: s_init_flash_operation rounds the range out to sectors).
    // Either way the sectors covering the written range end up erased first.
    const eraseEnd = Math.min(this.flashSize, Math.ceil((offset + size) / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE);
    const eraseStart = offset - (offset % FLASH_SECTOR_SIZE);
    if (eraseEnd > eraseStart) this.flash.erase(eraseStart, eraseEnd - eraseStart);
    const session: FlashSession = { compressed, offset, size, written: 0, eraseEnd, erasedTo: program ? eraseStart : eraseEnd, programmedTo: offset };
    if (compressed) {
      session.inflate = createInflate();
      session.inflate.on("data", (chunk: Buffer) => this.store(session, chunk));
      session.inflate.on("error", (e) => { session.writeError ??= e.message; });
    }
    this.session = session;
    // The ROM answers once its erase is done (esptool sizes its FLASH_BEGIN timeout for that).
    if (!program) await this.timing?.busy(this.timing.eraseMs(eraseStart, eraseEnd - eraseStart));
    return 0;
  }

  /** Before a data block is taken: 0, or the error for "no session of this kind" or an earlier failed
   *  block (the legacy stub's get_flash_error, reported with the next block). */
  accept(program: Program, compressed: boolean): number {
    const s = this.session;
    if (!s || s.compressed !== compressed) return program ? StubError.NOT_IN_FLASH_MODE : RomError.FAILED_TO_ACT;
    return s.writeError ? this.writeErrorCode(program) : 0;
  }

  /** Write one accepted block (the payload after the 16-byte header); resolves when it is in flash.
   *  Returns the error code if this block failed to inflate or write, else 0. */
  async write(program: Program, payload: Uint8Array): Promise<number> {
    const s = this.session!;
    if (s.compressed) {
      const inflate = s.inflate!;
      // Feed the block and wait until its output is stored, so a later MD5 sees every byte.
      await new Promise<void>((resolve) => {
        inflate.write(Buffer.from(payload));
        inflate.flush(zc.Z_SYNC_FLUSH, () => resolve());
      });
    } else {
      // esptool pads the last block to the block size with 0xFF; only the announced size is kept (the
      // stubs do so; the ROM writes the padding too, which leaves the erased flash as it was).
      this.store(s, payload.subarray(0, Math.min(payload.length, s.size - s.written)));
    }
    await this.deviceTime(s);
    return s.writeError ? this.writeErrorCode(program) : 0;
  }

  /** FLASH_END / FLASH_DEFL_END: 0, or why the session cannot end cleanly. */
  async end(program: Program, compressed: boolean): Promise<number> {
    const s = this.session;
    if (!s) return program ? StubError.NOT_IN_FLASH_MODE : 0; // the ROM accepts FLASH_END any time
    this.session = null;
    if (compressed && s.inflate && !s.inflate.writableEnded) {
      const inflate = s.inflate;
      await new Promise<void>((resolve) => {
        inflate.once("end", resolve);
        inflate.once("error", () => resolve());
        inflate.once("close", resolve);
        inflate.end();
        inflate.resume();
      });
    }
    // The ROM already refused a failed uncompressed block; the stubs, which answered before writing, tell now.
    if (s.writeError && (compressed || program)) return this.writeErrorCode(program, compressed);
    if (program && s.written < s.size) return program.endShortError;
    return 0;
  }

  /** The flash chip's time for what this block added: erasing the sectors it reaches into (stubs; never
   *  beyond the range BEGIN announced) and programming its pages. */
  private async deviceTime(s: FlashSession): Promise<void> {
    const t = this.timing;
    if (!t) return;
    const end = s.offset + s.written;
    const eraseTo = Math.min(s.eraseEnd, Math.ceil(end / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE);
    let ms = 0;
    // Erase in the stubs' steps: a 64 KiB block when at a block boundary with a block's worth left in the
    // announced range, else a sector (stub_write_flash.c start_next_erase).
    while (s.erasedTo < eraseTo) {
      const block = s.erasedTo % FLASH_BLOCK_BYTES === 0 && s.eraseEnd - s.erasedTo >= FLASH_BLOCK_BYTES;
      ms += block ? t.times.blockErase64k : t.times.sectorErase;
      s.erasedTo += block ? FLASH_BLOCK_BYTES : FLASH_SECTOR_SIZE;
    }
    ms += t.programMs(s.programmedTo, end);
    s.programmedTo = end;
    await t.busy(ms);
  }

  private store(s: FlashSession, chunk: Uint8Array): void {
    if (s.written + chunk.length > s.size) {
      s.writeError ??= `more data than the ${s.size} bytes announced`;
      chunk = chunk.subarray(0, Math.max(0, s.size - s.written));
    }
    if (chunk.length === 0) return;
    let data = chunk;
    if (this.badFlashCell) { data = Uint8Array.from(chunk); data[0] ^= 0x01; }
    try {
      this.flash.write(s.offset + s.written, data);
    } catch (e) {
      s.writeError ??= e instanceof FlashRangeError ? e.message : String(e);
    }
    s.written += chunk.length;
  }

  /** The error code for a block that could not be inflated or written. */
  private writeErrorCode(program: Program, compressed = this.session?.compressed ?? false): number {
    if (!program) return compressed ? RomError.DEFLATE_ERROR : RomError.FLASH_WRITE_ERROR;
    return compressed ? StubError.INFLATE_ERROR : StubError.FAILED_SPI_OP;
  }
}
