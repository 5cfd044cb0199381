// host/flash/writer.ts without a device: the deflated image inflates back to the padded image, and the
// per-block yields (which size esptool's per-block timeouts) add up to it for any block size. The write
// loop itself runs against the virtual ESP32 in simulator/esp32/emulator.test.ts and host/cli/flash.test.ts.
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { deflateImage, DEFAULT_BLOCK_SIZE } from "./writer.js";

function sample(length: number): Uint8Array {
  const out = new Uint8Array(length).fill(0xff);
  let x = 7;
  for (let i = 0; i < length / 2; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = (x >>> 24) & 0x3f; }
  return out;
}

describe("deflateImage", () => {
  it("pads to 4 bytes with 0xFF, inflates back, and its block yields add up to the image", async () => {
    const data = sample(300_001);
    const d = await deflateImage(data);
    expect(d.size).toBe(300_004);
    const back = inflateSync(d.compressed);
    expect(back.subarray(0, data.length).equals(Buffer.from(data))).toBe(true);
    expect([...back.subarray(data.length)]).toEqual([0xff, 0xff, 0xff]);
    expect(d.blockSize).toBe(DEFAULT_BLOCK_SIZE);
    expect(d.blockYields).toHaveLength(Math.ceil(d.compressed.length / DEFAULT_BLOCK_SIZE));
    expect(d.blockYields.reduce((a, b) => a + b, 0)).toBe(d.size);
  });

  it("measures yields for a smaller block size too (USB-OTG writes 0x800-byte blocks)", async () => {
    const d = await deflateImage(sample(100_000), 0x800);
    expect(d.blockYields).toHaveLength(Math.ceil(d.compressed.length / 0x800));
    expect(d.blockYields.reduce((a, b) => a + b, 0)).toBe(d.size);
  });
});
