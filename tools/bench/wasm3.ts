// Device-runtime figures for `npm run bench` (issue 10): the C runtime with real Wasm3 against V8 on the
// same module and models in the same run, the fleet it keeps at real time, and on the ESP32-C3's ISA
// (rv32imc at -Os under QEMU): code size, RAM, instructions per device-second and at boot. Called by
// tools/bench/index.ts. May touch: temporary folders, build/runtime-sim/, the rv32 build folder.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp, type BuildResult } from "../../host/build/build.js";
import { loadBoard } from "../../host/build/boards.js";
import { REPO_ROOT } from "../../host/repo-root.js";
import { Fleet } from "../../simulator/fleet/fleet.js";
import type { Engine } from "../../simulator/fleet/shard-host.js";
import { createDeviceFactory, type HardwarePart } from "../../simulator/fleet/wiring.js";
import { Op } from "../../simulator/wasm3/protocol.js";
import { Wasm3Shard } from "../../simulator/wasm3/wasm3-shard.js";
import { buildRv32, defaultRv32BuildDir, findRv32Toolchain, runRv32 } from "../../firmware/runtime/tests/rv32.js";
import type { BenchResult } from "./result.js";

const CORE_HZ = 160e6; // ESP32-C3 CPU clock (ESP32-C3 datasheet v1.4, section 1: "up to 160 MHz")

async function app(board: string): Promise<BuildResult> {
  return buildApp({ board: loadBoard(board, { cwd: REPO_ROOT }), outDir: mkdtempSync(join(tmpdir(), "iotfw-bench-w3-")), cwd: REPO_ROOT });
}

const wiringOf = (built: BuildResult) => ({ hardware: built.manifest.app.hardware as HardwarePart[], seed: 1, adcBits: 12 });

/** Wall time of a fleet run of env-station under one engine: microseconds per device-second. */
async function usPerDeviceSecond(built: BuildResult, engine: Engine, devices: number, durationMs: number, inProcess: boolean): Promise<number> {
  const fleet = await Fleet.start({
    binary: built.binary, appHash: Buffer.from(built.manifest.sha256, "hex"), board: "esp32", devices, inProcess,
    workers: inProcess ? 1 : 0, wiring: wiringOf(built), engine,
  });
  const started = performance.now();
  try {
    for (let t = 10_000; t <= durationMs; t += 10_000) await fleet.runUntil(t);
  } finally {
    await fleet.close();
  }
  return ((performance.now() - started) * 1000) / (devices * durationMs / 1000);
}

interface Message { op: number; bytes: Buffer }
function messages(stream: Buffer): Message[] {
  const out: Message[] = [];
  for (let at = 0; at + 5 <= stream.length;) {
    const len = stream.readUInt32LE(at + 1);
    out.push({ op: stream[at], bytes: stream.subarray(at, at + 5 + len) });
    at += 5 + len;
  }
  return out;
}

/** One env-station device under the x86-64 sim port for durationMs, both directions recorded. The module
 *  is app.wasm as flashed (no fuel counter: the runtime's time budget is its watchdog, as on a board). */
async function recordOne(built: BuildResult, durationMs: number) {
  const shard = await Wasm3Shard.create({
    board: "esp32c3", appHash: Buffer.from(built.manifest.sha256, "hex"), binary: built.binary,
    deviceIds: [1], fuelPerCall: 0, budgetMs: 1000, record: true, factory: createDeviceFactory(wiringOf(built)), bootSalt: 1,
  });
  const started = performance.now();
  shard.boot(0);
  shard.runUntil(1); // boot: parse, compile, init (the HELLO), the first tick
  const bootMs = performance.now() - started;
  for (let t = 10_000; t <= durationMs; t += 10_000) shard.runUntil(t);
  shard.close();
  const rec = shard.runtime.recorded!;
  return { input: Buffer.concat(rec.toRuntime), output: Buffer.concat(rec.fromRuntime), bootMs, moduleBytes: built.binary.length };
}

/** The recorded input cut right after the HAL replies that came before the first frame (the HELLO):
 *  replayed, the runtime runs from reset to its HELLO and stops at the end of its input. */
function untilHello(input: Buffer, output: Buffer): Buffer {
  const out = messages(output);
  const halsBeforeHello = out.slice(0, out.findIndex((m) => m.op === Op.FRAME)).filter((m) => m.op === Op.HAL).length;
  const kept: Buffer[] = [];
  let replies = 0;
  for (const m of messages(input)) {
    if (m.op === Op.HAL_REPLY && ++replies > halsBeforeHello) break;
    kept.push(m.bytes);
  }
  return Buffer.concat(kept);
}

export async function benchWasm3(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const esp32 = await app("esp32");
  // Same module, models and seed, one core each, same run.
  const devices = 200, durationMs = 600_000;
  const v8 = await usPerDeviceSecond(esp32, "v8", devices, durationMs, true);
  const w3 = await usPerDeviceSecond(esp32, "wasm3", devices, durationMs, true);
  results.push({ name: "Wasm3 (C runtime) vs V8, env-station, one core (us per device-second)", value: w3, unit: "us", baseline: v8, ratio: w3 / v8,
    note: `${devices} devices x 10 min; Wasm3's figure includes every HAL call's round trip to the simulator's models` });
  const all = await usPerDeviceSecond(esp32, "wasm3", 2000, 120_000, false);
  results.push({ name: "fleet under --engine wasm3, all cores: devices kept at real time (1 Hz env-station)", value: 1e6 / all, unit: "devices",
    note: "device-seconds per wall second, 2,000 devices x 2 min, one runtime process per shard" });

  const tc = findRv32Toolchain();
  if (!tc.ok) {
    results.push({ name: "rv32 figures", value: NaN, unit: "", note: `not measured: ${tc.why}` });
    return results;
  }
  const rv = buildRv32(defaultRv32BuildDir());
  const s = rv.size;
  results.push({ name: "rv32imc -Os text: Wasm3 + runtime core + engine + sim port", value: (s.wasm3.text + s.runtime.text) / 1024, unit: "KiB",
    note: `target <= 160 KiB; Wasm3 ${(s.wasm3.text / 1024).toFixed(1)} KiB, iotfw ${(s.runtime.text / 1024).toFixed(1)} KiB; data ${s.wasm3.data + s.runtime.data} B, bss ${s.wasm3.bss + s.runtime.bss} B (8 KiB of it the QEMU target's stream buffers); whole ELF with picolibc ${(s.text / 1024).toFixed(1)} KiB` });

  const c3 = await app("esp32c3");
  const rec = await recordOne(c3, durationMs);
  const full = runRv32(rv.elf, rec.input, { timeoutMs: 300_000 });
  if (!full.output.equals(rec.output)) throw new Error("rv32 replay differs from the x86-64 run");
  const boot = runRv32(rv.elf, untilHello(rec.input, rec.output), { timeoutMs: 120_000 });
  // RAM of one device: Wasm3's heap (runtime, parsed and compiled module, the 64 KiB page, the value
  // stack) less the sim port's copy of the module (a device maps it from flash), plus the native stack.
  const ramKiB = (full.stats.heapPeak - rec.moduleBytes + full.stats.stackHighWater) / 1024;
  results.push({ name: "RAM env-station needs on rv32 (heap peak + native stack high-water)", value: ramKiB, unit: "KiB",
    note: `target <= 128 KiB; heap peak ${full.stats.heapPeak} B less the ${rec.moduleBytes} B module copy, stack ${full.stats.stackHighWater} B` });
  const perSecond = (full.stats.instret - boot.stats.instret) / (durationMs / 1000);
  results.push({ name: "instructions per device-second, env-station on rv32 (QEMU instret)", value: perSecond, unit: "instr",
    note: `after boot, 10 min; includes the sim port encoding each HAL call where a board would drive its bus` });
  results.push({ name: "CPU load of env-station on a 160 MHz ESP32-C3 (1 instruction per cycle)", value: (perSecond / CORE_HZ) * 100, unit: "%", note: "target <= 1 %" });
  results.push({ name: "boot to first HELLO under Wasm3 on rv32 (parse + compile + init)", value: boot.stats.instret, unit: "instr",
    note: `${((boot.stats.instret / CORE_HZ) * 1000).toFixed(1)} ms at 160 MHz; x86-64 host: ${rec.bootMs.toFixed(1)} ms wall, HAL round trips included` });
  return results;
}
