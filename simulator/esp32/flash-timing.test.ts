// The flash timing model (flash-timing.ts) and what the flash writer charges to it: which erases (64 KiB
// blocks, 4 KiB sectors) and page programs each program's FLASH_BEGIN and data blocks cost, from the
// W25Q32JV's typical times. Device time is counted, not waited for (a no-op wait), so nothing is timed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FlashFile } from "./flash.js";
import { FlashTiming, W25Q32JV_TYPICAL_MS as T } from "./flash-timing.js";
import { FlashWriter } from "./flash-writer.js";
import { STUB_RULES } from "./programs.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-flash-timing-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SIZE = 4 * 1024 * 1024;
const counted = () => new FlashTiming(1, T, async () => {});

describe("erase and program times", () => {
  it("erases aligned 64 KiB blocks with a block erase and the rest sector by sector, rounded out to sectors", () => {
    const t = counted();
    expect(t.eraseMs(0x10000, 0x10000)).toBe(T.blockErase64k);
    expect(t.eraseMs(0x11000, 0x1000)).toBe(T.sectorErase);
    expect(t.eraseMs(0x100, 1)).toBe(T.sectorErase);
    // 0xF000..0x21000: a sector, the block at 0x10000, then a sector at 0x20000 (less than a block left).
    expect(t.eraseMs(0xf000, 0x12000)).toBe(2 * T.sectorErase + T.blockErase64k);
    expect(t.eraseMs(0, SIZE)).toBe(64 * T.blockErase64k);
  });

  it("programs one page per 256-byte page touched", () => {
    const t = counted();
    expect(t.programMs(0, 256)).toBe(T.pageProgram);
    expect(t.programMs(0, 257)).toBe(2 * T.pageProgram);
    expect(t.programMs(255, 257)).toBe(2 * T.pageProgram);
    expect(t.programMs(10, 10)).toBe(0);
  });
});

describe("what flashing costs the chip", () => {
  it("the ROM erases the whole range at FLASH_BEGIN, then programs each block", async () => {
    const t = counted();
    const w = new FlashWriter(new FlashFile(join(tmp, "rom.bin"), SIZE), SIZE, false, t);
    expect(await w.begin(null, false, 0x11000, 0x400, 0x10000)).toBe(0);
    expect(t.chargedMs).toBe(T.blockErase64k + T.sectorErase);
    expect(await w.write(null, new Uint8Array(0x400))).toBe(0);
    expect(t.chargedMs).toBeCloseTo(T.blockErase64k + T.sectorErase + 4 * T.pageProgram, 6);
  });

  it("a stub erases as the data arrives (a block where aligned, sectors at the end) and programs its pages", async () => {
    const t = counted();
    const w = new FlashWriter(new FlashFile(join(tmp, "stub.bin"), SIZE), SIZE, false, t);
    const stub = STUB_RULES["legacy-stub"];
    expect(await w.begin(stub, false, 0x14000, 0x4000, 0x10000)).toBe(0);
    expect(t.chargedMs).toBe(0); // nothing erased before the data
    await w.write(stub, new Uint8Array(0x4000)); // reaches into the block at 0x10000: one block erase
    expect(t.chargedMs).toBeCloseTo(T.blockErase64k + 64 * T.pageProgram, 6);
    await w.write(stub, new Uint8Array(0x4000)); // still inside the erased block
    expect(t.chargedMs).toBeCloseTo(T.blockErase64k + 128 * T.pageProgram, 6);
    for (let i = 0; i < 3; i++) await w.write(stub, new Uint8Array(0x4000));
    // 0x20000..0x24000: less than a block left in the announced range, so four sector erases.
    expect(t.chargedMs).toBeCloseTo(T.blockErase64k + 4 * T.sectorErase + 320 * T.pageProgram, 6);
    expect(await w.end(stub, false)).toBe(0);
  });
});
