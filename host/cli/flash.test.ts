// `iotfw flash`, `iotfw emulate` and `iotfw monitor` end to end, as a user runs them (node bin/iotfw.js):
// build, emulate a board on a real pty (socat) and on a TCP port, flash it with the real esptool-js path,
// then monitor the same port and see the booted app's hello and summaries. And every bad input: a clear
// message and a non-zero exit, nothing written.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../build/build.js";
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

/** Start `iotfw emulate ...` and wait for its "ready on <where>" line. */
async function emulate(args: string[]): Promise<{ where: string; child: ChildProcess; stop(): Promise<number | null> }> {
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
  return { where, child, stop: async () => { child.kill("SIGTERM"); return new Promise((r) => child.once("exit", (c) => r(c))); } };
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
    expect(flash.stdout).toMatch(/wrote partition-table\.bin \(3072 bytes\) at 0x8000, md5 [0-9a-f]{32} verified/);
    expect(flash.stdout).toMatch(/wrote wasm-partition\.bin \(\d+ bytes\) at 0x200000, md5 [0-9a-f]{32} verified/);
    expect(flash.stdout).toMatch(/flashed ESP32 \(board esp32\) .* reset into the app/);
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
