// Board files: the facts other issues rely on (chip ids, detection values, flash layout, interpreter
// limits), and the validator's refusals.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAbi } from "../../tools/gen-hal.js";
import { BOARDS_DIR, listBoards, loadBoard, validateBoard, wasmPartition, WASM_PARTITION_TYPE } from "./boards.js";
import { BuildError } from "./errors.js";

const rawBoard = (name: string) => JSON.parse(readFileSync(join(BOARDS_DIR, `${name}.json`), "utf8"));

describe("boards", () => {
  it("ships esp32, esp32c3 and esp32s3", () => {
    expect(listBoards()).toEqual(["esp32", "esp32c3", "esp32s3"]);
  });

  it("records chip ids, detection values and bootloader offsets (esptool targets/*.py)", () => {
    const esp32 = loadBoard("esp32");
    expect(esp32.chipId).toBe(0);
    expect(esp32.detect).toEqual({ magicRegister: 0x40001000, magicValues: [0x00f01d83], securityInfoChipId: null });
    expect(esp32.flash.bootloaderOffset).toBe(0x1000);
    const c3 = loadBoard("esp32c3");
    expect([c3.chipId, c3.detect.securityInfoChipId, c3.flash.bootloaderOffset]).toEqual([5, 5, 0]);
    const s3 = loadBoard("esp32s3");
    expect([s3.chipId, s3.detect.securityInfoChipId, s3.flash.bootloaderOffset]).toEqual([9, 9, 0]);
  });

  it.each(listBoards())("%s: table at 0x8000, 4MB flash, one Wasm partition, Wasm3 limits, HAL ABI of this tree", (name) => {
    const b = loadBoard(name);
    expect(b.flash.partitionTableOffset).toBe(0x8000);
    expect(b.flash.sizeBytes).toBe(4 * 1024 * 1024);
    expect(b.partitions.map((p) => p.name)).toEqual(["nvs", "phy_init", "factory", "wasm"]);
    const wasm = wasmPartition(b);
    expect(wasm.type).toBe(WASM_PARTITION_TYPE);
    expect(wasm.offset % 0x10000).toBe(0); // mmap-able in one 64 KiB MMU page step
    expect(b.interpreter).toMatchObject({ name: "wasm3", version: "0.5.0" });
    expect(b.interpreter.features).toMatchObject({ simd: false, threads: false, referenceTypes: false, bulkMemory: false, multiValue: true });
    expect(b.memory.maxPages).toBe(1);
    expect(b.halAbi).toBe(loadAbi().version);
    expect(b.pins.adc.bits).toBe(12);
    for (const { sda, scl } of b.pins.i2c) expect(b.pins.gpio).toEqual(expect.arrayContaining([sda, scl]));
  });

  it("esp32: ADC1 pins, input-only 34-39, I2C on 21/22", () => {
    const b = loadBoard("esp32");
    expect(b.pins.adc.pins.map((p) => p.pin).sort((x, y) => x - y)).toEqual([32, 33, 34, 35, 36, 37, 38, 39]);
    expect(b.pins.inputOnly).toEqual([34, 35, 36, 37, 38, 39]);
    expect(b.pins.i2c[0]).toEqual({ bus: 0, sda: 21, scl: 22 });
    expect(b.pins.gpio).not.toContain(20);
  });

  it("names the known boards when asked for an unknown one", () => {
    expect(() => loadBoard("esp8266")).toThrow(/unknown board "esp8266"; known boards: esp32, esp32c3, esp32s3/);
    try { loadBoard("../etc"); } catch (e) { expect((e as BuildError).kind).toBe("unknown-board"); }
  });

  const refusals: [string, (b: any) => void, RegExp][] = [
    ["overlapping partitions", (b) => { b.partitions[1].offset = "0xC000"; }, /overlaps/],
    ["a misaligned app partition", (b) => { b.partitions[2].offset = "0x11000"; }, /not aligned to 0x10000/],
    ["no Wasm partition", (b) => { b.partitions.pop(); }, /exactly one Wasm partition/],
    ["a partition past the flash", (b) => { b.partitions[3].size = "0x400000"; }, /beyond the 4MB flash/],
    ["an I2C pin that does not exist", (b) => { b.pins.i2c[0].sda = 20; }, /GPIO 20/],
    ["an unknown Wasm feature", (b) => { b.interpreter.features.warp = true; }, /not a known Wasm feature/],
    ["a missing feature flag", (b) => { delete b.interpreter.features.simd; }, /features.simd must be true or false/],
    ["a bad flash size", (b) => { b.flash.size = "4M"; }, /flash.size/],
  ];
  it.each(refusals)("rejects %s", (_what, edit, message) => {
    const b = rawBoard("esp32");
    edit(b);
    expect(() => validateBoard(b, "esp32.json")).toThrow(message);
  });
});
