// `iotfw monitor rfc2217://...` against `iotfw emulate --rfc2217 --boot`, both as a user runs them (node
// bin/iotfw.js): the emulator's flash file holds a real esp32 build (its plan's images at their
// addresses); monitor sets the remote port's baud rate (SET-BAUDRATE), leaves DTR/RTS so the app keeps
// running (no reset: the app boots once, at power-on), and shows the app's decoded frames; --reset
// restarts the chip into the app by the lines (the ROM's SPI_FAST_FLASH_BOOT banner shows as console text,
// the app boots again); --reset on socket:// and on a pty (no modem lines) is refused. May touch: a temporary folder, the CLI processes
// it starts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../host/build/build.js";
import { loadPlan } from "../../host/flash/plan.js";
import { CLI, ensureCliBuilt, runCli } from "../../host/cli/testing.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-monitor-rfc2217-"));
const flashFile = join(tmp, "esp32.bin");
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureCliBuilt();
  const out = join(tmp, "build");
  await buildApp({ board: "esp32", outDir: out });
  const flash = Buffer.alloc(4 * 1024 * 1024, 0xff);
  for (const image of loadPlan({ planDir: out }).images) flash.set(image.data, image.address);
  writeFileSync(flashFile, flash);
}, 180_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) { c.kill("SIGTERM"); await new Promise((r) => c.once("exit", r)); }
  rmSync(tmp, { recursive: true, force: true });
});

/** `iotfw emulate ...` once it says where it is ready; log() is its stderr so far. */
async function emulate(args: string[]) {
  const child = spawn(process.execPath, [CLI, "emulate", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "", err = "";
  child.stderr!.on("data", (d) => { err += d; });
  const where = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`emulate not ready: ${out} ${err}`)), 20_000);
    child.stdout!.on("data", (d) => { out += d; const m = /ready on (\S+?),/.exec(out); if (m) { clearTimeout(t); resolve(m[1]); } });
    child.once("exit", (code) => { clearTimeout(t); reject(new Error(`emulate exited ${code}: ${err}`)); });
  });
  // stop(): SIGTERM, then its exit code once its stdio has closed, so log() is then its whole stderr (the
  // checks on what it logged, or did not, come after it: no waiting on a timer).
  const closed = new Promise<number | null>((r) => child.once("close", (c) => r(c)));
  return { where, log: () => err, stop: () => { child.kill("SIGTERM"); return closed; } };
}

const booted = (log: string) => log.split("\n").filter((l) => l.includes("emulate: app booted")).length;

describe("iotfw monitor rfc2217://", () => {
  it("shows the running app's frames and leaves it running (no reset by the lines)", async () => {
    const emu = await emulate(["--chip", "esp32", "--rfc2217", "127.0.0.1:0", "--boot", "--flash-file", flashFile, "--speed", "120", "-v"]);
    expect(emu.where).toMatch(/^rfc2217:\/\/127\.0\.0\.1:\d+$/);
    const mon = await runCli(["monitor", emu.where, "--json", "--count", "6", "--duration", "20"]);
    expect(mon.code, mon.stderr).toBe(0);
    const frames = mon.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; device?: number; board?: string; channels?: Array<{ name?: string }> });
    const hello = frames.find((f) => f.type === "hello");
    expect(hello).toMatchObject({ device: 1, board: "esp32" });
    expect(frames.filter((f) => f.type === "summary").length).toBeGreaterThan(0);
    expect(frames.some((f) => f.type === "console")).toBe(false); // no ROM banner: the chip was not reset
    expect(await emu.stop()).toBe(0);
    expect(booted(emu.log())).toBe(1);
    expect(emu.log()).not.toMatch(/EN pulled low|held in reset/);
    // RTS released first (DTR 1, RTS 0 keeps EN high), then DTR: both released, the app runs on.
    expect(emu.log()).toMatch(/DTR 1, RTS 0: EN high, boot strap low\n.*DTR 0, RTS 0: EN high, boot strap high/);
  }, 60_000);

  it("--reset restarts the chip into its app by DTR/RTS: the ROM's banner, then the app's frames", async () => {
    const emu = await emulate(["--chip", "esp32", "--rfc2217", "127.0.0.1:0", "--boot", "--flash-file", flashFile, "--speed", "120", "-v"]);
    const mon = await runCli(["monitor", emu.where, "--reset", "--count", "4", "--duration", "20"]);
    expect(mon.code, mon.stderr).toBe(0);
    expect(mon.stdout).toContain("console: rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)");
    expect(mon.stdout).toMatch(/dev 1 #\d+ t=\d+ms hello env-station.* on esp32/);
    expect(await emu.stop()).toBe(0);
    expect(booted(emu.log())).toBe(2);
    // By the lines: RTS alone pulls EN low, and EN rises again with the boot strap high.
    expect(emu.log()).toMatch(/EN pulled low \(DTR 0, RTS 1\)[^]*EN crossed its threshold with the boot strap high: booting from flash/);
    expect(emu.log()).not.toMatch(/download mode/);
  }, 60_000);

  it("--reset on socket:// is refused: a raw socket has no lines", async () => {
    const emu = await emulate(["--chip", "esp32", "--listen", "127.0.0.1:0", "--boot", "--flash-file", flashFile, "--no-pace"]);
    const mon = await runCli(["monitor", emu.where, "--reset", "--duration", "2"]);
    expect(mon.code).toBe(1);
    expect(mon.stderr).toMatch(/--reset needs DTR\/RTS lines, which a raw socket:\/\/ has not \(use rfc2217:\/\/\)/);
    expect(await emu.stop()).toBe(0);
  }, 60_000);

  it("--reset on a pty is refused: its modem-line ioctl fails", async () => {
    const emu = await emulate(["--chip", "esp32", "--pty", "--flash-file", flashFile, "--no-pace"]);
    expect(emu.where).toMatch(/^\/dev\//);
    const mon = await runCli(["monitor", emu.where, "--reset", "--duration", "2"]);
    expect(mon.code).toBe(1);
    expect(mon.stderr).toMatch(/--reset: the port has no DTR\/RTS lines to reset with/);
    expect(await emu.stop()).toBe(0);
  }, 60_000);
});
