// `iotfw build` end to end, run as a user runs it (node bin/iotfw.js): every output file and manifest
// field for the default app, the reuse of an unchanged build, and each rejection with its message and
// exit code 1.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAbi } from "../../tools/gen-hal.js";
import { BOARDS_DIR } from "../build/boards.js";
import { parsePartitionTable } from "../build/parse-partition-table.js";
import { parseWasmImage } from "../build/wasm-image.js";
import { ensureCliBuilt, runCli } from "./testing.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-build-"));
const FIXTURES = "firmware/apps/_fixtures";

beforeAll(() => ensureCliBuilt(), 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("iotfw build (default app, esp32)", () => {
  const out = join(tmp, "esp32");
  let run: Awaited<ReturnType<typeof runCli>>;
  beforeAll(async () => { run = await runCli(["build", "--board", "esp32", "--out", out]); }, 120_000);
  const read = (f: string) => readFileSync(join(out, f));
  const json = (f: string) => JSON.parse(read(f).toString("utf8"));

  it("exits 0 and says where the files go", () => {
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/built env-station .* for esp32/);
    expect(run.stdout).toContain("0x200000");
    expect(run.stderr).toMatch(/^compiling env-station \S+ for esp32\.\.\.$/m); // said while the compiler works
  });

  it("an unchanged build is reused without compiling; --force compiles again", async () => {
    const wasm = read("app.wasm");
    const again = await runCli(["build", "--board", "esp32", "--out", out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^up to date env-station .* for esp32/);
    expect(again.stderr).not.toMatch(/compiling/);
    const forced = await runCli(["build", "--board", "esp32", "--out", out, "--force"]);
    expect(forced.stdout).toMatch(/^built env-station/);
    expect(forced.stderr).toMatch(/compiling/);
    expect(read("app.wasm").equals(wasm)).toBe(true); // the same inputs, the same module
  }, 120_000);

  it("writes app.wasm that instantiates-compiles and matches the manifest", () => {
    const wasm = read("app.wasm");
    const m = json("manifest.json");
    expect(WebAssembly.validate(wasm)).toBe(true);
    expect(m.board).toBe("esp32");
    expect(m.app.name).toBe("env-station");
    expect(typeof m.app.version).toBe("string");
    expect(m.sha256).toBe(createHash("sha256").update(wasm).digest("hex"));
    expect(m.sizeBytes).toBe(wasm.length);
    expect(m.memory).toEqual({ initialPages: 1, maximumPages: 1 });
    expect(m.halAbi).toBe(loadAbi().version);
    expect(m.interpreter).toEqual({ name: "wasm3", version: "0.5.0" });
    const mod = new WebAssembly.Module(wasm);
    expect(m.imports).toEqual(WebAssembly.Module.imports(mod).map((i) => ({ module: i.module, name: i.name, kind: i.kind })));
    for (const i of m.imports) expect(i.module).toBe("iotfw");
    expect(m.exports.map((e: { name: string }) => e.name).sort()).toEqual(expect.arrayContaining(loadAbi().exports.map((e) => e.name).sort()));
    expect(m.files).toEqual({ wasm: "app.wasm", manifest: "manifest.json", image: "wasm-partition.bin", partitionTable: "partition-table.bin", flashPlan: "flash-plan.json" });
  });

  it("writes the Wasm partition image: IOTW header with length and SHA-256, then the module", () => {
    const wasm = read("app.wasm");
    const image = read("wasm-partition.bin");
    expect(image.length).toBe(64 + wasm.length);
    const parsed = parseWasmImage(image);
    expect(parsed.halAbi).toBe(loadAbi().version);
    expect(parsed.moduleLength).toBe(wasm.length);
    expect(Buffer.from(parsed.sha256).toString("hex")).toBe(json("manifest.json").sha256);
    expect(Buffer.from(parsed.module).equals(wasm)).toBe(true);
    expect(json("manifest.json").wasmPartition).toEqual({ name: "wasm", offset: "0x200000", size: "0x40000", imageBytes: image.length });
  });

  it("writes the board's partition table and a flash plan pointing at both files", () => {
    const table = read("partition-table.bin");
    expect(table.length).toBe(0xc00);
    const parsed = parsePartitionTable(table, { requireMd5: true });
    expect(parsed.entries.map((p) => [p.name, p.offset])).toEqual([["nvs", 0x9000], ["phy_init", 0xf000], ["factory", 0x10000], ["wasm", 0x200000]]);
    const plan = json("flash-plan.json");
    expect(plan).toMatchObject({ board: "esp32", chip: "ESP32", chipId: 0, flashSize: "4MB" });
    expect(plan.files).toEqual({ "0x8000": "partition-table.bin", "0x200000": "wasm-partition.bin" });
    expect(plan.runtime).toEqual({ bootloader: "0x1000", app: "0x10000" });
  });

  it("builds the same module for every board, with that board's bootloader offset", async () => {
    const c3 = join(tmp, "c3");
    const r = await runCli(["build", "--board", "esp32c3", "--out", c3]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(c3, "flash-plan.json"), "utf8")).runtime.bootloader).toBe("0x0");
    expect(readFileSync(join(c3, "app.wasm")).equals(read("app.wasm"))).toBe(true); // reproducible
  });
});

describe("iotfw build rejections (exit 1, message names the problem)", () => {
  // A board whose Wasm partition (4 KiB) is smaller than the default app's image.
  const tinyBoard = join(tmp, "tiny-wasm.json");
  beforeAll(() => {
    const b = JSON.parse(readFileSync(join(BOARDS_DIR, "esp32.json"), "utf8"));
    b.name = "esp32-tiny";
    b.partitions.find((p: { name: string }) => p.name === "wasm").size = "0x1000";
    writeFileSync(tinyBoard, JSON.stringify(b));
  });

  const cases: [string, () => string[], RegExp][] = [
    ["an unknown board, listing the known ones", () => ["--board", "esp8266"], /^iotfw: unknown board "esp8266"; known boards: esp32, esp32c3, esp32s3$/m],
    ["compile errors as file:line:column", () => ["--board", "esp32", "--app", `${FIXTURES}/compile-error`],
      /^firmware\/apps\/_fixtures\/compile-error\/index\.ts:5:22: error TS2304: Cannot find name 'undefinedSensorValue'\.$/m],
    ["an import outside the contract, by name", () => ["--board", "esp32", "--app", `${FIXTURES}/foreign-import`], /imports "env"\."foo" \(function\), outside esp32's HAL contract/],
    ["SIMD", () => ["--board", "esp32", "--app", `${FIXTURES}/simd`], /uses SIMD \(v128\), which esp32's Wasm3 0\.5\.0 does not support/],
    ["bulk memory (only partly in the pinned Wasm3)", () => ["--board", "esp32s3", "--app", `${FIXTURES}/bulk-memory`], /uses bulk memory operations, which esp32s3's Wasm3 0\.5\.0 does not support/],
    ["memory over the limit", () => ["--board", "esp32", "--app", `${FIXTURES}/big-memory`], /asks for 2 pages \(128 KiB\) of initial memory; esp32 allows at most 1 page \(64 KiB\)/],
    ["a missing maximum memory", () => ["--board", "esp32c3", "--app", `${FIXTURES}/no-max-memory`], /sets no maximum memory size/],
    ["missing contract exports", () => ["--board", "esp32", "--app", `${FIXTURES}/missing-exports`], /does not export abi_version \(function\), init \(function\)/],
    ["a module over the partition size", () => ["--board", tinyBoard], /the Wasm partition image is \d+ bytes .* over esp32-tiny's "wasm" partition of 4096 bytes/],
  ];

  it.concurrent.each(cases)("rejects %s", async (_what, args, message) => {
    const out = mkdtempSync(join(tmp, "rej-"));
    const r = await runCli(["build", ...args(), "--out", out]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/unexpected error|    at /); // no stack trace
    expect(r.code).toBe(1);
    expect(() => readFileSync(join(out, "app.wasm"))).toThrow(); // nothing written
  });

  it("rejects an app folder that does not exist", async () => {
    const r = await runCli(["build", "--board", "esp32", "--app", "no/such/app", "--out", join(tmp, "none")]);
    expect(r.stderr).toMatch(/^iotfw: app folder no\/such\/app not found$/m);
    expect(r.code).toBe(1);
  });
});
