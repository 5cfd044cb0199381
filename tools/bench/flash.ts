// Benchmark of `iotfw flash`: a 1 MiB image written with the real esptool-js path (host/flash/flasher.ts)
// onto the virtual ESP32 (simulator/esp32) over a real pty pair, the emulator pacing its UART at the baud
// rate (baud/10 bytes per second each way), at 115200 and at 921600 baud. Figures: wall time; link
// efficiency = (bytes the host actually sent while writing x 10 bits / baud) / the writing time, target
// >= 90 %; and the time outside the data transfer (connect, sync, stub upload at 115200, baud change,
// MD5 verification, reset), target <= 1 s. The image is synthetic but shaped like firmware: 45 %
// code-like bytes (a skewed alphabet, ~6 bits/byte), 10 % ASCII strings, 45 % 0xFF fill (unused space
// in a partition image); it deflates to about 35 %, so compressed writes matter as they do for real
// images. Touches: a temp folder (plan, flash file), a socat it starts and stops.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { loadBoard } from "../../host/build/boards.js";
import { flashDevice } from "../../host/flash/flasher.js";
import { openLink } from "../../host/link/open.js";
import { createPtyPair } from "../../host/link/pty.js";
import { Esp32Emulator } from "../../simulator/esp32/emulator.js";
import { Random } from "../../simulator/random.js";
import type { BenchResult } from "./result.js";

const IMAGE_BYTES = 1024 * 1024;
const ADDRESS = 0x10000; // the esp32 board's factory app partition (0x1F0000 bytes)

/** A firmware-shaped 1 MiB image from a seeded PRNG (see the header comment). */
export function firmwareLikeImage(seed = 7): Uint8Array {
  const rng = new Random(seed);
  const out = new Uint8Array(IMAGE_BYTES).fill(0xff);
  const alphabet = Array.from({ length: 64 }, () => rng.int(0, 255));
  const words = ["sensor", "window", "summary", "error", "i2c", "timeout", "wifi", "task", "heap", "flash", "%d", "%s", "\n", "0x%08x"];
  const code = Math.floor(IMAGE_BYTES * 0.45);
  const strings = Math.floor(IMAGE_BYTES * 0.10);
  for (let i = 0; i < code; i++) out[i] = rng.chance(0.85) ? alphabet[rng.int(0, 15) * (rng.chance(0.5) ? 1 : 4) % 64] : rng.int(0, 255);
  let at = code;
  while (at < code + strings) {
    const w = new TextEncoder().encode(words[rng.int(0, words.length - 1)] + (rng.chance(0.3) ? "\0" : " "));
    out.set(w.subarray(0, Math.min(w.length, code + strings - at)), at);
    at += w.length;
  }
  return out;
}

async function flashOnce(image: Uint8Array, baud: number, dir: string) {
  const plan = join(dir, `plan-${baud}`);
  mkdirSync(plan, { recursive: true });
  writeFileSync(join(plan, "image.bin"), image);
  writeFileSync(join(plan, "flash-plan.json"), JSON.stringify({ board: "esp32", chip: "ESP32", chipId: 0, flashSize: "4MB", files: { [`0x${ADDRESS.toString(16)}`]: "image.bin" }, runtime: {} }));
  const pair = await createPtyPair();
  const link = await openLink({ kind: "serial", path: pair.a, baudRate: 115200 });
  const emu = new Esp32Emulator({ board: loadBoard("esp32"), flashFile: join(dir, `flash-${baud}.bin`), pace: true, hardware: [] });
  emu.attach(link.stream);
  try {
    const t0 = performance.now();
    const r = await flashDevice({ port: pair.b, planDir: plan, baud });
    const total = (performance.now() - t0) / 1000;
    const ok = Buffer.from(emu.flash.read(ADDRESS, image.length)).equals(image);
    if (!ok) throw new Error("bench: the flash does not hold the image");
    return { total, r };
  } finally {
    await emu.close();
    await link.close();
    await pair.close();
  }
}

export async function benchFlash(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "iotfw-bench-flash-"));
  const image = firmwareLikeImage();
  const ratio = deflateSync(image, { level: 9 }).length / image.length;
  const results: BenchResult[] = [];
  try {
    for (const baud of [115200, 921600]) {
      const { total, r } = await flashOnce(image, baud, dir);
      const capacitySeconds = (r.transferWireBytes * 10) / baud;
      const uncompressedSeconds = (image.length * 10) / baud;
      results.push(
        { name: `flash 1 MiB at ${baud} baud (paced virtual ESP32, pty)`, value: +total.toFixed(2), unit: "s",
          baseline: +uncompressedSeconds.toFixed(1), ratio: +(total / uncompressedSeconds).toFixed(3),
          note: `baseline: the link time for the image uncompressed; image deflates to ${(ratio * 100).toFixed(0)} % (firmware-shaped synthetic), ${r.transferWireBytes} bytes on the wire` },
        { name: `flash link efficiency at ${baud} baud`, value: +((capacitySeconds / r.timings.transfer) * 100).toFixed(1), unit: "%",
          note: `bytes sent while writing x 10 / baud = ${capacitySeconds.toFixed(2)} s of link capacity, writing took ${r.timings.transfer.toFixed(2)} s; target >= 90 %` },
        { name: `flash time outside data transfer at ${baud} baud`, value: +(total - r.timings.transfer).toFixed(2), unit: "s",
          note: `connect+stub+baud change ${r.timings.connect.toFixed(2)} s (stub upload at 115200 ${r.timings.stub.toFixed(2)} s), MD5 verify ${r.timings.verify.toFixed(2)} s, rest (reset, close); target <= 1 s` },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
