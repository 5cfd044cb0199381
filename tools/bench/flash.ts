// Benchmark of `iotfw flash` against Espressif's esptool v5.3.1, each run as a user runs it (a child
// process: `node bin/iotfw.js flash ...` and `python3 -m esptool ... write-flash ...`, start-up included),
// one after the other in the same run, each onto a fresh virtual ESP32 (simulator/esp32) behind a TCP port
// (socket://, as `iotfw emulate --listen` serves it), paced at the baud rate and with the flash chip's
// erase and program times (simulator/esp32/flash-timing.ts, a W25Q32JV's typical values). Cases: 1 MiB of
// random bytes (incompressible: the link dominates) at 115200 and at 921600 baud, and the real app plan
// (`iotfw build --board esp32`: the partition table and the Wasm partition image) at 921600. Figures: wall
// seconds, esptool's as the baseline, ratio iotfw / esptool (target <= 1.0). Plus the unchanged-plan
// reflash: the same plan flashed again onto the same chip, seconds after the connect (target <= 0.5 s).
// And the app plan over rfc2217:// (the emulator's RFC 2217 server, simulator/esp32/rfc2217-server.ts),
// onto a chip running its app, both tools with their default resets by the DTR/RTS lines (esptool
// --before default-reset --after hard-reset; iotfw's classic reset and hard reset): the real sequences.
// Both tools get the same work: esptool is told the chip (--chip esp32; iotfw detects it), both compress,
// both verify by MD5; iotfw also resets into the app in-band, esptool runs with --after no-reset (a socket
// has no lines to reset with), so the comparison leans against iotfw. Without esptool v5.3.1 at
// ../shared/third_party/esptool-v5.3.1 (or its Python packages) the bench says so and gives iotfw's times
// alone. Touches: a temp folder (plans, flash files), child processes it starts and waits for.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../../host/build/build.js";
import { loadBoard } from "../../host/build/boards.js";
import { flashDevice } from "../../host/flash/flasher.js";
import { REPO_ROOT } from "../../host/repo-root.js";
import { Esp32Emulator } from "../../simulator/esp32/emulator.js";
import { ESPTOOL_ENV, PYTHON, esptoolMissing } from "../../simulator/esp32/esptool-harness.js";
import { serveRfc2217 } from "../../simulator/esp32/rfc2217-server.js";
import { Random } from "../../simulator/random.js";
import type { BenchResult } from "./result.js";

const CLI = join(REPO_ROOT, "bin", "iotfw.js");
const RANDOM_BYTES = 1024 * 1024;
const RANDOM_ADDRESS = 0x10000; // the esp32 board's factory app partition (0x1F0000 bytes)

/** A fresh paced virtual ESP32 (flash timing on) behind 127.0.0.1:<port>: socket://, or rfc2217:// with
 *  the chip running its app (so only the reset lines bring it to the ROM). */
async function chip(flashFile: string, link: "socket" | "rfc2217" = "socket") {
  const emu = new Esp32Emulator({ board: loadBoard("esp32"), flashFile, pace: true, hardware: [] });
  const server: Server = createServer((socket) => {
    if (link === "rfc2217") { serveRfc2217(emu, socket); return; }
    socket.setNoDelay(true);
    emu.attach(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  if (link === "rfc2217") await emu.bootApp();
  const url = `${link}://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { emu, url, async close() { await new Promise<void>((r) => server.close(() => r())); await emu.close(); } };
}

/** Run a command to its end; wall seconds from spawn to exit. Fails with its output if it fails. */
function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}

interface Case { name: string; plan: string; baud: number; files: Array<{ address: number; path: string }>; link?: "socket" | "rfc2217" }

/** One tool onto a fresh chip; checks the flash holds every file afterwards. */
async function flashWith(tool: "iotfw" | "esptool", c: Case, dir: string): Promise<number> {
  const rig = await chip(join(dir, `${tool}-${c.baud}-${c.files.length}-${c.link ?? "socket"}.bin`), c.link);
  const resets = c.link === "rfc2217" ? [] : ["--before", "no-reset", "--after", "no-reset"];
  try {
    const seconds = tool === "iotfw"
      ? await timed(process.execPath, [CLI, "flash", rig.url, "--plan", c.plan, "--baud", String(c.baud)])
      : await timed(PYTHON, ["-m", "esptool", "--chip", "esp32", "--port", rig.url, ...resets, "--baud", String(c.baud),
          "write-flash", ...c.files.flatMap((f) => [`0x${f.address.toString(16)}`, f.path])], ESPTOOL_ENV);
    for (const f of c.files) {
      const want = readFileSync(f.path);
      if (!Buffer.from(rig.emu.flash.read(f.address, want.length)).equals(want)) throw new Error(`bench: after ${tool}, the flash does not hold ${f.path}`);
    }
    return seconds;
  } finally { await rig.close(); }
}

/** The unchanged-plan reflash: flash the plan, then again onto the same chip; seconds after the connect. */
async function reflash(plan: string, dir: string): Promise<{ afterConnect: number; connect: number; compare: number }> {
  const rig = await chip(join(dir, "reflash.bin"));
  try {
    await flashDevice({ port: rig.url, planDir: plan, baud: 921600 });
    const r = await flashDevice({ port: rig.url, planDir: plan, baud: 921600 });
    if (r.written.length || !r.unchanged.length) throw new Error(`bench: the second flash wrote ${r.written.map((w) => w.file).join(", ")}`);
    return { afterConnect: r.timings.total - r.timings.connect, connect: r.timings.connect, compare: r.timings.compare };
  } finally { await rig.close(); }
}

export async function benchFlash(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "iotfw-bench-flash-"));
  const results: BenchResult[] = [];
  try {
    // 1 MiB from a seeded PRNG: random, so deflate cannot shrink it.
    const rng = new Random(7);
    const random = Uint8Array.from({ length: RANDOM_BYTES }, () => rng.int(0, 255));
    const randomPlan = join(dir, "random");
    mkdirSync(randomPlan);
    writeFileSync(join(randomPlan, "image.bin"), random);
    writeFileSync(join(randomPlan, "flash-plan.json"), JSON.stringify({ board: "esp32", chip: "ESP32", chipId: 0, flashSize: "4MB", files: { [`0x${RANDOM_ADDRESS.toString(16)}`]: "image.bin" }, runtime: {} }));
    const appPlan = join(dir, "app");
    await buildApp({ board: "esp32", outDir: appPlan });
    const planFiles = JSON.parse(readFileSync(join(appPlan, "flash-plan.json"), "utf8")).files as Record<string, string>;
    const appBytes = Object.values(planFiles).reduce((n, f) => n + readFileSync(join(appPlan, f)).length, 0);
    const cases: Case[] = [
      ...[115200, 921600].map((baud) => ({ name: `flash 1 MiB random at ${baud} baud`, plan: randomPlan, baud, files: [{ address: RANDOM_ADDRESS, path: join(randomPlan, "image.bin") }] })),
      { name: `flash the env-station app plan (${(appBytes / 1024).toFixed(1)} KiB) at 921600 baud`, plan: appPlan, baud: 921600,
        files: Object.entries(planFiles).map(([a, f]) => ({ address: Number(a), path: join(appPlan, f) })) },
      { name: `flash the env-station app plan at 921600 baud over rfc2217://, reset by the lines`, plan: appPlan, baud: 921600, link: "rfc2217",
        files: Object.entries(planFiles).map(([a, f]) => ({ address: Number(a), path: join(appPlan, f) })) },
    ];
    const missing = esptoolMissing();
    for (const c of cases) {
      const iotfw = await flashWith("iotfw", c, dir);
      if (missing) {
        results.push({ name: `${c.name}, iotfw flash`, value: +iotfw.toFixed(2), unit: "s", note: `no esptool comparison: ${missing}` });
        continue;
      }
      const esptool = await flashWith("esptool", c, dir);
      results.push({ name: `${c.name}, iotfw flash vs esptool v5.3.1`, value: +iotfw.toFixed(2), unit: "s", baseline: +esptool.toFixed(2), ratio: +(iotfw / esptool).toFixed(3),
        note: "wall time, process start to exit, same paced virtual ESP32 with flash timing; target ratio <= 1.0" });
    }
    const again = await reflash(appPlan, dir);
    results.push({ name: "reflash of an unchanged app plan, after connect", value: +again.afterConnect.toFixed(3), unit: "s",
      note: `every region's MD5 matched (compare ${(again.compare * 1000).toFixed(0)} ms), nothing erased or written, then the reset; connect ${again.connect.toFixed(2)} s before it; target <= 0.5 s` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
