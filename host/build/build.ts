// `iotfw build` as a library: compile an app, check the module against a board, and write what
// flashing and simulating need: app.wasm, manifest.json, the Wasm partition image, the partition table
// and flash-plan.json. The CLI (host/cli/commands/build.ts), simulate and tests call buildApp.
// May touch: reads the app, boards/ and firmware/; writes into the out folder, and refreshes the app's
// .iotfw/hardware.ts (the editor's copy of the generated "./hardware", host/build/init.ts) when it has one.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadAbi } from "../../tools/gen-hal.js";
import { APP_ENTRY, boardFor, loadApp, resolveAppDir, type AppJson } from "./app.js";
import { loadBoard, wasmPartition, type Board } from "./boards.js";
import { ascVersion, compileAssemblyScript } from "./compile.js";
import { BuildError } from "./errors.js";
import { encodePartitionTable, TYPE_APP } from "./partition-table.js";
import { checkModule } from "./wasm-check.js";
import { encodeWasmImage } from "./wasm-image.js";
import { buildFingerprint } from "./fingerprint.js";
import { HARDWARE_MODULE, hardwareModule } from "./hardware-module.js";

/** File names inside the out folder. */
export const OUTPUT_FILES = {
  wasm: "app.wasm",
  manifest: "manifest.json",
  image: "wasm-partition.bin",
  partitionTable: "partition-table.bin",
  flashPlan: "flash-plan.json",
} as const;

export const MANIFEST_VERSION = 1;

export interface BuildOptions {
  /** Board name ("esp32"), path of a board JSON file, or a loaded board; default: the app's app.json
   *  "board", else esp32. */
  board?: string | Board;
  /** App folder as the user gave it (relative to cwd); default: the app in cwd, else the example
   *  (host/build/app.ts resolveAppDir). */
  appDir?: string;
  /** Out folder (relative to cwd); default build/<board>. */
  outDir?: string;
  cwd?: string;
  target?: "release" | "debug";
  /** Return the build already in the out folder when its inputs are unchanged (simulate does). */
  reuse?: boolean;
  /** Called when the compiler is about to run (it takes seconds; a reused build never calls it). */
  onCompile?(what: { app: string; board: string }): void;
}

export interface Manifest {
  manifestVersion: number;
  board: string;
  chip: string;
  app: AppJson;
  halAbi: number;
  interpreter: { name: string; version: string };
  sha256: string;
  sizeBytes: number;
  memory: { initialPages: number; maximumPages: number };
  imports: { module: string; name: string; kind: string }[];
  exports: { name: string; kind: string }[];
  files: typeof OUTPUT_FILES;
  wasmPartition: { name: string; offset: string; size: string; imageBytes: number };
  compiler: { assemblyscript: string; target: string };
  /** SHA-256 of everything the build read (host/build/fingerprint.ts). */
  inputsSha256: string;
}

export interface FlashPlan {
  board: string;
  chip: string;
  chipId: number;
  flashSize: string;
  /** Flash address ("0x8000") -> file in the out folder. */
  files: Record<string, string>;
  /** Where a full flash writes the C runtime's own images (built elsewhere, not by `iotfw build`). */
  runtime: { bootloader: string; app: string };
}

export interface BuildResult {
  outDir: string;
  /** Absolute paths of the files written. */
  files: Record<keyof typeof OUTPUT_FILES, string>;
  binary: Uint8Array;
  manifest: Manifest;
  flashPlan: FlashPlan;
  warnings: string[];
  /** The out folder already held this build (reuse, inputs unchanged): nothing was compiled or written. */
  reused: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export async function buildApp(options: BuildOptions): Promise<BuildResult> {
  const cwd = options.cwd ?? process.cwd();
  const where = resolveAppDir(options.appDir, cwd);
  const app = loadApp(where.dir, { cwd, label: where.label });
  if (where.warning) app.warnings.unshift(where.warning);
  const board = options.board === undefined || typeof options.board === "string" ? loadBoard(boardFor(app, options.board), { cwd }) : options.board;
  const abi = loadAbi();
  if (board.halAbi !== abi.version) {
    throw new BuildError("invalid-board", `board ${board.name} implements HAL ABI v${board.halAbi}, but this iotfw builds against v${abi.version} (firmware/hal/abi.json)`);
  }
  const target = options.target ?? "release";
  const outDir = resolve(cwd, options.outDir ?? join("build", board.name));
  // The editor's copy of "./hardware" follows app.json (written before the fingerprint, which may read it).
  const editorCopy = join(app.dir, ".iotfw", HARDWARE_MODULE);
  const hardwareText = hardwareModule(app.json.hardware);
  if (existsSync(editorCopy) && readFileSync(editorCopy, "utf8") !== hardwareText) writeFileSync(editorCopy, hardwareText);
  const inputsSha256 = buildFingerprint(app.dir, board, target);
  if (options.reuse) {
    const cached = readBuild(outDir, inputsSha256);
    if (cached) return { ...cached, warnings: app.warnings, reused: true };
  }
  options.onCompile?.({ app: `${app.json.name} ${app.json.version}`, board: board.name });

  const compiled = await compileAssemblyScript([APP_ENTRY], {
    app: { dir: app.dir, label: app.label, generated: { [HARDWARE_MODULE]: hardwareText } }, target, extraArgs: app.json.ascArgs,
  });
  if (!compiled.ok || !compiled.binary) {
    throw new BuildError("compile", `app ${app.label} does not compile:\n${compiled.diagnostics}`);
  }
  const binary = compiled.binary;
  const facts = await checkModule(binary, board, abi);

  const part = wasmPartition(board);
  const image = encodeWasmImage(binary, abi.version);
  const table = encodePartitionTable(board.partitions);
  const manifest: Manifest = {
    manifestVersion: MANIFEST_VERSION,
    board: board.name,
    chip: board.chip,
    app: app.json,
    halAbi: abi.version,
    interpreter: { name: board.interpreter.name, version: board.interpreter.version },
    sha256: createHash("sha256").update(binary).digest("hex"),
    sizeBytes: binary.length,
    // checkModule rejected a missing maximum, so maximumPages is a number here.
    memory: { initialPages: facts.memory.initialPages, maximumPages: facts.memory.maximumPages ?? 0 },
    imports: facts.imports,
    exports: facts.exports,
    files: OUTPUT_FILES,
    wasmPartition: { name: part.name, offset: hex(part.offset), size: hex(part.size), imageBytes: image.length },
    compiler: { assemblyscript: ascVersion, target },
    inputsSha256,
  };
  const runtimeApp = board.partitions.find((p) => p.type === TYPE_APP)!; // validateBoard guarantees one
  const flashPlan: FlashPlan = {
    board: board.name,
    chip: board.chip,
    chipId: board.chipId,
    flashSize: board.flash.size,
    files: { [hex(board.flash.partitionTableOffset)]: OUTPUT_FILES.partitionTable, [hex(part.offset)]: OUTPUT_FILES.image },
    runtime: { bootloader: hex(board.flash.bootloaderOffset), app: hex(runtimeApp.offset) },
  };

  mkdirSync(outDir, { recursive: true });
  const files = outputPaths(outDir);
  writeFileSync(files.wasm, binary);
  writeFileSync(files.image, image);
  writeFileSync(files.partitionTable, table);
  writeFileSync(files.manifest, JSON.stringify(manifest, null, 2) + "\n");
  writeFileSync(files.flashPlan, JSON.stringify(flashPlan, null, 2) + "\n");

  const warnings = [...app.warnings, ...compiled.messages.filter((m) => m.category === "warning").map((m) => `${m.file}:${m.line}:${m.column}: ${m.message}`)];
  return { outDir, files, binary, manifest, flashPlan, warnings, reused: false };
}

function outputPaths(outDir: string): BuildResult["files"] {
  return Object.fromEntries(Object.entries(OUTPUT_FILES).map(([k, f]) => [k, join(outDir, f)])) as BuildResult["files"];
}

/** The build in outDir if it was made from exactly these inputs and its files are intact. */
function readBuild(outDir: string, inputsSha256: string): Omit<BuildResult, "warnings" | "reused"> | null {
  const files = outputPaths(outDir);
  try {
    const manifest = JSON.parse(readFileSync(files.manifest, "utf8")) as Manifest;
    if (manifest.inputsSha256 !== inputsSha256) return null;
    const binary = new Uint8Array(readFileSync(files.wasm));
    if (createHash("sha256").update(binary).digest("hex") !== manifest.sha256) return null;
    if (Object.values(files).some((f) => !existsSync(f))) return null;
    const flashPlan = JSON.parse(readFileSync(files.flashPlan, "utf8")) as FlashPlan;
    return { outDir, files, binary, manifest, flashPlan };
  } catch {
    return null;
  }
}
