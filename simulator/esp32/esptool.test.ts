// Espressif's own esptool v5.3.1 (Python, run as a child process exactly as a user runs it) against the
// virtual ESP32 on a socket:// port, paced at the baud rate and with the flash chip's erase and program
// times (flash-timing.ts, on with pacing: esptool's timeouts must hold against them): every chip, in ROM mode (--no-stub) and with
// the flasher stub esptool uploads (esp-flasher-stub, and the legacy stub once per chip with
// --stub-version 1): chip-id, read-mac, flash-id, write-flash (compressed and not), verify-flash,
// read-flash, erase-region, erase-flash, and write/read at 921600. Checked: esptool's exit code and what
// it prints (the MAC is the one derived from the device id, the chip revision, the crystal, the flash id)
// and the emulator's flash (what was written, read back or erased).
// Needs the pristine esptool at ../shared/third_party/esptool-v5.3.1 and Debian's python3 with its
// dependencies (python3-serial, -bitstring, -cryptography, -ecdsa, -intelhex, -yaml, -click, -rich-click);
// without them it says why and skips, except under CI, where it fails. May touch: a temporary folder.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { loadBoard } from "../../host/build/boards.js";
import { Esp32Emulator } from "./emulator.js";
import { esptoolMissing, runEsptool } from "./esptool-harness.js";
import { deviceMac } from "./registers.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-esptool-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let unavailable: string | undefined;
beforeAll(() => {
  unavailable = esptoolMissing();
  // On CI the copy and the packages are installed (.ci/run): their absence is a failure, never a skip.
  if (unavailable && process.env.CI) throw new Error(unavailable);
}, 90_000);
const need = (ctx: TestContext) => { if (unavailable) { console.warn(`skipped: ${unavailable}`); ctx.skip(); } };

const CHIPS = [
  { chip: "esp32", board: "esp32", deviceId: 0x00a1b2c3, description: "ESP32-D0WD-V3 (revision v3.1)" },
  { chip: "esp32c3", board: "esp32c3", deviceId: 0x000c3003, description: "ESP32-C3 (QFN32) (revision v0.4)" },
  { chip: "esp32s3", board: "esp32s3", deviceId: 0x005e3005, description: "ESP32-S3 (QFN56) (revision v0.2)" },
] as const;

/** A paced emulator behind a TCP port on 127.0.0.1, as `iotfw emulate --listen` serves it. */
async function rig(name: string, board: string, deviceId: number) {
  const logs: string[] = [];
  const emu = new Esp32Emulator({
    board: loadBoard(board), flashFile: join(tmp, `${name}.bin`), pace: true, hardware: [], deviceId,
    log: (t) => { logs.push(t); if (process.env.EMU_LOG) console.error("emu:", t); },
  });
  const server: Server = createServer((socket) => { socket.setNoDelay(true); emu.attach(socket); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    emu, logs,
    /** Run esptool on this chip; resolves with its exit code and everything it printed. */
    esptool(args: string[], opts: { stub?: boolean | "legacy"; baud?: number } = {}): Promise<{ code: number | null; out: string }> {
      const argv = ["--chip", CHIPS.find((c) => c.board === board)!.chip, "--port", `socket://127.0.0.1:${port}`,
        "--before", "no-reset", "--after", "no-reset", "--baud", String(opts.baud ?? 115200)];
      if (opts.stub === false) argv.push("--no-stub");
      if (opts.stub === "legacy") argv.push("--stub-version", "1");
      return runEsptool([...argv, ...args]);
    },
    async close() { await new Promise<void>((r) => server.close(() => r())); await emu.close(); },
  };
}

const hex = (bytes: readonly number[]) => bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
/** 12 KiB shaped like firmware: half random, half runs (so compression has something to do). */
function image(seed: number): Buffer {
  const out = Buffer.alloc(12 * 1024);
  randomBytes(6 * 1024).copy(out);
  for (let i = 6 * 1024; i < out.length; i++) out[i] = (i >> 6) ^ seed;
  return out;
}
const APP = 0x10000;

for (const c of CHIPS) {
  for (const mode of ["rom", "stub"] as const) {
    describe(`esptool v5.3.1 on a virtual ${c.chip}, ${mode === "rom" ? "ROM loader (--no-stub)" : "flasher stub"}`, () => {
      let r: Awaited<ReturnType<typeof rig>>;
      const stub = mode === "stub";
      const mac = hex(deviceMac(c.deviceId));
      beforeAll(async () => { r = await rig(`${c.chip}-${mode}`, c.board, c.deviceId); });
      afterAll(async () => { await r?.close(); });
      const run = (args: string[], baud?: number) => r.esptool(args, { stub, baud });
      const ok = (res: { code: number | null; out: string }) => expect(res.code, res.out).toBe(0);

      it("chip-id and read-mac: the chip, its revision, a 40 MHz crystal, the device's own MAC", async (ctx) => {
        need(ctx);
        const id = await run(["chip-id"]);
        ok(id);
        expect(id.out).toContain(`Chip type:          ${c.description}`);
        expect(id.out).toContain("Crystal frequency:  40MHz");
        expect(id.out).not.toMatch(/Detected crystal freq/); // esptool's warning when the divider is off
        const m = await run(["read-mac"]);
        ok(m);
        expect(m.out).toContain(`MAC:                ${mac}`);
        if (stub) expect(r.logs.some((l) => l.includes("running esp-flasher-stub (esptool v5.3.1"))).toBe(true);
      }, 60_000);

      it("flash-id: the JEDEC id of a 4 MB Winbond part", async (ctx) => {
        need(ctx);
        const f = await run(["flash-id"]);
        ok(f);
        expect(f.out).toMatch(/Manufacturer: ef\s+Device: 4016\s+Detected flash size: 4MB/);
      }, 60_000);

      it("write-flash (compressed, then --no-compress), verify-flash and read-flash give back the bytes", async (ctx) => {
        need(ctx);
        const a = image(1), b = image(2);
        writeFileSync(join(tmp, `${c.chip}-${mode}-a.bin`), a);
        writeFileSync(join(tmp, `${c.chip}-${mode}-b.bin`), b);
        const w = await run(["write-flash", `0x${APP.toString(16)}`, join(tmp, `${c.chip}-${mode}-a.bin`)]);
        ok(w);
        expect(w.out).toContain("Hash of data verified.");
        expect(Buffer.from(r.emu.flash.read(APP, a.length)).equals(a)).toBe(true);
        const u = await run(["write-flash", "--no-compress", `0x${APP.toString(16)}`, join(tmp, `${c.chip}-${mode}-b.bin`)]);
        ok(u);
        expect(Buffer.from(r.emu.flash.read(APP, b.length)).equals(b)).toBe(true);
        const v = await run(["verify-flash", `0x${APP.toString(16)}`, join(tmp, `${c.chip}-${mode}-b.bin`)]);
        ok(v);
        expect(v.out).toMatch(/Verification successful|verified/i);
        const out = join(tmp, `${c.chip}-${mode}-read.bin`);
        const rd = await run(["read-flash", `0x${APP.toString(16)}`, String(b.length), out]);
        ok(rd);
        expect(readFileSync(out).equals(b)).toBe(true);
      }, 120_000);

      it("write-flash and read-flash at 921600", async (ctx) => {
        need(ctx);
        const a = image(3);
        writeFileSync(join(tmp, `${c.chip}-${mode}-fast.bin`), a);
        const w = await run(["write-flash", "0x20000", join(tmp, `${c.chip}-${mode}-fast.bin`)], 921600);
        ok(w);
        expect(w.out).toContain("Changing baud rate to 921600");
        expect(Buffer.from(r.emu.flash.read(0x20000, a.length)).equals(a)).toBe(true);
        const out = join(tmp, `${c.chip}-${mode}-fast-read.bin`);
        const rd = await run(["read-flash", "0x20000", String(a.length), out], 921600);
        ok(rd);
        expect(readFileSync(out).equals(a)).toBe(true);
        expect(r.logs.some((l) => l.includes("-> 921600"))).toBe(true);
      }, 120_000);

      it("erase-region erases one sector and leaves its neighbours", async (ctx) => {
        need(ctx);
        const before = Buffer.from(r.emu.flash.read(APP, 0x3000));
        const e = await run(["erase-region", "0x11000", "0x1000"]);
        ok(e);
        expect(r.emu.flash.read(APP + 0x1000, 0x1000).every((x) => x === 0xff)).toBe(true);
        expect(Buffer.from(r.emu.flash.read(APP, 0x1000)).equals(before.subarray(0, 0x1000))).toBe(true);
        expect(Buffer.from(r.emu.flash.read(APP + 0x2000, 0x1000)).equals(before.subarray(0x2000))).toBe(true);
      }, 60_000);

      if (stub) {
        it("erase-flash (stub only: esptool refuses it to the ROM)", async (ctx) => {
          need(ctx);
          // The model's chip erase is the W25Q32JV's typical 10 s (esptool waits up to CHIP_ERASE_TIMEOUT,
          // 120 s); a fiftieth of it keeps the test short and still answers only after the erase.
          r.emu.flashTiming!.scale = 0.02;
          const charged = r.emu.flashTiming!.chargedMs;
          const e = await run(["erase-flash"]);
          r.emu.flashTiming!.scale = 1;
          ok(e);
          expect(r.emu.flashTiming!.chargedMs - charged).toBe(10_000);
          expect(r.emu.flash.bytes.every((x) => x === 0xff)).toBe(true);
        }, 60_000);

        it("the legacy stub (--stub-version 1) writes and reads too", async (ctx) => {
          need(ctx);
          const a = image(4);
          writeFileSync(join(tmp, `${c.chip}-legacy.bin`), a);
          const w = await r.esptool(["write-flash", "0x30000", join(tmp, `${c.chip}-legacy.bin`)], { stub: "legacy" });
          ok(w);
          expect(r.logs.some((l) => l.includes("running legacy-stub"))).toBe(true);
          expect(Buffer.from(r.emu.flash.read(0x30000, a.length)).equals(a)).toBe(true);
        }, 60_000);
      }
    });
  }
}
