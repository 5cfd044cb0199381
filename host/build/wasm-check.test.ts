// Module checks against a board, on small hand-written modules (wabt assembles them): feature
// detection names the feature, memory limits come from the binary, imports and exports follow the HAL
// contract, and the image must fit the Wasm partition.
import wabtInit from "wabt";
import { describe, expect, it } from "vitest";
import { loadAbi } from "../../tools/gen-hal.js";
import { loadBoard } from "./boards.js";
import { BuildError } from "./errors.js";
import { checkExports, checkFeatures, checkImports, checkMemory, checkSize, readMemoryLimits } from "./wasm-check.js";

const wabt = await wabtInit();
const ALL = { simd: true, threads: true, bulk_memory: true, reference_types: true, multi_value: true, tail_call: true };
const wasm = (wat: string) => wabt.parseWat("t.wat", wat, ALL).toBinary({}).buffer;
const board = loadBoard("esp32");
const kindOf = async (p: Promise<unknown> | (() => unknown)) => {
  try { await (typeof p === "function" ? p() : p); return null; } catch (e) { return e instanceof BuildError ? `${e.kind}: ${e.message}` : String(e); }
};

describe("feature check", () => {
  it("accepts MVP code with multi-value and sign extension", async () => {
    expect(await kindOf(checkFeatures(wasm(`(module (memory 1 1) (func (result i32 i32) (i32.extend8_s (i32.const 1)) (i32.const 2)))`), board))).toBeNull();
  });

  const cases: [string, string, RegExp][] = [
    ["SIMD", `(module (memory 1 1) (func (result i32) (i32x4.extract_lane 0 (v128.load (i32.const 0)))))`, /uses SIMD \(v128\), which esp32's Wasm3 0\.5\.0 does not support/],
    ["threads", `(module (memory 1 1 shared) (func (result i32) (i32.atomic.load (i32.const 0))))`, /uses threads/],
    ["reference types", `(module (table 1 externref) (func (param externref) (table.set 0 (i32.const 0) (local.get 0))))`, /uses reference types/],
    ["bulk memory", `(module (memory 1 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))))`, /uses bulk memory operations/],
    ["tail calls", `(module (func $f (return_call $f)))`, /uses tail calls/],
  ];
  it.each(cases)("names %s", async (_name, wat, message) => {
    const result = await kindOf(checkFeatures(wasm(wat), board));
    expect(result).toMatch(/^feature: /);
    expect(result).toMatch(message);
  });

  it("names every unsupported feature a module uses", async () => {
    const both = wasm(`(module (memory 1 1) (func (result i32) (i32x4.extract_lane 0 (v128.load (i32.const 0))))
      (func (memory.copy (i32.const 0) (i32.const 0) (i32.const 4))))`);
    expect(await kindOf(checkFeatures(both, board))).toMatch(/uses bulk memory operations and SIMD \(v128\)/);
  });

  it("reports a module that is invalid whatever the features", async () => {
    expect(await kindOf(checkFeatures(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5]), board))).toMatch(/not a valid WebAssembly module/);
  });
});

describe("memory limits", () => {
  it("reads defined and imported memories", () => {
    expect(readMemoryLimits(wasm(`(module (memory 1 2))`))).toEqual({ initialPages: 1, maximumPages: 2, imported: false, shared: false });
    expect(readMemoryLimits(wasm(`(module (memory 3))`))).toEqual({ initialPages: 3, maximumPages: null, imported: false, shared: false });
    expect(readMemoryLimits(wasm(`(module (import "iotfw" "time_ms" (func (result i32))) (import "env" "memory" (memory 1 1)))`)))
      .toEqual({ initialPages: 1, maximumPages: 1, imported: true, shared: false });
    expect(readMemoryLimits(wasm(`(module (import "env" "t" (table 2 funcref)) (import "env" "g" (global i32)) (memory 1 1 shared))`)))
      .toEqual({ initialPages: 1, maximumPages: 1, imported: false, shared: true });
    // 200 needs a two-byte LEB128
    expect(readMemoryLimits(wasm(`(module (memory 200 300))`))).toMatchObject({ initialPages: 200, maximumPages: 300 });
  });

  it("rejects initial or maximum above the board and a missing maximum", async () => {
    expect(await kindOf(() => checkMemory({ initialPages: 1, maximumPages: 1, imported: false, shared: false }, board))).toBeNull();
    expect(await kindOf(() => checkMemory({ initialPages: 2, maximumPages: 2, imported: false, shared: false }, board))).toMatch(/^memory: .*2 pages \(128 KiB\) of initial memory; esp32 allows at most 1 page \(64 KiB\)/);
    expect(await kindOf(() => checkMemory({ initialPages: 1, maximumPages: 4, imported: false, shared: false }, board))).toMatch(/grow to 4 pages/);
    expect(await kindOf(() => checkMemory({ initialPages: 1, maximumPages: null, imported: false, shared: false }, board))).toMatch(/no maximum/);
  });
});

describe("contract and size", () => {
  const abi = loadAbi();
  it("rejects imports outside the HAL contract by name", async () => {
    expect(await kindOf(() => checkImports([{ module: "iotfw", name: "time_ms", kind: "function" }], board, abi))).toBeNull();
    expect(await kindOf(() => checkImports([{ module: "env", name: "abort", kind: "function" }, { module: "iotfw", name: "teleport", kind: "function" }], board, abi)))
      .toMatch(/^import: app\.wasm imports "env"\."abort" \(function\), "iotfw"\."teleport" \(function\), outside esp32's HAL contract/);
  });

  it("requires every export the contract lists", async () => {
    const all = abi.exports.map((e) => ({ name: e.name, kind: e.kind ?? "function" }));
    expect(await kindOf(() => checkExports(all, abi))).toBeNull();
    expect(await kindOf(() => checkExports(all.filter((e) => e.name !== "tick"), abi))).toMatch(/^export: app\.wasm does not export tick \(function\)/);
  });

  it("requires the image (module + 64-byte header) to fit the Wasm partition", async () => {
    const size = 0x40000;
    expect(await kindOf(() => checkSize(new Uint8Array(size - 64), board))).toBeNull();
    expect(await kindOf(() => checkSize(new Uint8Array(size - 63), board))).toMatch(/^size: the Wasm partition image is 262145 bytes/);
  });
});
