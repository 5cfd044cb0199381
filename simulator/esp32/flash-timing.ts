// How long the virtual ESP32's SPI NOR flash takes to erase and program, so that flashing over a paced link
// shows what the flash chip costs and not only what the wire costs. The emulated part is the one whose JEDEC
// id the emulator reports (chip.ts: Winbond W25Q-series, 0xEF 0x40 0x16 for 4 MB, i.e. the W25Q32JV), and the
// times are that part's typical values from the Winbond W25Q32JV datasheet, section "AC Electrical
// Characteristics" (typical column; the maximum column is what an endurance-worn part may take, and what
// esptool's timeouts are sized for):
//   tPP  page program (256 bytes)        0.4 ms   (max 3 ms)
//   tSE  sector erase (4 KiB)             45 ms   (max 400 ms)
//   tBE2 block erase (64 KiB)            150 ms   (max 2,000 ms)
//   tCE  chip erase                       10 s    (max 50 s)
// The ROM and both stubs erase a range with 64 KiB block erases where a block is aligned and wholly inside
// the range and with 4 KiB sector erases elsewhere (the ROM's SPIEraseArea; the legacy stub's
// stub_write_flash.c start_next_erase: "block erase" when at a 64 KiB boundary with >= 16 sectors left),
// and program page by page. Reads and SPI_FLASH_MD5 are not modelled (tens of ms per MiB on a real chip).
// The device clock queues work like the UART wire (wire.ts): each operation starts when the previous one has
// finished or now, whichever is later, so timer granularity does not add up over thousands of pages.
// Touches nothing but its timers.

export const FLASH_PAGE_SIZE = 256;
export const FLASH_SECTOR_BYTES = 4096;
export const FLASH_BLOCK_BYTES = 64 * 1024;

/** Typical times in ms, Winbond W25Q32JV datasheet, "AC Electrical Characteristics" (see the header). */
export const W25Q32JV_TYPICAL_MS = { pageProgram: 0.4, sectorErase: 45, blockErase64k: 150, chipErase: 10_000 } as const;

export type FlashTimes = { readonly [K in keyof typeof W25Q32JV_TYPICAL_MS]: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FlashTiming {
  /** performance.now() at which the flash chip has finished everything queued. */
  private busyUntil = 0;
  /** Device ms charged so far (for tests and logs). */
  chargedMs = 0;

  /** `scale` multiplies every time (1: the datasheet's typical values; tests may shorten a chip erase). */
  constructor(public scale = 1, readonly times: FlashTimes = W25Q32JV_TYPICAL_MS, private readonly wait: (ms: number) => Promise<void> = sleep) {}

  /** Time to erase [offset, offset + length): block erases where a whole aligned 64 KiB block lies inside, sector erases elsewhere.
   *  The range is rounded out to sectors first, as every eraser does. */
  eraseMs(offset: number, length: number): number {
    if (length <= 0) return 0;
    let at = offset - (offset % FLASH_SECTOR_BYTES);
    const end = Math.ceil((offset + length) / FLASH_SECTOR_BYTES) * FLASH_SECTOR_BYTES;
    let ms = 0;
    while (at < end) {
      if (at % FLASH_BLOCK_BYTES === 0 && end - at >= FLASH_BLOCK_BYTES) { ms += this.times.blockErase64k; at += FLASH_BLOCK_BYTES; }
      else { ms += this.times.sectorErase; at += FLASH_SECTOR_BYTES; }
    }
    return ms;
  }

  /** Time to program the bytes [from, to): one page program for every 256-byte page they touch. */
  programMs(from: number, to: number): number {
    if (to <= from) return 0;
    const pages = Math.floor((to - 1) / FLASH_PAGE_SIZE) - Math.floor(from / FLASH_PAGE_SIZE) + 1;
    return pages * this.times.pageProgram;
  }

  chipEraseMs(): number { return this.times.chipErase; }

  /** Let the flash chip work for `ms` (after whatever it is still doing); resolves when it is done. */
  async busy(ms: number): Promise<void> {
    if (ms <= 0 || this.scale <= 0) return;
    this.chargedMs += ms;
    const now = performance.now();
    this.busyUntil = Math.max(now, this.busyUntil) + ms * this.scale;
    const left = this.busyUntil - now;
    if (left >= 1) await this.wait(left); // below timer resolution the next operation absorbs it
  }
}
