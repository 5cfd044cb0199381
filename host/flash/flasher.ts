// `iotfw flash` as a library: write a build's flash plan to a chip over its ROM bootloader with
// esptool-js's own ESPLoader (sync, chip detection, stub upload, baud change, compressed writes), over a
// serial port or socket:// through NodeSerialPort. Refuses a plan for another chip before writing; asks
// the stub for the MD5 of every region the plan covers and skips those that already hold their file (as
// esptool's write-flash --skip-flashed, which idf.py uses for fast reflashing: an unchanged build costs
// one SPI_FLASH_MD5 per region, no erase, no write; --force and --erase write everything); reads the
// device's partition table (READ_FLASH via the stub) to decide whether a differing table must be written;
// writes with compressed blocks (host/flash/writer.ts: the images are deflated while the chip connects);
// verifies each image with SPI_FLASH_MD5 through the stub (16 raw bytes: esptool-js's own check compares
// the ROM's hex-text answer in the wrong form, so we compare ourselves); then resets into the app: by the
// lines where the port has them (a serial adapter with DTR/RTS, rfc2217://: esptool's HardReset, EN
// pulsed with IO0 high), else in-band (FLASH_BEGIN 0,0 + FLASH_END "reboot", which the legacy stub obeys
// and the emulator too over ptys and sockets, which have no DTR/RTS). The connect phase's shortcuts are
// in host/flash/connect.ts; rfc2217:// is host/flash/rfc2217.ts.
// May touch: the port it opens and the flash of the device behind it.
import { ESPLoader, Transport } from "esptool-js";
import { parseLinkSpec, LinkError } from "../link/open.js";
import { deviceHasWasmPartition, FlashError, loadPlan, md5Hex, padded, type AppIdentity, type FlashImage, type LoadedPlan } from "./plan.js";
import { NodeSerialPort } from "./webserial.js";
import { changeBaud, detectByMagicFirst, hardResetByLines, resetConstructorsFor } from "./connect.js";
import { parseRfc2217Url } from "./rfc2217.js";
import { deflateImage, writeDeflated, type DeflatedImage } from "./writer.js";
import { MAX_PARTITION_LENGTH } from "../build/partition-table.js";

export { FlashError } from "./plan.js";

/** The ROM bootloader's speed after reset (esptool: ESP_ROM_BAUD). */
export const ROM_BAUD = 115200;

export interface FlashOptions {
  /** Device path, socket://host:port or rfc2217://host:port. */
  port: string;
  board?: string;
  planDir?: string;
  baud?: number;
  full?: boolean;
  erase?: boolean;
  /** Write every image even where the device's flash already holds it (no MD5 comparison first). */
  force?: boolean;
  verify?: boolean;
  cwd?: string;
  /** Sync attempts (each with esptool-js's reset sequence and 5 SYNCs); default 7 like esptool. */
  connectAttempts?: number;
  onProgress?(p: FlashProgress): void;
  /** Lines worth showing a user ("Connected: ESP32", "Writing ..."). */
  onInfo?(line: string): void;
  /** esptool-js's own log lines. */
  onDebug?(line: string): void;
}

export interface FlashProgress {
  file: string;
  address: number;
  /** Index among the images being written, and their count. */
  index: number;
  count: number;
  /** Compressed bytes of this image sent so far, and in all. */
  sent: number;
  total: number;
  /** 0..1 over all images, weighted by their uncompressed size. */
  fraction: number;
  /** Uncompressed bytes per second so far, and the estimated seconds left. */
  rate: number;
  etaSeconds: number;
}

export interface FlashResult {
  chip: string;
  board: string;
  written: Array<{ address: number; file: string; bytes: number; md5: string | null }>;
  /** Regions whose flash already held their file (same MD5): not erased, not written. */
  unchanged: Array<{ address: number; file: string; bytes: number; md5: string }>;
  /** Images left out by rule (the partition table when the device's own has the Wasm partition). */
  skipped: Array<{ address: number; file: string; reason: string }>;
  /** The app the device now holds (from the plan's Wasm image and manifest.json), if the plan has one. */
  app: AppIdentity | null;
  /** Seconds: connect (sync, detect, stub, baud), of which the stub's upload and start; comparing the
   *  regions' MD5s; data transfer (the writes); verify; total. */
  timings: { connect: number; stub: number; compare: number; transfer: number; verify: number; total: number };
  /** Bytes the host sent while writing (SLIP-framed, compressed), and the baud rate used. */
  transferWireBytes: number;
  baud: number;
  reset: boolean;
  /** How the device was reset into the app: by the DTR/RTS lines, or in-band (FLASH_END "reboot"). */
  resetBy: "lines" | "in-band";
}

const hex = (n: number) => `0x${n.toString(16)}`;
const now = () => performance.now() / 1000;

/** The MD5 (hex) of the flash under an image, as written (padded to 4 bytes), from SPI_FLASH_MD5. */
async function deviceMd5(loader: ESPLoader, image: FlashImage): Promise<string> {
  const got = await loader.flashMd5sum(image.address, padded(image.data).length);
  // The stub answers 16 raw bytes, which esptool-js hex-encodes; the ROM answers 32 hex characters,
  // which it hex-encodes again.
  return loader.IS_STUB ? got : Buffer.from(got, "hex").toString("latin1");
}

export async function flashDevice(options: FlashOptions): Promise<FlashResult> {
  const t0 = now();
  const loaded: LoadedPlan = loadPlan({ planDir: options.planDir, board: options.board, full: options.full, cwd: options.cwd });
  const { board } = loaded;
  const requestedBaud = options.baud ?? 460800;
  // Deflate in Node's thread pool while the port opens and the chip syncs (rejections surface when awaited).
  const deflating = new Map(loaded.images.map((i) => [i, deflateImage(i.data)] as const));
  for (const p of deflating.values()) p.catch(() => {});
  let spec;
  try { spec = parseRfc2217Url(options.port) ?? parseLinkSpec(options.port, ROM_BAUD); } catch (e) { throw new FlashError((e as Error).message); }
  const info = options.onInfo ?? (() => {});
  const port = new NodeSerialPort(spec);
  const transport = new Transport(port as never, false);
  // Transport.trace logs some events (read loop ending) with console.log even with tracing off.
  (transport as unknown as { trace(m: string): void }).trace = (m: string) => options.onDebug?.(m);
  const loader = new ESPLoader({
    transport, baudrate: requestedBaud, romBaudrate: ROM_BAUD, debugLogging: false,
    resetConstructors: resetConstructorsFor(port),
    terminal: { clean() {}, writeLine: (l: string) => options.onDebug?.(l), write: (l: string) => options.onDebug?.(l) },
  });
  detectByMagicFirst(loader);
  // Sockets have no modem lines, so no reset sequence there (a pty has none either: connect.ts);
  // rfc2217:// has them, as SET-CONTROL.
  const resetMode = spec.kind === "tcp" ? "no_reset" : "default_reset";
  const attempts = options.connectAttempts ?? 7;
  let opened = false;
  let baud = ROM_BAUD;
  try {
    try {
      await loader.detectChip(resetMode, attempts);
      opened = true;
    } catch (e) {
      opened = port.readable !== null;
      if (e instanceof LinkError) throw new FlashError(e.message);
      const msg = (e as Error).message;
      if (/Failed to connect/i.test(msg)) {
        throw new FlashError(`${options.port}: no answer from the ROM bootloader (no SYNC reply after ${options.connectAttempts ?? 7} attempts). ` +
          `Put the board in download mode: hold BOOT (GPIO0) while pressing and releasing EN/RESET, then release BOOT and try again; check the cable and that this is the right port.`);
      }
      throw new FlashError(`${options.port}: cannot identify the chip: ${msg}`);
    }
    const chipName: string = loader.chip.CHIP_NAME;
    if (chipName !== board.chip) {
      throw new FlashError(`the device on ${options.port} is an ${chipName}, but the plan in ${loaded.dir} is for board ${board.name} (${board.chip}): ` +
        `nothing was written. Build for this chip (\`iotfw build --board ${chipName.toLowerCase().replace("-", "")}\`) or connect the ${board.chip}.`);
    }
    info(`Connected: ${chipName} on ${options.port}`);
    const tStub = now();
    await loader.runStub();
    const stubSeconds = now() - tStub;
    if (!loader.IS_STUB) throw new FlashError(`the flasher stub did not start on the ${chipName}; cannot flash or verify safely`);
    if (requestedBaud !== ROM_BAUD) {
      const switched = await changeBaud(loader, requestedBaud, ROM_BAUD, async () => {
        // As esptool-js: reconnect at the ROM's speed and start the stub again.
        await transport.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
        loader.IS_STUB = false;
        await loader.connect(resetMode, attempts, false);
        await loader.runStub();
      });
      if (switched) baud = requestedBaud;
    }
    const tConnected = now();

    // What to write: every image unless the device's flash already holds it, then the partition-table rule.
    const tCompare = now();
    const unchanged: FlashResult["unchanged"] = [];
    const skipped: FlashResult["skipped"] = [];
    const images: FlashImage[] = [];
    for (const image of loaded.images) {
      if (!options.force && !options.erase) {
        const expected = md5Hex(padded(image.data));
        let onDevice: string;
        try { onDevice = await deviceMd5(loader, image); } catch (e) {
          throw new FlashError(`comparing ${image.file} with the flash at ${hex(image.address)} failed (SPI_FLASH_MD5: ${(e as Error).message}); nothing was written. Flash again, or use --force to write without comparing.`);
        }
        if (onDevice === expected) {
          unchanged.push({ address: image.address, file: image.file, bytes: image.data.length, md5: expected });
          continue;
        }
      }
      if (image.role === "partition-table" && !options.full && !options.erase && !options.force) {
        const device = await loader.readFlash(board.flash.partitionTableOffset, MAX_PARTITION_LENGTH);
        const has = deviceHasWasmPartition(device, board);
        if (has.ok) { skipped.push({ address: image.address, file: image.file, reason: has.reason }); continue; }
        info(`Writing the partition table too: ${has.reason}`);
      }
      images.push(image);
    }
    const compareSeconds = now() - tCompare;
    const deflated = new Map<FlashImage, DeflatedImage>();
    for (const image of images) deflated.set(image, await deflating.get(image)!);
    const totalBytes = images.reduce((n, i) => n + i.data.length, 0);
    const startWire = port.counters.bytesWritten;
    const tWrite = now();
    let current: FlashImage | null = null;
    try {
      if (options.erase) await loader.eraseFlash();
      let doneBefore = 0;
      for (const [index, image] of images.entries()) {
        current = image;
        const report = (sent: number, total: number, written: number) => {
          const done = doneBefore + Math.min(written, image.data.length);
          const elapsed = Math.max(1e-3, now() - tWrite);
          const rate = done / elapsed;
          options.onProgress?.({
            file: image.file, address: image.address, index, count: images.length, sent, total,
            fraction: totalBytes ? done / totalBytes : 1, rate, etaSeconds: rate > 0 ? (totalBytes - done) / rate : 0,
          });
        };
        const d = deflated.get(image)!;
        report(0, d.compressed.length, 0);
        await writeDeflated(loader, d, image.address, (p) => report(p.sent, p.total, p.written));
        doneBefore += image.data.length;
      }
    } catch (e) {
      const what = current ? `writing ${current.file} at ${hex(current.address)}` : "erasing the flash";
      throw new FlashError(`${what} failed: ${(e as Error).message}. ` +
        `The device was not reset and its flash may hold a partial image: flash again.`);
    }
    const tWritten = now();
    const transferWireBytes = port.counters.bytesWritten - startWire;

    const written: FlashResult["written"] = [];
    for (const image of images) {
      let md5: string | null = null;
      if (options.verify !== false) {
        const expected = md5Hex(padded(image.data));
        md5 = await deviceMd5(loader, image);
        if (md5 !== expected) {
          throw new FlashError(`verification failed for ${image.file} at ${hex(image.address)}: the device's flash has MD5 ${md5}, the file ${expected}. ` +
            `The device was not reset. Flash again; if it fails again the flash chip may be faulty.`, 3);
        }
      }
      written.push({ address: image.address, file: image.file, bytes: image.data.length, md5 });
    }
    const tVerified = now();

    // Reset into the app: by the lines when the port has them (esptool --after hard-reset), else in-band
    // (esptool's own write_flash ends with FLASH_BEGIN(0, 0) then FLASH_END).
    const resetBy = port.modemLines ? "lines" : "in-band";
    if (resetBy === "lines") {
      await hardResetByLines(transport);
      info("Reset into the app (EN pulsed by RTS)");
    } else {
      await loader.flashBegin(0, 0);
      await loader.flashFinish(true);
      info("Reset into the app");
    }
    return {
      chip: chipName, board: board.name, written, unchanged, skipped, app: loaded.app, baud, reset: true, resetBy, transferWireBytes,
      timings: { connect: tConnected - t0, stub: stubSeconds, compare: compareSeconds, transfer: tWritten - tWrite, verify: tVerified - tWritten, total: now() - t0 },
    };
  } finally {
    if (opened || port.readable) { try { await transport.disconnect(); } catch { await port.close(); } }
  }
}
