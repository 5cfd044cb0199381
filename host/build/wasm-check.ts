// Checks a compiled module against a board before it is packed for flash: Wasm features the board's
// interpreter supports (wabt, with only those features enabled), memory limits (read from the binary
// here), imports inside the HAL contract, every export the contract requires, and the Wasm partition's
// size. Throws BuildError naming the problem. May touch: nothing (reads firmware/hal/abi.json).
import { loadAbi, type Abi } from "../../tools/gen-hal.js";
import { BuildError } from "./errors.js";
import { WASM_FEATURES, wasmPartition, type Board, type WasmFeature } from "./boards.js";
import { IMAGE_HEADER_SIZE } from "./wasm-image.js";

export const PAGE_BYTES = 65536;

export interface MemoryLimits {
  initialPages: number;
  /** null when the module sets no maximum. */
  maximumPages: number | null;
  imported: boolean;
  shared: boolean;
}

export interface ModuleFacts {
  memory: MemoryLimits;
  imports: { module: string; name: string; kind: string }[];
  exports: { name: string; kind: string }[];
}

// wabt (a few MB of Wasm) loads on first use, not with the module: a reused build never needs it.
type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabtPromise: Promise<Wabt> | undefined;
const wabt = () => (wabtPromise ??= import("wabt").then((m) => m.default()));

const interpreterName = (board: Board) => `${board.name}'s ${board.interpreter.name === "wasm3" ? "Wasm3" : board.interpreter.name} ${board.interpreter.version}`;

/** Run every check; returns what the manifest records about the module. */
export async function checkModule(binary: Uint8Array, board: Board, abi: Abi = loadAbi()): Promise<ModuleFacts> {
  await checkFeatures(binary, board);
  const memory = readMemoryLimits(binary);
  checkMemory(memory, board);
  const mod = new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>);
  const imports = WebAssembly.Module.imports(mod).map((i) => ({ module: i.module, name: i.name, kind: i.kind }));
  const exports = WebAssembly.Module.exports(mod).map((e) => ({ name: e.name, kind: e.kind }));
  checkImports(imports, board, abi);
  checkExports(exports, abi);
  checkSize(binary, board);
  return { memory, imports, exports };
}

// Proposals that build on others: wabt only reads the later one with the earlier one enabled.
const IMPLIES: Partial<Record<WasmFeature, WasmFeature[]>> = {
  referenceTypes: ["bulkMemory"],
  functionReferences: ["referenceTypes", "bulkMemory"],
  gc: ["functionReferences", "referenceTypes", "bulkMemory"],
  relaxedSimd: ["simd"],
};

function wabtFlags(enabled: Iterable<WasmFeature>): Record<string, boolean> {
  const on = new Set<WasmFeature>();
  for (const f of enabled) { on.add(f); for (const g of IMPLIES[f] ?? []) on.add(g); }
  return Object.fromEntries((Object.keys(WASM_FEATURES) as WasmFeature[]).map((f) => [WASM_FEATURES[f].wabt, on.has(f)]));
}

const wabtMessage = (e: unknown) => String((e as Error).message).replace(/^(readWasm|validate) failed:\s*/, "").replace(/\s+/g, " ").trim();

/**
 * Whether wabt's binary reader accepts the module with these features: null, or its message. The
 * reader is where wabt enforces features (opcodes, value types, shared memory, segment kinds);
 * validate() type-checks with wabt's own defaults, so it is only used once the features are settled.
 */
async function reads(binary: Uint8Array, flags: Record<string, boolean>, validate = false): Promise<string | null> {
  const w = await wabt();
  let mod: ReturnType<typeof w.readWasm> | undefined;
  try {
    mod = w.readWasm(binary, { readDebugNames: false, ...flags });
    if (validate) mod.validate();
    return null;
  } catch (e) {
    return wabtMessage(e);
  } finally {
    mod?.destroy();
  }
}

/**
 * Read the module with only the board's features. When that fails, find the smallest set of
 * unsupported features that makes it readable (add them in order until it reads, then drop each one
 * it reads without) and name them.
 */
export async function checkFeatures(binary: Uint8Array, board: Board): Promise<void> {
  const all = Object.keys(WASM_FEATURES) as WasmFeature[];
  const supported = all.filter((f) => board.interpreter.features[f]);
  const error = await reads(binary, wabtFlags(supported));
  if (error === null) {
    const invalid = await reads(binary, wabtFlags(supported), true);
    if (invalid !== null) throw new BuildError("feature", `app.wasm is not a valid WebAssembly module: ${invalid}`);
    return;
  }
  const used: WasmFeature[] = [];
  const readsWith = async (extra: WasmFeature[]) => (await reads(binary, wabtFlags([...supported, ...extra]))) === null;
  for (const f of all.filter((g) => !supported.includes(g))) {
    used.push(f);
    if (await readsWith(used)) break;
  }
  if (!(await readsWith(used))) throw new BuildError("feature", `app.wasm is not a valid WebAssembly module: ${error}`);
  for (const f of [...used]) {
    const without = used.filter((g) => g !== f);
    if (await readsWith(without)) used.splice(used.indexOf(f), 1);
  }
  const what = used.map((f) => WASM_FEATURES[f].label).join(" and ");
  throw new BuildError("feature", `app.wasm uses ${what}, which ${interpreterName(board)} does not support (wabt: ${error})`);
}

export function checkMemory(m: MemoryLimits, board: Board): void {
  const max = board.memory.maxPages;
  const pages = (n: number) => `${n} page${n === 1 ? "" : "s"} (${(n * PAGE_BYTES) / 1024} KiB)`;
  if (m.initialPages > max) throw new BuildError("memory", `app.wasm asks for ${pages(m.initialPages)} of initial memory; ${board.name} allows at most ${pages(max)}`);
  if (m.maximumPages === null) throw new BuildError("memory", `app.wasm sets no maximum memory size; ${board.name} needs one of at most ${pages(max)} (asconfig.json maximumMemory)`);
  if (m.maximumPages > max) throw new BuildError("memory", `app.wasm allows its memory to grow to ${pages(m.maximumPages)}; ${board.name} allows at most ${pages(max)}`);
}

export function checkImports(imports: { module: string; name: string; kind: string }[], board: Board, abi: Abi): void {
  const allowed = new Set(abi.imports.map((f) => f.name));
  const foreign = imports.filter((i) => i.module !== abi.module || i.kind !== "function" || !allowed.has(i.name));
  if (foreign.length) {
    const names = foreign.map((i) => `"${i.module}"."${i.name}" (${i.kind})`).join(", ");
    throw new BuildError("import", `app.wasm imports ${names}, outside ${board.name}'s HAL contract (HAL ABI v${board.halAbi}: only the "${abi.module}" functions in firmware/hal/abi.json)`);
  }
}

export function checkExports(exports: { name: string; kind: string }[], abi: Abi): void {
  const have = new Map(exports.map((e) => [e.name, e.kind]));
  const missing = abi.exports.filter((e) => have.get(e.name) !== (e.kind ?? "function"));
  if (missing.length) {
    throw new BuildError("export", `app.wasm does not export ${missing.map((e) => `${e.name} (${e.kind ?? "function"})`).join(", ")}, required by the HAL contract: does the app end with \`export * from "iotfw/core/entry";\`?`);
  }
}

export function checkSize(binary: Uint8Array, board: Board): void {
  const part = wasmPartition(board);
  const imageBytes = IMAGE_HEADER_SIZE + binary.length;
  if (imageBytes > part.size) {
    throw new BuildError("size", `the Wasm partition image is ${imageBytes} bytes (module ${binary.length} + ${IMAGE_HEADER_SIZE}-byte header), over ${board.name}'s "${part.name}" partition of ${part.size} bytes (0x${part.size.toString(16)})`);
  }
}

// --- Memory limits, read straight from the binary (WebAssembly core spec, 5.5 Binary modules) ---

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const IMPORT_KIND_MEMORY = 2;

/** Limits of the module's memory (defined or imported). A module without memory reports 0/0. */
export function readMemoryLimits(binary: Uint8Array): MemoryLimits {
  let at = 8; // "\0asm" + version
  const u32 = (): number => { // unsigned LEB128
    let result = 0, shift = 0, byte: number;
    do {
      if (at >= binary.length) throw new BuildError("feature", "app.wasm is truncated");
      byte = binary[at++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const limits = (imported: boolean): MemoryLimits => {
    const flags = u32(); // bit 0: has maximum, bit 1: shared, bit 2: 64-bit indices
    const initialPages = u32();
    const maximumPages = flags & 1 ? u32() : null;
    return { initialPages, maximumPages, imported, shared: (flags & 2) !== 0 };
  };
  const name = () => { const n = u32(); at += n; };
  while (at < binary.length) {
    const id = binary[at++];
    const size = u32();
    const end = at + size;
    if (id === SECTION_MEMORY) {
      if (u32() > 0) return limits(false);
    } else if (id === SECTION_IMPORT) {
      for (let n = u32(); n > 0; n--) {
        name(); name();
        const kind = binary[at++];
        if (kind === IMPORT_KIND_MEMORY) return limits(true);
        if (kind === 0) u32();                       // function: type index
        else if (kind === 1) { at++; limits(false); } // table: reftype, limits
        else if (kind === 3) at += 2;                // global: valtype, mutability
        else if (kind === 4) { at++; u32(); }        // tag: attribute, type index
        else break;
      }
    }
    at = end;
  }
  return { initialPages: 0, maximumPages: 0, imported: false, shared: false };
}
