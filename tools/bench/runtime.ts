// Runtime benchmarks (issue 7): deploy round trip to a simulated device on loopback (send, check,
// instrument, restart) and the host run of the C core's unit tests (gcc build + run). Called by
// tools/bench/index.ts. May touch: a temporary folder, one loopback port.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wabtInit from "wabt";
import { REPO_ROOT } from "../../host/repo-root.js";
import { encodeWasmImage } from "../../host/build/wasm-image.js";
import { deployImage } from "../../host/deploy/client.js";
import { SimulatedRuntime, startDeployServer } from "../../simulator/device/deploy-server.js";
import { HAL_VERSION } from "../../simulator/hal/abi.generated.js";
import { compileCoreTests, writeFixtures } from "../../firmware/runtime/tests/c-harness.js";

export async function benchRuntime(): Promise<Array<{ name: string; value: number; unit: string; note?: string }>> {
  const wabt = await wabtInit();
  const wat = wabt.parseWat("ticker.wat", readFileSync(join(REPO_ROOT, "simulator/fleet/testdata/ticker.wat"), "utf8"), {});
  const module = new Uint8Array(wat.toBinary({}).buffer);
  wat.destroy();
  const image = encodeWasmImage(module, HAL_VERSION);
  const runtime = new SimulatedRuntime({ id: 1, board: "esp32", wiring: { i2c: new Map([[0, []]]), pins: new Map(), adcBits: 12 }, onFrame: () => {} });
  const { createHash } = await import("node:crypto");
  runtime.install(await runtime.prepare(module), createHash("sha256").update(module).digest());
  const server = await startDeployServer({ runtime });
  const times: number[] = [];
  try {
    for (let i = 0; i < 20; i++) times.push((await deployImage({ host: "127.0.0.1", port: server.port }, image)).ms);
  } finally {
    runtime.stop();
    await server.close();
  }
  times.sort((a, b) => a - b);
  const dir = mkdtempSync(join(tmpdir(), "iotfw-bench-runtime-"));
  try {
    await writeFixtures(dir);
    let t = performance.now();
    const exe = compileCoreTests(dir);
    const compileMs = performance.now() - t;
    t = performance.now();
    execFileSync(exe, [dir]);
    const runMs = performance.now() - t;
    return [
      { name: "deploy round trip, simulated device (median of 20)", value: Math.round(times[10] * 10) / 10, unit: "ms", note: `${image.length}-byte image over loopback, incl. fuel instrumentation and restart` },
      { name: "C core + tests: gcc build", value: Math.round(compileMs), unit: "ms" },
      { name: "C core tests: run", value: Math.round(runMs), unit: "ms" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
