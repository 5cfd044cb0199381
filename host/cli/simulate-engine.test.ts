// `iotfw simulate --engine wasm3` as a user runs it: the device's C runtime and Wasm3 in shard processes
// write the same NDJSON as the default V8 engine for the same seed, and a wrong engine name is a clear
// error. Needs cmake, a C compiler and Wasm3 (see simulator/wasm3/runtime-build.ts); skips without them
// except under CI. May touch: temporary files, build/runtime-sim/.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSimRuntime } from "../../simulator/wasm3/runtime-build.js";
import { ensureCliBuilt, runCli } from "./testing.js";

let unavailable: string | undefined;

describe("iotfw simulate --engine", () => {
  beforeAll(() => {
    ensureCliBuilt();
    try { buildSimRuntime(); } catch (e) {
      if (process.env.CI) throw e; // CI has cmake and the Wasm3 copy: never skip there
      unavailable = (e as Error).message.split("\n")[0];
    }
  }, 300_000);

  it("wasm3 writes the same frames as v8, over two shard processes", async (ctx) => {
    if (unavailable) { console.warn(`skipped: ${unavailable}`); ctx.skip(); }
    const dir = mkdtempSync(join(tmpdir(), "iotfw-engine-"));
    const args = (engine: string) => ["simulate", "--sensors", "6", "--duration", "3m", "--speed", "max", "--seed", "9", "--boot-id-seed", "9",
      "--workers", "2", "--engine", engine, "--out", join(dir, `${engine}.ndjson`)];
    const v8 = await runCli(args("v8"));
    const wasm3 = await runCli(args("wasm3"));
    expect(v8.code, v8.stderr).toBe(0);
    expect(wasm3.code, wasm3.stderr).toBe(0);
    expect(wasm3.stdout).toMatch(/2 processes, engine wasm3\)/);
    const a = readFileSync(join(dir, "v8.ndjson"), "utf8"), b = readFileSync(join(dir, "wasm3.ndjson"), "utf8");
    expect(a.split("\n").length).toBeGreaterThan(6 * 3); // hellos, statuses, summaries of 6 devices
    expect(b).toBe(a);
  }, 180_000);

  it("refuses an engine it does not have, naming the choices", async () => {
    const r = await runCli(["simulate", "--sensors", "1", "--duration", "1s", "--engine", "wasmtime"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--engine takes v8 or wasm3, not "wasmtime"/);
  });
});
