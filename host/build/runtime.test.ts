// `iotfw build --runtime` without ESP-IDF (these machines have none): a plain message naming what to
// install and exit 1, the app still built; and the pieces that do not need IDF: finding idf.py, the
// partitions CSV from the board, the runtime's place in the flash plan. May touch: a temporary folder.
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { loadBoard } from "./boards.js";
import type { FlashPlan } from "./build.js";
import { addRuntimeToFlashPlan, findIdf, partitionsCsv, RUNTIME_FILES } from "./runtime.js";

const dir = mkdtempSync(join(tmpdir(), "iotfw-runtime-build-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("iotfw build --runtime", () => {
  it("says plainly that ESP-IDF is missing, exits 1, and leaves the app build in place", async () => {
    ensureCliBuilt();
    if (findIdf()) return; // a machine with ESP-IDF builds for real; nothing to check here
    const out = join(dir, "out");
    const r = await runCli(["build", "--board", "esp32", "--runtime", "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ESP-IDF is not installed here, so the C runtime cannot be built/);
    expect(r.stderr).toMatch(/export\.sh/);
    expect(existsSync(join(out, "wasm-partition.bin"))).toBe(true);
    const plan = JSON.parse(readFileSync(join(out, "flash-plan.json"), "utf8")) as FlashPlan & { runtime: { appFile?: unknown } };
    expect(plan.runtime.appFile).toBeUndefined(); // nothing half-done in the plan
  }, 60_000);

  it("finds idf.py through IDF_PATH or PATH only", () => {
    expect(findIdf({ PATH: "" })).toBeNull();
    const idf = join(dir, "idf", "tools");
    mkdirSync(idf, { recursive: true });
    writeFileSync(join(idf, "idf.py"), "");
    expect(findIdf({ IDF_PATH: join(dir, "idf"), PATH: "" })).toEqual({ command: "python3", args: [join(idf, "idf.py")] });
    chmodSync(join(idf, "idf.py"), 0o755);
    expect(findIdf({ PATH: idf })).toEqual({ command: join(idf, "idf.py"), args: [] });
  });

  it("writes the board's partitions as ESP-IDF CSV and puts the runtime at the bootloader and app offsets", () => {
    const board = loadBoard("esp32");
    const csv = partitionsCsv(board).split("\n").filter((l) => l && !l.startsWith("#"));
    expect(csv).toEqual([
      "nvs, 0x1, 0x2, 0x9000, 0x6000,",
      "phy_init, 0x1, 0x1, 0xf000, 0x1000,",
      "factory, 0x0, 0x0, 0x10000, 0x1f0000,",
      "wasm, 0x40, 0x0, 0x200000, 0x40000,",
    ]);
    const plan: FlashPlan = { board: "esp32", chip: "ESP32", chipId: 0, flashSize: "4MB", files: { "0x8000": "partition-table.bin" }, runtime: { bootloader: "0x1000", app: "0x10000" } };
    const full = addRuntimeToFlashPlan(plan, board);
    expect(full.runtime).toEqual({ bootloader: "0x1000", app: "0x10000", bootloaderFile: RUNTIME_FILES.bootloader, appFile: RUNTIME_FILES.app });
    expect(full.files).toEqual(plan.files);
  });
});
