// What `iotfw flash` writes, decided before the port is touched: the build's flash-plan.json
// (host/build/build.ts FlashPlan: address -> file), the board it names, the runtime images for --full,
// and checks that every image fits where it goes (its partition, the partition-table sector, the space
// below the table for the bootloader, the flash). Also the rule for the partition table by default:
// written only when the device's own table lacks the board's Wasm partition. May touch: reads the plan folder.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadBoard, wasmPartition, WASM_PARTITION_SUBTYPE, WASM_PARTITION_TYPE, type Board } from "../build/boards.js";
import type { FlashPlan } from "../build/build.js";
import { parsePartitionTable } from "../build/parse-partition-table.js";
import { PARTITION_TABLE_SIZE, TYPE_APP } from "../build/partition-table.js";
import { parseWasmImage } from "../build/wasm-image.js";

export class FlashError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "FlashError";
  }
}

export type ImageRole = "bootloader" | "partition-table" | "runtime" | "app" | "other";

export interface FlashImage {
  address: number;
  file: string;
  role: ImageRole;
  data: Uint8Array;
}

export interface LoadedPlan {
  dir: string;
  plan: FlashPlan;
  board: Board;
  /** Every image the plan names (address order), plus the runtime's when --full. */
  images: FlashImage[];
  /** What app the Wasm partition image holds (null: the plan has no such image). */
  app: AppIdentity | null;
}

/** The app a plan flashes: the module's SHA-256 from the Wasm image's own header, its name and version
 *  from the build's manifest.json beside the plan when that manifest describes this very module. */
export interface AppIdentity {
  name: string | null;
  version: string | null;
  sha256: string;
  /** Why there is no name and version ("no manifest.json", "manifest.json describes another build"). */
  note?: string;
}

/** Default file names of the C runtime's images in the plan folder, unless the plan names them. */
export const RUNTIME_FILES = { bootloader: "bootloader.bin", app: "runtime.bin" } as const;

const hex = (n: number) => `0x${n.toString(16)}`;

export function loadPlan(options: { planDir?: string; board?: string; full?: boolean; cwd?: string }): LoadedPlan {
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.planDir ?? join("build", options.board ?? "esp32"));
  const planFile = join(dir, "flash-plan.json");
  if (!existsSync(planFile)) {
    throw new FlashError(`no flash plan at ${planFile}: build first (\`iotfw build --board ${options.board ?? "<board>"}\`) or point --plan at a build folder`);
  }
  let plan: FlashPlan;
  try {
    plan = JSON.parse(readFileSync(planFile, "utf8")) as FlashPlan;
  } catch (e) {
    throw new FlashError(`${planFile} is not valid JSON: ${(e as Error).message}`);
  }
  if (!plan || typeof plan.files !== "object" || typeof plan.board !== "string") throw new FlashError(`${planFile} has no "board" and "files": not a flash plan written by \`iotfw build\``);
  if (options.board && options.board !== plan.board) {
    throw new FlashError(`the plan in ${dir} was built for board ${plan.board}, not ${options.board}: rebuild with \`iotfw build --board ${options.board}\` or drop --board`);
  }
  let board: Board;
  try { board = loadBoard(plan.board, { cwd }); } catch (e) { throw new FlashError((e as Error).message); }

  const images: FlashImage[] = [];
  const add = (addressText: string, file: string, role: ImageRole) => {
    const address = Number(addressText);
    if (!Number.isInteger(address) || address < 0) throw new FlashError(`${planFile}: "${addressText}" is not a flash address`);
    const path = join(dir, file);
    if (!existsSync(path)) throw new FlashError(`${path} (for ${addressText}) is missing: rebuild with \`iotfw build --board ${board.name}\``);
    images.push({ address, file, role, data: new Uint8Array(readFileSync(path)) });
  };
  const wasm = wasmPartition(board);
  for (const [addr, file] of Object.entries(plan.files)) {
    const a = Number(addr);
    add(addr, file, a === board.flash.partitionTableOffset ? "partition-table" : a === wasm.offset ? "app" : "other");
  }
  if (options.full) {
    const rt = plan.runtime as FlashPlan["runtime"] & { bootloaderFile?: string; appFile?: string };
    const want = [
      { addr: rt?.bootloader ?? hex(board.flash.bootloaderOffset), file: rt?.bootloaderFile ?? RUNTIME_FILES.bootloader, role: "bootloader" as const },
      { addr: rt?.app ?? hex(board.partitions.find((p) => p.type === TYPE_APP)!.offset), file: rt?.appFile ?? RUNTIME_FILES.app, role: "runtime" as const },
    ];
    const missing = want.filter((w) => !existsSync(join(dir, w.file)));
    if (missing.length) {
      throw new FlashError(`--full writes the C runtime too, but ${missing.map((m) => join(dir, m.file)).join(" and ")} ${missing.length > 1 ? "are" : "is"} missing ` +
        `(the runtime build produces them; without --full only the app and, if needed, the partition table are written)`);
    }
    for (const w of want) add(w.addr, w.file, w.role);
  }
  images.sort((x, y) => x.address - y.address);
  for (const image of images) checkFits(image, board);
  for (let i = 1; i < images.length; i++) {
    const prev = images[i - 1];
    if (prev.address + prev.data.length > images[i].address) throw new FlashError(`${prev.file} at ${hex(prev.address)} overlaps ${images[i].file} at ${hex(images[i].address)}`);
  }
  return { dir, plan, board, images, app: appIdentity(dir, images) };
}

/** Read the app's identity (see AppIdentity). A Wasm image that does not parse is refused here, before
 *  the port is opened: it would not boot. A missing manifest only leaves the name out (hand-made plans). */
function appIdentity(dir: string, images: FlashImage[]): AppIdentity | null {
  const image = images.find((i) => i.role === "app");
  if (!image) return null;
  let sha256: string;
  try { sha256 = Buffer.from(parseWasmImage(image.data).sha256).toString("hex"); } catch (e) {
    throw new FlashError(`${join(dir, image.file)} is not a Wasm partition image (${(e as Error).message}): rebuild with \`iotfw build\``);
  }
  const manifestFile = join(dir, "manifest.json");
  if (!existsSync(manifestFile)) return { name: null, version: null, sha256, note: "no manifest.json beside the plan" };
  let manifest: { sha256?: unknown; app?: { name?: unknown; version?: unknown } };
  try { manifest = JSON.parse(readFileSync(manifestFile, "utf8")); } catch (e) {
    throw new FlashError(`${manifestFile} is not valid JSON: ${(e as Error).message}; rebuild with \`iotfw build\``);
  }
  if (manifest?.sha256 !== sha256) return { name: null, version: null, sha256, note: `${manifestFile} describes another build (module sha256 ${String(manifest?.sha256)})` };
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  return { name: text(manifest.app?.name), version: text(manifest.app?.version), sha256 };
}

/** Each image must fit its region of the board's layout. */
function checkFits(image: FlashImage, board: Board): void {
  const { address, data, file } = image;
  const end = address + data.length;
  const where = `${file} (${data.length} bytes at ${hex(address)})`;
  if (end > board.flash.sizeBytes) throw new FlashError(`${where} does not fit in the ${board.flash.size} flash of board ${board.name}`);
  if (address === board.flash.partitionTableOffset) {
    if (data.length > PARTITION_TABLE_SIZE) throw new FlashError(`${where} is larger than the ${PARTITION_TABLE_SIZE}-byte partition-table sector`);
    return;
  }
  if (address === board.flash.bootloaderOffset) {
    if (end > board.flash.partitionTableOffset) throw new FlashError(`${where} runs into the partition table at ${hex(board.flash.partitionTableOffset)}`);
    return;
  }
  const part = board.partitions.find((p) => address >= p.offset && address < p.offset + p.size);
  if (!part) throw new FlashError(`${where}: no partition of board ${board.name} starts there`);
  if (end > part.offset + part.size) {
    throw new FlashError(`${where} is larger than its partition "${part.name}" (${part.size} bytes from ${hex(part.offset)}): ${end - part.offset - part.size} bytes too many`);
  }
}

/** Whether the device's partition table (as read from flash) already has the board's Wasm partition. */
export function deviceHasWasmPartition(tableBytes: Uint8Array, board: Board): { ok: boolean; reason: string } {
  const want = wasmPartition(board);
  let entries;
  try {
    entries = parsePartitionTable(tableBytes).entries;
  } catch (e) {
    return { ok: false, reason: `the device has no valid partition table (${(e as Error).message})` };
  }
  if (entries.length === 0) return { ok: false, reason: "the device has no partition table" };
  const found = entries.find((p) => p.type === WASM_PARTITION_TYPE && p.subtype === WASM_PARTITION_SUBTYPE);
  if (!found) return { ok: false, reason: "the device's partition table has no Wasm partition" };
  if (found.offset !== want.offset || found.size !== want.size) {
    return { ok: false, reason: `the device's Wasm partition is at ${hex(found.offset)} (${hex(found.size)} bytes), the board's at ${hex(want.offset)} (${hex(want.size)})` };
  }
  return { ok: true, reason: "the device's partition table already has the Wasm partition" };
}

/** esptool-js pads each image to 4 bytes with 0xFF before writing (util.js padTo); the MD5 covers that. */
export function padded(data: Uint8Array): Uint8Array {
  const rest = data.length % 4;
  if (!rest) return data;
  const out = new Uint8Array(data.length + 4 - rest).fill(0xff);
  out.set(data);
  return out;
}

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}
