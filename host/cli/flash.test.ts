// `iotfw flash`, `iotfw emulate` and `iotfw monitor` end to end, as a user runs them (node bin/iotfw.js):
// build, emulate a board on a real pty (socat) and on a TCP port, flash it with the real esptool-js path,
// then monitor the same port and see the booted app's hello and summaries. And every bad input: a clear
// message and a non-zero exit, nothing written.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../build/build.js";
import { REPO_ROOT } from "../repo-root.js";
import { openLink } from "../link/open.js";
import { createPtyPair, type PtyPair } from "../link/pty.js";
import { CLI, ensureCliBuilt, runCli } from "./testing.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-flash-cli-"));
const plan = join(tmp, "build");
const children: ChildProcess[] = [];
const pairs: PtyPair[] = [];

beforeAll(async () => {
  ensureCliBuilt();
  await buildApp({ board: "esp32", outDir: plan });
}, 180_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) { c.kill("SIGTERM"); await new Promise((r) => c.once("exit", r)); }
  for (const p of pairs) await p.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Start `iotfw emulate ...` and wait for its "ready on <where>" line; log() is its stderr so far (-v: its events). */
async function emulate(args: string[]): Promise<{ where: string; child: ChildProcess; log(): string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, "emulate", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => { err += d; });
  const where = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`emulate not ready: ${out} ${err}`)), 20_000);
    child.stdout!.on("data", (d) => { out += d; const m = /ready on (\S+?),/.exec(out); if (m) { clearTimeout(t); resolve(m[1]); } });
    child.once("exit", (code) => { clearTimeout(t); reject(new Error(`emulate exited ${code}: ${err}`)); });
  });
  return { where, child, log: () => err, stop: async () => { child.kill("SIGTERM"); return new Promise((r) => child.once("exit", (c) => r(c))); } };
}

async function ptys(): Promise<PtyPair> {
  const p = await createPtyPair();
  pairs.push(p);
  return p;
}

function frames(stdout: string): Array<Record<string, unknown>> {
  return stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

describe("flash onto an emulated ESP32, then monitor it", () => {
  it("over a pty: flash, boot, hello and summaries on the same port", async () => {
    const pair = await ptys();
    const emu = await emulate(["--chip", "esp32", "--serial", pair.a, "--flash-file", join(tmp, "pty.bin"), "--no-pace", "--speed", "120"]);
    expect(emu.where).toBe(pair.a);
    const flash = await runCli(["flash", pair.b, "--plan", plan, "--baud", "921600"]);
    expect(flash.stderr).not.toMatch(/unexpected error/);
    expect(flash.code).toBe(0);
    expect(flash.stdout).toMatch(/partition-table\.bin at 0x8000: wrote 3072 bytes, md5 [0-9a-f]{32} verified/);
    expect(flash.stdout).toMatch(/wasm-partition\.bin at 0x200000: wrote \d+ bytes, md5 [0-9a-f]{32} verified/);
    expect(flash.stdout).toMatch(/flashed ESP32 \(board esp32\) .* \(2 written, 0 unchanged\); reset into the app/);
    const mon = await runCli(["monitor", pair.b, "--json", "--hello", "--count", "6", "--duration", "20"]);
    expect(mon.code).toBe(0);
    const got = frames(mon.stdout);
    const at = got.findIndex((f) => f.type === "hello");
    expect(got[at]).toMatchObject({ device: 1, board: "esp32" });
    // A summary that left before the hello answered --hello has no names yet (the monitor cannot know
    // them); the ones after it are named.
    const summary = got.slice(at).find((f) => f.type === "summary") as { channels: Array<{ name?: string }> } | undefined;
    expect(summary).toBeDefined();
    expect(summary!.channels.some((c) => c.name === "temperature")).toBe(true);
    // The flash file holds the plan's bytes at their addresses.
    const file = readFileSync(join(tmp, "pty.bin"));
    for (const [addr, name] of Object.entries(JSON.parse(readFileSync(join(plan, "flash-plan.json"), "utf8")).files as Record<string, string>)) {
      const bytes = readFileSync(join(plan, name));
      const got = file.subarray(Number(addr), Number(addr) + bytes.length);
      const firstDiff = got.findIndex((b, i) => b !== bytes[i]);
      expect(firstDiff, `${name} at ${addr}: first differing byte at +${firstDiff}`).toBe(-1);
    }
    expect(await emu.stop()).toBe(0);
  });

  it("over socket://: flash, boot and monitor; readable lines by default", async () => {
    const emu = await emulate(["--chip", "esp32", "--listen", "127.0.0.1:0", "--flash-file", join(tmp, "tcp.bin"), "--no-pace", "--speed", "120"]);
    expect(emu.where).toMatch(/^socket:\/\/127\.0\.0\.1:\d+$/);
    const flash = await runCli(["flash", emu.where, "--plan", plan, "--baud", "921600"]);
    expect(flash.code).toBe(0);
    const mon = await runCli(["monitor", emu.where, "--hello", "--count", "6", "--duration", "20"]);
    expect(mon.code).toBe(0);
    expect(mon.stdout).toMatch(/dev 1 #\d+ t=\d+ms hello env-station.* on esp32, .*channels: 0=temperature\[degC\]/);
    expect(mon.stdout).toMatch(/summary window \d+ ms: temperature\[degC\] n=\d+ mean=/);
    expect(await emu.stop()).toBe(0);
  });
});

describe("fast reflash: only what changed is written", () => {
  /** The emulator's FLASH_BEGIN / FLASH_DEFL_BEGIN log lines (size 0 is the in-band reset, not a write). */
  const writes = (log: string) => [...log.matchAll(/(FLASH(?:_DEFL)?_BEGIN) at (0x[0-9a-f]+), (\d+) bytes/g)].filter((m) => m[3] !== "0").map((m) => `${m[1]} ${m[2]}`);
  const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { sha256: string; app: { name: string; version: string } };

  it("an unchanged plan is compared, not written; --force writes it all; a changed app rewrites only the Wasm partition", async () => {
    const flashFile = join(tmp, "reflash.bin");
    const emu = await emulate(["--chip", "esp32", "--listen", "127.0.0.1:0", "--flash-file", flashFile, "--no-pace", "--speed", "120", "-v"]);
    const flash = async (args: string[]) => {
      const from = emu.log().length;
      const r = await runCli(["flash", emu.where, "--baud", "921600", ...args]);
      expect(r.code, r.stderr).toBe(0);
      return { ...r, writes: writes(emu.log().slice(from)) };
    };
    const app = manifest(plan);

    const first = await flash(["--plan", plan]);
    expect(first.writes).toEqual(["FLASH_DEFL_BEGIN 0x8000", "FLASH_DEFL_BEGIN 0x200000"]);
    expect(first.stdout).toContain(`app ${app.app.name} ${app.app.version}, sha256 ${app.sha256}`);

    const before = { bytes: readFileSync(flashFile), mtime: statSync(flashFile).mtimeMs };
    const again = await flash(["--plan", plan]);
    expect(again.writes).toEqual([]); // nothing erased or written: no FLASH_BEGIN with a size
    expect(again.stdout).toMatch(/partition-table\.bin at 0x8000: unchanged \(md5 [0-9a-f]{32}\), not written/);
    expect(again.stdout).toMatch(/wasm-partition\.bin at 0x200000: unchanged \(md5 [0-9a-f]{32}\), not written/);
    expect(again.stdout).toMatch(/\(0 written, 2 unchanged\); reset into the app/);
    expect(again.stdout).toContain(`app ${app.app.name} ${app.app.version}, sha256 ${app.sha256}`);
    expect(statSync(flashFile).mtimeMs).toBe(before.mtime);
    expect(readFileSync(flashFile).equals(before.bytes)).toBe(true);

    const forced = await flash(["--plan", plan, "--force"]);
    expect(forced.writes).toEqual(["FLASH_DEFL_BEGIN 0x8000", "FLASH_DEFL_BEGIN 0x200000"]);
    expect(forced.stdout).toMatch(/\(2 written, 0 unchanged\)/);

    // Another app for the same board: same partition table, another Wasm image.
    const other = join(tmp, "build-motion");
    await buildApp({ board: "esp32", appDir: join(REPO_ROOT, "firmware", "apps", "motion"), outDir: other });
    const changed = await flash(["--plan", other]);
    expect(changed.writes).toEqual(["FLASH_DEFL_BEGIN 0x200000"]);
    expect(changed.stdout).toMatch(/partition-table\.bin at 0x8000: unchanged/);
    expect(changed.stdout).toMatch(/wasm-partition\.bin at 0x200000: wrote \d+ bytes, md5 [0-9a-f]{32} verified/);
    expect(changed.stdout).toContain(`app motion ${manifest(other).app.version}, sha256 ${manifest(other).sha256}`);
    const image = readFileSync(join(other, "wasm-partition.bin"));
    expect(readFileSync(flashFile).subarray(0x200000, 0x200000 + image.length).equals(image)).toBe(true);
    expect(await emu.stop()).toBe(0);
  }, 120_000);
});

describe("bad input: a clear message, a non-zero exit", () => {
  it("no such port", async () => {
    const r = await runCli(["flash", "/dev/iotfw-no-such-port", "--plan", plan]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/dev\/iotfw-no-such-port: no such port/);
  });

  it("a busy port", async () => {
    const pair = await ptys();
    const holder = await openLink({ kind: "serial", path: pair.b, baudRate: 115200 });
    try {
      const r = await runCli(["flash", pair.b, "--plan", plan]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/port is busy/);
    } finally { await holder.close(); }
  });

  it("a missing plan", async () => {
    const r = await runCli(["flash", "/dev/null", "--plan", join(tmp, "nothing-here")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no flash plan at .*nothing-here\/flash-plan\.json: build first/);
  });

  it("an image larger than its partition (refused before the port is opened)", async () => {
    const big = join(tmp, "big");
    mkdirSync(big);
    for (const f of ["flash-plan.json", "partition-table.bin"]) copyFileSync(join(plan, f), join(big, f));
    writeFileSync(join(big, "wasm-partition.bin"), new Uint8Array(0x40000 + 16));
    const r = await runCli(["flash", "/dev/iotfw-no-such-port", "--plan", big]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wasm-partition\.bin \(262160 bytes at 0x200000\) is larger than its partition "wasm" .*16 bytes too many/);
  });

  it("a Wasm partition image that is not one, and a manifest that is not JSON (refused before the port is opened)", async () => {
    const bad = join(tmp, "bad-image");
    mkdirSync(bad);
    for (const f of ["flash-plan.json", "partition-table.bin", "manifest.json"]) copyFileSync(join(plan, f), join(bad, f));
    writeFileSync(join(bad, "wasm-partition.bin"), new Uint8Array(1000).fill(0x41));
    const r = await runCli(["flash", "/dev/iotfw-no-such-port", "--plan", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wasm-partition\.bin is not a Wasm partition image \(Wasm image magic is "AAAA"/);
    copyFileSync(join(plan, "wasm-partition.bin"), join(bad, "wasm-partition.bin"));
    writeFileSync(join(bad, "manifest.json"), "{ not json");
    const m = await runCli(["flash", "/dev/iotfw-no-such-port", "--plan", bad]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/manifest\.json is not valid JSON: .*rebuild/);
  });

  it("--full without the runtime's images", async () => {
    const r = await runCli(["flash", "/dev/iotfw-no-such-port", "--plan", plan, "--full"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--full writes the C runtime too, but .*bootloader\.bin and .*runtime\.bin are missing/);
  });

  it("the wrong chip", async () => {
    const pair = await ptys();
    const emu = await emulate(["--chip", "esp32c3", "--serial", pair.a, "--flash-file", join(tmp, "c3.bin"), "--no-pace"]);
    const r = await runCli(["flash", pair.b, "--plan", plan, "--baud", "921600"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is an ESP32-C3, but the plan .* is for board esp32 \(ESP32\): nothing was written/);
    await emu.stop();
  });

  it("a device that never syncs, with the hint about holding BOOT", async () => {
    const pair = await ptys(); // nothing on the other end
    const r = await runCli(["flash", pair.b, "--plan", plan, "--attempts", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no answer from the ROM bootloader .*hold BOOT \(GPIO0\)/);
  });

  it("ports lists without failing (no ports in a container is fine)", async () => {
    const r = await runCli(["ports", "--json"]);
    expect(r.code).toBe(0);
    const ports = JSON.parse(r.stdout) as unknown[]; // one array, [] when there are none
    expect(Array.isArray(ports)).toBe(true);
    for (const p of ports) expect(p).toHaveProperty("path");
  });

  it("monitor: no such port", async () => {
    const r = await runCli(["monitor", "/dev/iotfw-no-such-port"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no such port/);
  });
});
