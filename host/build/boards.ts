// Board descriptions (boards/<name>.json): a typed loader and validator. A board says which chip it is
// and how the ROM bootloader identifies it, where things sit in flash (with the partition table the
// build writes), its pins, the Wasm features and memory its interpreter allows, and the HAL ABI version
// its runtime implements. May touch: reads boards/ (or a board file the user names); writes nothing.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import { BuildError } from "./errors.js";
import { parseJsonText } from "../json-text.js";
import {
  APP_ALIGNMENT, DATA_ALIGNMENT, MAX_PARTITION_LENGTH, NAME_BYTES, PARTITION_TABLE_SIZE, SUBTYPE_NAMES, TYPE_APP,
  TYPE_NAMES, type PartitionEntry,
} from "./partition-table.js";

export const BOARDS_DIR = join(REPO_ROOT, "boards");

/** The iotfw Wasm partition: an application-defined type (ESP-IDF reserves 0x00-0x3F), see docs/boards.md. */
export const WASM_PARTITION_TYPE = 0x40;
export const WASM_PARTITION_SUBTYPE = 0x00;

/** Board feature names -> wabt's feature flags (wabt src/feature.def). */
export const WASM_FEATURES = {
  mutableGlobals: { wabt: "mutable_globals", label: "import/export of mutable globals" },
  saturatingFloatToInt: { wabt: "sat_float_to_int", label: "non-trapping float-to-int conversions" },
  signExtension: { wabt: "sign_extension", label: "sign-extension operators" },
  multiValue: { wabt: "multi_value", label: "multi-value" },
  bulkMemory: { wabt: "bulk_memory", label: "bulk memory operations" },
  simd: { wabt: "simd", label: "SIMD (v128)" },
  relaxedSimd: { wabt: "relaxed_simd", label: "relaxed SIMD" },
  threads: { wabt: "threads", label: "threads (atomics, shared memory)" },
  referenceTypes: { wabt: "reference_types", label: "reference types" },
  functionReferences: { wabt: "function_references", label: "typed function references" },
  tailCall: { wabt: "tail_call", label: "tail calls" },
  exceptions: { wabt: "exceptions", label: "exception handling" },
  gc: { wabt: "gc", label: "garbage collection" },
  memory64: { wabt: "memory64", label: "64-bit memory" },
  extendedConst: { wabt: "extended_const", label: "extended constant expressions" },
} as const;
export type WasmFeature = keyof typeof WASM_FEATURES;

export interface Partition extends PartitionEntry {}

export interface Board {
  name: string;
  description: string;
  halAbi: number;
  chip: string;
  /** esptool IMAGE_CHIP_ID. */
  chipId: number;
  detect: { magicRegister: number; magicValues: number[]; securityInfoChipId: number | null };
  flash: { size: string; sizeBytes: number; bootloaderOffset: number; partitionTableOffset: number };
  partitions: Partition[];
  pins: {
    gpio: number[];
    inputOnly: number[];
    reserved: Record<string, number[]>;
    i2c: { bus: number; sda: number; scl: number }[];
    adc: { bits: number; attenuationDb: number; rangeMv: [number, number]; pins: { pin: number; unit: number; channel: number }[] };
  };
  sysSensors: { temperature: boolean; hall: boolean };
  interpreter: { name: string; version: string; features: Record<WasmFeature, boolean> };
  memory: { maxPages: number };
  /** Where it was loaded from. */
  source: string;
}

/** Names of the boards shipped in boards/, sorted. */
export function listBoards(dir = BOARDS_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
}

/**
 * A board by name ("esp32") or, for custom boards, by the path of its JSON file (anything ending in
 * .json or containing a path separator, relative to cwd). Throws BuildError for unknown or invalid boards.
 */
export function loadBoard(nameOrPath: string, options: { dir?: string; cwd?: string } = {}): Board {
  const dir = options.dir ?? BOARDS_DIR;
  const isPath = nameOrPath.endsWith(".json") || nameOrPath.includes("/") || nameOrPath.includes("\\");
  const file = isPath ? resolve(options.cwd ?? process.cwd(), nameOrPath) : join(dir, `${nameOrPath}.json`);
  if (!isPath && !/^[A-Za-z0-9_-]+$/.test(nameOrPath) || !existsSync(file)) {
    if (isPath) throw new BuildError("unknown-board", `board file ${nameOrPath} not found`);
    throw new BuildError("unknown-board", `unknown board "${nameOrPath}"; known boards: ${listBoards(dir).join(", ")}`);
  }
  let raw: unknown;
  try {
    raw = parseJsonText(readFileSync(file, "utf8"));
  } catch (e) {
    throw new BuildError("invalid-board", `board file ${file} cannot be read as JSON: ${(e as Error).message}`);
  }
  return validateBoard(raw, file);
}

/** Check a parsed board file and convert its hex strings; throws BuildError naming the first problem. */
export function validateBoard(raw: unknown, source = "<board>"): Board {
  const where = basename(source);
  const fail = (msg: string): never => { throw new BuildError("invalid-board", `board ${where}: ${msg}`); };
  const obj = (v: unknown, path: string): Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${path} must be an object`);
  const str = (v: unknown, path: string): string => (typeof v === "string" && v.length > 0 ? v : fail(`${path} must be a non-empty string`));
  const int = (v: unknown, path: string): number => {
    const n = typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : v;
    return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : fail(`${path} must be a non-negative integer (or "0x..." string)`);
  };
  const ints = (v: unknown, path: string): number[] => (Array.isArray(v) ? v.map((x, i) => int(x, `${path}[${i}]`)) : fail(`${path} must be an array`));
  const bool = (v: unknown, path: string): boolean => (typeof v === "boolean" ? v : fail(`${path} must be true or false`));

  const b = obj(raw, "the file");
  const name = str(b.name, "name");
  const flash = obj(b.flash, "flash");
  const flashSize = str(flash.size, "flash.size");
  const sizeMatch = /^(\d+)MB$/.exec(flashSize) ?? fail(`flash.size "${flashSize}" must look like "4MB"`);
  const sizeBytes = Number(sizeMatch[1]) * 1024 * 1024; // gen_esp32part.py: "flash memory uses honest megabytes"
  const detect = obj(b.detect, "detect");
  const pins = obj(b.pins, "pins");
  const adc = obj(pins.adc, "pins.adc");
  const interp = obj(b.interpreter, "interpreter");
  const feats = obj(interp.features, "interpreter.features");
  const features = {} as Record<WasmFeature, boolean>;
  for (const key of Object.keys(feats)) if (!(key in WASM_FEATURES)) fail(`interpreter.features.${key} is not a known Wasm feature (${Object.keys(WASM_FEATURES).join(", ")})`);
  for (const key of Object.keys(WASM_FEATURES) as WasmFeature[]) features[key] = bool(feats[key], `interpreter.features.${key}`);
  const sys = obj(b.sysSensors, "sysSensors");
  const reserved = obj(pins.reserved ?? {}, "pins.reserved");
  const rangeMv = ints(adc.rangeMv, "pins.adc.rangeMv");
  if (rangeMv.length !== 2 || rangeMv[0] >= rangeMv[1]) fail("pins.adc.rangeMv must be [low, high]");

  const board: Board = {
    name,
    description: str(b.description, "description"),
    halAbi: int(b.halAbi, "halAbi"),
    chip: str(b.chip, "chip"),
    chipId: int(b.chipId, "chipId"),
    detect: {
      magicRegister: int(detect.magicRegister, "detect.magicRegister"),
      magicValues: ints(detect.magicValues, "detect.magicValues"),
      securityInfoChipId: detect.securityInfoChipId === null ? null : int(detect.securityInfoChipId, "detect.securityInfoChipId"),
    },
    flash: {
      size: flashSize,
      sizeBytes,
      bootloaderOffset: int(flash.bootloaderOffset, "flash.bootloaderOffset"),
      partitionTableOffset: int(flash.partitionTableOffset, "flash.partitionTableOffset"),
    },
    partitions: (Array.isArray(b.partitions) ? b.partitions : fail("partitions must be an array")).map((p, i) => {
      const e = obj(p, `partitions[${i}]`);
      const pname = str(e.name, `partitions[${i}].name`);
      const type = typeof e.type === "string" && e.type in TYPE_NAMES ? TYPE_NAMES[e.type] : int(e.type, `partitions[${i}].type`);
      const names = SUBTYPE_NAMES[type] ?? {};
      const subtype = typeof e.subtype === "string" && e.subtype in names ? names[e.subtype] : int(e.subtype, `partitions[${i}].subtype`);
      return { name: pname, type, subtype, offset: int(e.offset, `partitions[${i}].offset`), size: int(e.size, `partitions[${i}].size`), flags: e.flags === undefined ? 0 : int(e.flags, `partitions[${i}].flags`) };
    }),
    pins: {
      gpio: ints(pins.gpio, "pins.gpio"),
      inputOnly: ints(pins.inputOnly, "pins.inputOnly"),
      reserved: Object.fromEntries(Object.entries(reserved).filter(([k]) => !k.startsWith("$")).map(([k, v]) => [k, ints(v, `pins.reserved.${k}`)])),
      i2c: (Array.isArray(pins.i2c) ? pins.i2c : fail("pins.i2c must be an array")).map((x, i) => {
        const e = obj(x, `pins.i2c[${i}]`);
        return { bus: int(e.bus, `pins.i2c[${i}].bus`), sda: int(e.sda, `pins.i2c[${i}].sda`), scl: int(e.scl, `pins.i2c[${i}].scl`) };
      }),
      adc: {
        bits: int(adc.bits, "pins.adc.bits"),
        attenuationDb: int(adc.attenuationDb, "pins.adc.attenuationDb"),
        rangeMv: [rangeMv[0], rangeMv[1]],
        pins: (Array.isArray(adc.pins) ? adc.pins : fail("pins.adc.pins must be an array")).map((x, i) => {
          const e = obj(x, `pins.adc.pins[${i}]`);
          return { pin: int(e.pin, `pins.adc.pins[${i}].pin`), unit: int(e.unit, `pins.adc.pins[${i}].unit`), channel: int(e.channel, `pins.adc.pins[${i}].channel`) };
        }),
      },
    },
    sysSensors: { temperature: bool(sys.temperature, "sysSensors.temperature"), hall: bool(sys.hall, "sysSensors.hall") },
    interpreter: { name: str(interp.name, "interpreter.name"), version: str(interp.version, "interpreter.version"), features },
    memory: { maxPages: int(obj(b.memory, "memory").maxPages, "memory.maxPages") },
    source,
  };
  checkConsistency(board, fail);
  return board;
}

/** Facts that must hold between fields: a flashable layout and pins that exist. */
function checkConsistency(b: Board, fail: (msg: string) => never): void {
  const hex = (n: number) => `0x${n.toString(16)}`;
  const tableEnd = b.flash.partitionTableOffset + PARTITION_TABLE_SIZE;
  if (b.flash.bootloaderOffset >= b.flash.partitionTableOffset) fail("the bootloader must sit below the partition table");
  if (b.flash.partitionTableOffset % DATA_ALIGNMENT) fail(`flash.partitionTableOffset ${hex(b.flash.partitionTableOffset)} is not 4 KiB aligned`);
  if (b.memory.maxPages < 1 || b.memory.maxPages > 65536) fail("memory.maxPages must be 1..65536");
  if ((b.partitions.length + 1) * 32 >= MAX_PARTITION_LENGTH) fail("too many partitions");
  const names = new Set<string>();
  const sorted = [...b.partitions].sort((x, y) => x.offset - y.offset);
  let lastEnd = tableEnd;
  for (const p of sorted) {
    if (names.has(p.name)) fail(`partition name "${p.name}" is used twice`);
    names.add(p.name);
    if (Buffer.byteLength(p.name) > NAME_BYTES) fail(`partition name "${p.name}" is longer than ${NAME_BYTES} bytes`);
    if (p.type > 0xfe || p.subtype > 0xfe) fail(`partition "${p.name}": type and subtype must be 0x00-0xFE`);
    const align = p.type === TYPE_APP ? APP_ALIGNMENT : DATA_ALIGNMENT;
    if (p.offset % align) fail(`partition "${p.name}" offset ${hex(p.offset)} is not aligned to ${hex(align)}`);
    if (p.size === 0 || p.size % DATA_ALIGNMENT) fail(`partition "${p.name}" size ${hex(p.size)} is not a positive multiple of 4 KiB`);
    if (p.offset < lastEnd) fail(`partition "${p.name}" at ${hex(p.offset)} overlaps the partition table or the partition before it (which ends at ${hex(lastEnd)})`);
    lastEnd = p.offset + p.size;
    if (lastEnd > b.flash.sizeBytes) fail(`partition "${p.name}" ends at ${hex(lastEnd)}, beyond the ${b.flash.size} flash`);
  }
  const wasm = b.partitions.filter((p) => p.type === WASM_PARTITION_TYPE && p.subtype === WASM_PARTITION_SUBTYPE);
  if (wasm.length !== 1) fail(`needs exactly one Wasm partition (type ${hex(WASM_PARTITION_TYPE)}, subtype ${hex(WASM_PARTITION_SUBTYPE)}), found ${wasm.length}`);
  if (!b.partitions.some((p) => p.type === TYPE_APP)) fail("needs an app partition for the runtime");
  const gpio = new Set(b.pins.gpio);
  const pinsUsed: [string, number][] = [
    ...b.pins.inputOnly.map((p) => ["pins.inputOnly", p] as [string, number]),
    ...b.pins.i2c.flatMap((x) => [["pins.i2c sda", x.sda], ["pins.i2c scl", x.scl]] as [string, number][]),
    ...b.pins.adc.pins.map((x) => ["pins.adc", x.pin] as [string, number]),
  ];
  for (const [what, pin] of pinsUsed) if (!gpio.has(pin)) fail(`${what} uses GPIO ${pin}, which is not in pins.gpio`);
  for (const x of b.pins.i2c) {
    if (b.pins.inputOnly.includes(x.sda) || b.pins.inputOnly.includes(x.scl)) fail(`I2C bus ${x.bus} uses an input-only pin`);
  }
  if (b.pins.adc.bits < 1 || b.pins.adc.bits > 16) fail("pins.adc.bits must be 1..16");
}

/** The board's Wasm partition (validateBoard guarantees exactly one). */
export function wasmPartition(board: Board): Partition {
  return board.partitions.find((p) => p.type === WASM_PARTITION_TYPE && p.subtype === WASM_PARTITION_SUBTYPE)!;
}
