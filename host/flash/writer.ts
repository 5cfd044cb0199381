// Compressed writes for `iotfw flash`: the FLASH_DEFL_BEGIN / FLASH_DEFL_DATA / FLASH_DEFL_END loop driven
// with esptool-js's own ESPLoader.flashDeflBegin / flashDeflBlock / flashDeflFinish (so the packets, the
// checksums, the per-block retries and the timeouts are esptool-js's), in place of ESPLoader.writeFlash.
// Why: writeFlash tracks the uncompressed size with a pako Inflate({chunkSize: 1}) that emits one byte per
// callback, about 0.8 s of host CPU per MiB spent between blocks while the link idles, and it deflates with
// pako on the main thread after the chip is connected. Here each image is deflated (level 9, as esptool)
// and its per-block uncompressed sizes measured by Node's zlib in the thread pool, started before the
// port is even opened, so that work overlaps the connect and the transfer never waits for the host.
// Blocks go strictly one at a time: the flasher stub has two SLIP receive buffers and acknowledges a block
// as soon as it takes it, then writes it to flash while the next one arrives (stub_flasher.c), so a block
// sent before the previous acknowledgement could land in the buffer still being written. The stub thus
// overlaps the flash write with the transfer itself; the host's part is to answer each acknowledgement
// with the next block at once. May touch: the device behind the loader (its flash).
import { createInflate, deflate, constants as zc } from "node:zlib";
import { promisify } from "node:util";
import type { ESPLoader } from "esptool-js";
import { padded } from "./plan.js";

const deflateAsync = promisify(deflate);

/** One image ready to send: the deflated bytes cut into the loader's blocks, and what each block inflates to. */
export interface DeflatedImage {
  /** The image as written: padded to 4 bytes with 0xFF, as esptool-js pads. */
  size: number;
  compressed: Uint8Array;
  blockSize: number;
  /** Uncompressed bytes each block yields (sums to size). */
  blockYields: number[];
}

/** esptool's FLASH_WRITE_SIZE for the stub over a UART (the loader may use less over USB-OTG). */
export const DEFAULT_BLOCK_SIZE = 0x4000;

/** Deflate an image (zlib format, level 9 as esptool) and measure each block's uncompressed yield. */
export async function deflateImage(data: Uint8Array, blockSize = DEFAULT_BLOCK_SIZE): Promise<DeflatedImage> {
  const image = padded(data);
  const compressed = new Uint8Array(await deflateAsync(image, { level: 9 }));
  return { size: image.length, compressed, blockSize, blockYields: await blockYields(compressed, blockSize) };
}

/** Inflate the stream block by block (sync-flushing after each) and count what each block produced. */
async function blockYields(compressed: Uint8Array, blockSize: number): Promise<number[]> {
  const inflate = createInflate();
  let produced = 0;
  inflate.on("data", (chunk: Buffer) => { produced += chunk.length; });
  const yields: number[] = [];
  try {
    for (let at = 0; at < compressed.length; at += blockSize) {
      const before = produced;
      await new Promise<void>((resolve, reject) => {
        inflate.once("error", reject);
        inflate.write(compressed.subarray(at, at + blockSize));
        inflate.flush(zc.Z_SYNC_FLUSH, () => { inflate.off("error", reject); resolve(); });
      });
      yields.push(produced - before);
    }
  } finally {
    inflate.destroy();
  }
  return yields;
}

export interface BlockProgress {
  /** Compressed bytes sent and acknowledged so far, and in all. */
  sent: number;
  total: number;
  /** Uncompressed bytes those blocks carry, and the image's size. */
  written: number;
  size: number;
}

/**
 * Write one deflated image at `address`, as esptool's write_flash does for compressed images: the
 * timeout for a block is sized from the uncompressed bytes of the block the stub is still writing when
 * it receives this one (the ROM, which writes before acknowledging, from this block's own), and
 * FLASH_DEFL_END (no reboot) waits for the last block to reach the flash.
 */
export async function writeDeflated(loader: ESPLoader, image: DeflatedImage, address: number, onBlock?: (p: BlockProgress) => void): Promise<void> {
  if (image.size === 0) return; // esptool-js skips an empty file too
  const { compressed } = image;
  const blockSize = loader.FLASH_WRITE_SIZE;
  const yields = blockSize === image.blockSize ? image.blockYields : await blockYields(compressed, blockSize);
  const blocks = await loader.flashDeflBegin(image.size, compressed.length, address);
  if (blocks !== yields.length) throw new Error(`FLASH_DEFL_BEGIN announced ${blocks} blocks, the image has ${yields.length}`);
  let timeout = 5000; // esptool-js's writeFlash starts from this
  let written = 0;
  for (let seq = 0; seq < blocks; seq++) {
    const block = compressed.subarray(seq * blockSize, (seq + 1) * blockSize);
    const blockTimeout = Math.max(3000, loader.timeoutPerMb(loader.ERASE_WRITE_TIMEOUT_PER_MB, yields[seq]));
    if (!loader.IS_STUB) timeout = blockTimeout;
    await loader.flashDeflBlock(block, seq, timeout);
    if (loader.IS_STUB) timeout = blockTimeout;
    written += yields[seq];
    onBlock?.({ sent: Math.min(compressed.length, (seq + 1) * blockSize), total: compressed.length, written, size: image.size });
  }
  if (loader.IS_STUB) await loader.flashDeflFinish(false, timeout);
}
