// The virtual ESP32 with the real esptool-js code path (host/flash/flasher.ts) over a real pty pair
// (socat): flash a build, read the flash back, boot what was flashed; the same chip driven by a second,
// independent client (raw SLIP commands written by hand here from Espressif's Serial Protocol document);
// corrupted packets retried; a bad flash cell caught by MD5; a chip that is not the plan's refused.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../host/build/build.js";
import { loadBoard } from "../../host/build/boards.js";
import { flashDevice, FlashError } from "../../host/flash/flasher.js";
import { openLink, type OpenLink } from "../../host/link/open.js";
import { createPtyPair, type PtyPair } from "../../host/link/pty.js";
import { SerialReader } from "../../host/protocol/serial-reader.js";
import { Esp32Emulator, type EmulatorOptions } from "./emulator.js";
import { Cmd, dataChecksum } from "./protocol.js";
import { SlipDecoder, slipEncode } from "./slip.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-esp32-"));
const plan = join(tmp, "build");
let hardware: EmulatorOptions["hardware"];

beforeAll(async () => {
  const built = await buildApp({ board: "esp32", outDir: plan });
  hardware = (built.manifest.app.hardware ?? []) as EmulatorOptions["hardware"];
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An emulator on one end of a fresh pty pair; `host` is the other end's path. */
async function rig(name: string, extra: Partial<EmulatorOptions> = {}) {
  const pair: PtyPair = await createPtyPair();
  const link: OpenLink = await openLink({ kind: "serial", path: pair.a, baudRate: 115200 });
  const logs: string[] = [];
  const emu = new Esp32Emulator({
    board: loadBoard(extra.board?.name ?? "esp32"), flashFile: join(tmp, `${name}.bin`), pace: false, hardware,
    timeScale: 60, log: (t) => { logs.push(t); if (process.env.EMU_LOG) console.error("emu:", t); }, ...extra,
  });
  emu.attach(link.stream);
  return {
    emu, host: pair.b, logs,
    async close() { await emu.close(); await link.close(); await pair.close(); },
  };
}

const waitFor = <T>(emitter: Esp32Emulator, event: string, ms = 10_000) => new Promise<T>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
  emitter.once(event, (v: T) => { clearTimeout(timer); resolve(v); });
});

describe("esptool-js onto the virtual ESP32 over a pty", () => {
  it("flashes the plan, verifies it, resets, the flash file holds the plan and the app boots", async () => {
    const r = await rig("flash1");
    try {
      const booted = waitFor<boolean>(r.emu, "boot");
      const result = await flashDevice({ port: r.host, planDir: plan, baud: 921600 });
      expect(result.chip).toBe("ESP32");
      expect(result.written.map((w) => w.file)).toEqual(["partition-table.bin", "wasm-partition.bin"]);
      expect(result.reset).toBe(true);
      expect(await booted).toBe(true);
      for (const w of result.written) {
        const bytes = readFileSync(join(plan, w.file));
        expect(Buffer.from(r.emu.flash.read(w.address, bytes.length)).equals(bytes)).toBe(true);
      }
      // Read back through the stub with the flash file persisted: the file holds the same bytes.
      const file = readFileSync(join(tmp, "flash1.bin"));
      expect(file.length).toBe(4 * 1024 * 1024);
      const image = readFileSync(join(plan, "wasm-partition.bin"));
      expect(file.subarray(0x200000, 0x200000 + image.length).equals(image)).toBe(true);
    } finally { await r.close(); }
  });
});

describe("esptool-js against the flash timing model", () => {
  it("paced at 921600 with the W25Q32JV's erase and program times: its timeouts hold and the chip is charged what the stub does", async () => {
    const r = await rig("timed", { pace: true });
    try {
      const result = await flashDevice({ port: r.host, planDir: plan, baud: 921600 });
      expect(result.written.map((w) => w.file)).toEqual(["partition-table.bin", "wasm-partition.bin"]);
      // Each image goes in one compressed block: its sectors (both below 64 KiB) and its pages.
      const T = r.emu.flashTiming!.times;
      const cost = (bytes: number) => Math.ceil(bytes / 4096) * T.sectorErase + Math.ceil(bytes / 256) * T.pageProgram;
      const image = readFileSync(join(plan, "wasm-partition.bin")).length;
      expect(r.emu.flashTiming!.chargedMs).toBeCloseTo(cost(3072) + cost(image), 6);
    } finally { await r.close(); }
  });
});

describe("faults and refusals", () => {
  it("retries a corrupted data packet (the stub answers BAD_DATA_CHECKSUM) and the flash is right", async () => {
    const r = await rig("retry", { faults: { corruptDataPackets: [1] } });
    try {
      const result = await flashDevice({ port: r.host, planDir: plan, baud: 921600 });
      expect(result.written).toHaveLength(2);
      expect(r.logs.some((l) => l.includes("corrupted data packet #1"))).toBe(true);
      const image = readFileSync(join(plan, "wasm-partition.bin"));
      expect(Buffer.from(r.emu.flash.read(0x200000, image.length)).equals(image)).toBe(true);
    } finally { await r.close(); }
  });

  it("fails clearly when a block is corrupted on every attempt, and does not reset", async () => {
    const r = await rig("giveup", { faults: { corruptDataPackets: [0, 1, 2] } });
    try {
      const err = await flashDevice({ port: r.host, planDir: plan, baud: 921600 }).catch((e) => e);
      expect(err).toBeInstanceOf(FlashError);
      expect(err.message).toMatch(/writing partition-table\.bin at 0x8000 failed: .*not reset/);
      expect(r.emu.state).toBe("download");
    } finally { await r.close(); }
  });

  it("an MD5 mismatch (a bad flash cell) is an error with exit code 3", async () => {
    const r = await rig("badcell", { faults: { badFlashCell: true } });
    try {
      const err = await flashDevice({ port: r.host, planDir: plan, baud: 921600 }).catch((e) => e);
      expect(err).toBeInstanceOf(FlashError);
      expect(err.exitCode).toBe(3);
      expect(err.message).toMatch(/verification failed for partition-table\.bin at 0x8000: the device's flash has MD5 [0-9a-f]{32}, the file [0-9a-f]{32}/);
      expect(r.emu.state).toBe("download");
    } finally { await r.close(); }
  });

  it("refuses an ESP32 plan on an ESP32-C3 and writes nothing", async () => {
    const r = await rig("c3", { board: loadBoard("esp32c3") });
    try {
      const err = await flashDevice({ port: r.host, planDir: plan, baud: 921600 }).catch((e) => e);
      expect(err).toBeInstanceOf(FlashError);
      expect(err.message).toMatch(/is an ESP32-C3, but the plan .* is for board esp32 \(ESP32\): nothing was written/);
      expect(r.emu.flash.bytes.every((b) => b === 0xff)).toBe(true);
    } finally { await r.close(); }
  });

  it("a second flash onto the running app resets it into download mode (SYNC), skips what is unchanged, and boots again", async () => {
    const r = await rig("twice");
    try {
      let booted = waitFor<boolean>(r.emu, "boot");
      await flashDevice({ port: r.host, planDir: plan, baud: 921600 });
      expect(await booted).toBe(true);
      booted = waitFor<boolean>(r.emu, "boot");
      const again = await flashDevice({ port: r.host, planDir: plan, baud: 921600 });
      expect(again.written).toEqual([]);
      expect(again.unchanged.map((u) => u.file)).toEqual(["partition-table.bin", "wasm-partition.bin"]);
      expect(await booted).toBe(true);

      // A table that differs from the plan's (a byte after its end marker) but has the Wasm partition is
      // kept; a changed Wasm image is written again.
      r.emu.flash.write(0x8000 + 3071, Uint8Array.of(0x00));
      r.emu.flash.write(0x200000 + 100, Uint8Array.of(r.emu.flash.read(0x200000 + 100, 1)[0] ^ 0xff));
      booted = waitFor<boolean>(r.emu, "boot");
      const third = await flashDevice({ port: r.host, planDir: plan, baud: 921600 });
      expect(third.written.map((w) => w.file)).toEqual(["wasm-partition.bin"]);
      expect(third.skipped[0].reason).toMatch(/already has the Wasm partition/);
      expect(await booted).toBe(true);
    } finally { await r.close(); }
  });
});

/** A minimal independent client, written from Espressif's Serial Protocol document. */
class RawClient {
  private slip = new SlipDecoder();
  private packets: Uint8Array[] = [];
  private waiters: Array<() => void> = [];
  constructor(private link: OpenLink) {
    link.stream.on("data", (c: Buffer) => { for (const p of this.slip.push(c)) { this.packets.push(p); this.waiters.shift()?.(); } });
  }
  send(op: number, data: Uint8Array, checksum = 0): void {
    const pkt = new Uint8Array(8 + data.length);
    const v = new DataView(pkt.buffer);
    pkt[1] = op; v.setUint16(2, data.length, true); v.setUint32(4, checksum, true); pkt.set(data, 8);
    this.link.stream.write(slipEncode(pkt));
  }
  async next(ms = 2000): Promise<{ op: number; value: number; body: Uint8Array }> {
    if (!this.packets.length) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no reply")), ms);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    const p = this.packets.shift()!;
    return { op: p[1], value: new DataView(p.buffer, p.byteOffset).getUint32(4, true), body: p.subarray(8) };
  }
}
const words = (...w: number[]) => { const b = new Uint8Array(w.length * 4); w.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x, true)); return b; };

describe("a second, independent client (raw SLIP, ROM loader)", () => {
  it("syncs, detects, writes with FLASH_BEGIN/DATA, gets the ROM's hex MD5 and its error codes", async () => {
    const r = await rig("raw");
    const link = await openLink({ kind: "serial", path: r.host, baudRate: 115200 });
    try {
      const c = new RawClient(link);
      c.send(Cmd.SYNC, Uint8Array.from([0x07, 0x07, 0x12, 0x20, ...new Array(32).fill(0x55)]));
      for (let i = 0; i < 8; i++) {
        const s = await c.next();
        expect([s.op, s.value !== 0, [...s.body]]).toEqual([Cmd.SYNC, true, [0, 0, 0, 0]]); // ROM: 4 status bytes
      }
      c.send(Cmd.READ_REG, words(0x40001000));
      expect((await c.next()).value).toBe(0x00f01d83);
      const data = new Uint8Array(0x400).map((_, i) => (i * 7) & 0xff);
      c.send(Cmd.SPI_ATTACH, words(0, 0));
      expect([...(await c.next()).body]).toEqual([0, 0, 0, 0]);
      c.send(Cmd.FLASH_BEGIN, words(0x1000, 1, 0x400, 0x300000, 0));
      expect([...(await c.next()).body]).toEqual([0, 0, 0, 0]);
      const payload = new Uint8Array(16 + data.length);
      payload.set(words(data.length, 0, 0, 0)); payload.set(data, 16);
      c.send(Cmd.FLASH_DATA, payload, dataChecksum(data) ^ 0x01); // wrong checksum
      expect([...(await c.next()).body]).toEqual([1, 0x07, 0, 0]);
      c.send(Cmd.FLASH_DATA, payload, dataChecksum(data));
      expect([...(await c.next()).body]).toEqual([0, 0, 0, 0]);
      c.send(Cmd.SPI_FLASH_MD5, words(0x300000, data.length, 0, 0));
      const md5 = await c.next();
      expect(Buffer.from(md5.body.subarray(0, 32)).toString("latin1")).toBe(createHash("md5").update(data).digest("hex"));
      c.send(Cmd.READ_FLASH, words(0, 16, 16, 1)); // stub-only: the ROM calls it invalid
      expect([...(await c.next()).body]).toEqual([1, 0x05, 0, 0]);
      c.send(Cmd.FLASH_DEFL_BEGIN, words(data.length, 1, 0x400, 0x301000));
      await c.next();
      const comp = deflateSync(data);
      const dp = new Uint8Array(16 + comp.length); dp.set(words(comp.length, 0, 0, 0)); dp.set(comp, 16);
      c.send(Cmd.FLASH_DEFL_DATA, dp, dataChecksum(comp));
      expect([...(await c.next()).body]).toEqual([0, 0, 0, 0]);
      expect(Buffer.from(r.emu.flash.read(0x301000, data.length)).equals(data)).toBe(true);
    } finally { await link.close(); await r.close(); }
  });
});
