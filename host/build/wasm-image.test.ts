// The Wasm partition image header (docs/wasm-partition.md): fields at their documented offsets,
// little-endian, and a reader that refuses damaged images.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeWasmImage, IMAGE_HEADER_SIZE, parseWasmImage } from "./wasm-image.js";

describe("Wasm partition image", () => {
  const module = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x42, 0x43]);
  const image = encodeWasmImage(module, 1);

  it("has a 64-byte header: IOTW, u16 version 1, u16 HAL ABI, u32 length, SHA-256, u32 flags 0, zeros", () => {
    const view = new DataView(image.buffer);
    expect(image.length).toBe(64 + module.length);
    expect(Buffer.from(image.subarray(0, 4)).toString("ascii")).toBe("IOTW");
    expect(view.getUint16(4, true)).toBe(1);
    expect(view.getUint16(6, true)).toBe(1);
    expect(view.getUint32(8, true)).toBe(module.length);
    expect(Buffer.from(image.subarray(12, 44)).equals(createHash("sha256").update(module).digest())).toBe(true);
    expect(view.getUint32(44, true)).toBe(0);
    expect(image.subarray(48, 64).every((b) => b === 0)).toBe(true);
    expect([...image.subarray(IMAGE_HEADER_SIZE)]).toEqual([...module]);
  });

  it("reads back from a whole partition dump (0xFF after the module)", () => {
    const partition = new Uint8Array(4096).fill(0xff);
    partition.set(image);
    const parsed = parseWasmImage(partition);
    expect(parsed).toMatchObject({ headerVersion: 1, halAbi: 1, moduleLength: module.length, flags: 0 });
    expect([...parsed.module]).toEqual([...module]);
  });

  it("refuses an erased partition, a changed module and a short image", () => {
    expect(() => parseWasmImage(new Uint8Array(4096).fill(0xff))).toThrow(/magic/);
    const changed = image.slice();
    changed[70] ^= 1;
    expect(() => parseWasmImage(changed)).toThrow(/SHA-256/);
    expect(() => parseWasmImage(image.subarray(0, 66))).toThrow(/only 2 follow/);
  });
});
