// Issue 13: an ordinary way of ending a command is never a crash. Ctrl-C (SIGINT to the whole process
// group, as a terminal sends it, shard processes included) at seeded moments of `iotfw simulate`: exit
// 130 with the summary marked interrupted, or, before the command has started, the plain death by
// SIGINT a shell shows as 130; never "unexpected error" or a stack trace. A reader closing `--out -`
// (`| head`) ends the run quietly with exit 0. The bridge and the emulator end without a trace too, and
// so do `flash` (against `iotfw emulate`, which then still takes a whole flash) and `monitor` (exit 130
// with its tally marked interrupted). May touch: the CLI processes it starts (each in its own process
// group), temp folders.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../build/build.js";
import { CLI, ensureCliBuilt, runCli } from "./testing.js";

interface Ended { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function start(args: string[]) {
  const proc = spawn(process.execPath, [CLI, ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  proc.stdout!.on("data", (c: Buffer) => { stdout += c.toString(); });
  proc.stderr!.on("data", (c: Buffer) => { stderr += c.toString(); });
  const ended = new Promise<Ended>((resolve) => proc.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { proc, ended, output: () => stdout };
}

/** A small seeded generator (mulberry32): the same moments on every run of the test. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("interrupting the CLI", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  const random = seeded(13);
  const moments = Array.from({ length: 5 }, () => Math.round(random() * 3000));
  for (const ms of moments) {
    it(`Ctrl-C ${ms} ms after simulate starts: exit 130 and an interrupted summary, or killed before it began`, async () => {
      const run = start(["simulate", "--sensors", "20", "--duration", "10m", "--speed", "20", "--workers", "2"]);
      await new Promise((r) => setTimeout(r, ms));
      process.kill(-run.proc.pid!, "SIGINT");
      const end = await run.ended;
      expect(end.stderr).not.toMatch(/unexpected error|\n\s+at /);
      if (end.signal === "SIGINT") {
        expect(end.stdout).toBe(""); // died before its handler was in place: nothing half-written
        return;
      }
      expect(end.code, end.stderr).toBe(130);
      expect(end.stderr).toMatch(/^iotfw: interrupted$/m);
      if (end.stdout) expect(end.stdout).toMatch(/of device time \(interrupted\)/);
    }, 60_000);
  }

  it("Ctrl-C once frames are flowing: the summary counts them and says interrupted", async () => {
    const run = start(["simulate", "--sensors", "20", "--duration", "10m", "--speed", "20", "--workers", "2", "--out", "-"]);
    const deadline = Date.now() + 30_000;
    while (!run.output().includes('"type":"status"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.kill(-run.proc.pid!, "SIGINT");
    const end = await run.ended;
    expect(end.code, end.stderr).toBe(130);
    expect(end.stderr).toMatch(/simulated 20 devices .* \(interrupted\)/); // with --out -, the summary goes to stderr
    expect(end.stderr).not.toMatch(/unexpected error/);
  }, 60_000);

  it("a reader that closes --out - early (| head): exit 0, nothing on stderr", async () => {
    const run = start(["simulate", "--sensors", "5", "--duration", "10m", "--speed", "max", "--out", "-"]);
    const deadline = Date.now() + 30_000;
    while (run.output().split("\n").length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    run.proc.stdout!.destroy();
    const end = await run.ended;
    expect(end.code, end.stderr).toBe(0);
    expect(end.stderr).toBe("");
  }, 60_000);

  // The long-running commands other than simulate: Ctrl-C at seeded moments ends each without a trace;
  // the bridge leaves no lock that would stop its next start.
  const others: Array<[string, (dir: string) => string[]]> = [
    ["bridge", (dir) => ["bridge", "--spool", join(dir, "spool"), "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", "--broker", "127.0.0.1:0"]],
    ["emulate", (dir) => ["emulate", "--chip", "esp32", "--listen", "127.0.0.1:0", "--flash-file", join(dir, "flash.bin")]],
  ];
  for (const [name, args] of others) {
    for (const ms of [Math.round(random() * 2500), Math.round(random() * 2500)]) {
      it(`Ctrl-C ${ms} ms after ${name} starts: it ends cleanly`, async () => {
        const dir = mkdtempSync(join(tmpdir(), `iotfw-int-${name}-`));
        const run = start(args(dir));
        await new Promise((r) => setTimeout(r, ms));
        process.kill(-run.proc.pid!, "SIGINT");
        const end = await run.ended;
        expect(end.stderr).not.toMatch(/unexpected error|\n\s+at /);
        if (end.signal !== "SIGINT") expect([0, 130]).toContain(end.code);
        if (name === "bridge") {
          // A clean stop removes its lock; one killed by the signal before its handler was in place leaves
          // a lock whose pid is gone, which the next start takes over (host/bridge/bridge.ts takeLock).
          const lock = join(dir, "spool", "bridge.lock");
          if (end.signal !== "SIGINT") expect(existsSync(lock)).toBe(false);
          else if (existsSync(lock)) expect(() => process.kill(Number(readFileSync(lock, "utf8")), 0)).toThrow();
        }
      }, 60_000);
    }
  }

  describe("flash and monitor against an emulated board", () => {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-int-flash-"));
    const plan = join(dir, "build");
    let emu: ReturnType<typeof start>;
    let where = "";
    beforeAll(async () => {
      await buildApp({ board: "esp32", outDir: plan });
      emu = start(["emulate", "--chip", "esp32", "--listen", "127.0.0.1:0", "--flash-file", join(dir, "flash.bin"), "--speed", "120"]);
      const deadline = Date.now() + 30_000;
      while (!/ready on (\S+?),/.test(emu.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      where = /ready on (\S+?),/.exec(emu.output())![1];
    }, 180_000);
    afterAll(async () => {
      process.kill(-emu.proc.pid!, "SIGINT");
      await emu.ended;
    });

    const noTrace = (end: Ended) => {
      expect(end.stderr).not.toMatch(/unexpected error|\n\s+at /);
      if (end.signal !== "SIGINT") expect([0, 130]).toContain(end.code);
    };

    for (const ms of [Math.round(random() * 1500), Math.round(random() * 1500), Math.round(random() * 1500)]) {
      it(`Ctrl-C ${ms} ms into a flash: no trace, and the board then takes a whole flash`, async () => {
        // Paced at 115200 baud (the emulator keeps serial timing), a flash takes ~2 s: the moments fall
        // into the connect, the transfer and the verify.
        const run = start(["flash", where, "--plan", plan, "--baud", "115200", "--force"]);
        await new Promise((r) => setTimeout(r, ms));
        try { process.kill(-run.proc.pid!, "SIGINT"); } catch { /* it had finished: then it must have succeeded */ }
        const end = await run.ended;
        noTrace(end);
        if (end.code === 0) expect(end.stdout).toMatch(/^flashed ESP32 /m);
        const again = await runCli(["flash", where, "--plan", plan, "--baud", "921600", "--force"]);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toMatch(/^flashed ESP32 /m);
      }, 120_000);
    }

    for (const ms of [Math.round(random() * 2000), Math.round(random() * 2000)]) {
      it(`Ctrl-C ${ms} ms after monitor starts: it ends cleanly`, async () => {
        const run = start(["monitor", where, "--json"]);
        await new Promise((r) => setTimeout(r, ms));
        process.kill(-run.proc.pid!, "SIGINT");
        const end = await run.ended;
        noTrace(end);
        if (end.signal !== "SIGINT") {
          expect(end.code).toBe(130);
          expect(end.stderr).toMatch(/^monitor: \d+ frame\(s\).* \(interrupted\)\niotfw: interrupted\n$/m);
        }
      }, 60_000);
    }

    it("Ctrl-C once frames are flowing: monitor's tally, marked interrupted, and exit 130", async () => {
      const run = start(["monitor", where, "--json"]);
      const deadline = Date.now() + 30_000;
      while (!run.output().includes('"type":') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      process.kill(-run.proc.pid!, "SIGINT");
      const end = await run.ended;
      expect(end.code, end.stderr).toBe(130);
      expect(end.stderr).toMatch(/monitor: [1-9]\d* frame\(s\).* \(interrupted\)/);
      expect(end.stderr).not.toMatch(/unexpected error|\n\s+at /);
    }, 60_000);
  });
});
