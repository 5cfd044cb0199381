// The Wasm partition image (docs/wasm-partition.md): a 64-byte little-endian header, then the module.
// The build writes it; the C runtime and the virtual ESP32 read it back (parseWasmImage is the
// reference reader). May touch: nothing (pure functions).
import { createHash } from "node:crypto";

export const IMAGE_MAGIC = "IOTW";
export const IMAGE_HEADER_SIZE = 64;
export const IMAGE_HEADER_VERSION = 1;
/** Byte offsets of the header fields. */
export const IMAGE_FIELDS = { magic: 0, headerVersion: 4, halAbi: 6, moduleLength: 8, sha256: 12, flags: 44, reserved: 48 } as const;

export interface WasmImage {
  headerVersion: number;
  halAbi: number;
  moduleLength: number;
  sha256: Uint8Array;
  flags: number;
  module: Uint8Array;
}

export function encodeWasmImage(module: Uint8Array, halAbi: number): Uint8Array {
  const out = new Uint8Array(IMAGE_HEADER_SIZE + module.length); // reserved bytes 48..63 stay 0
  const view = new DataView(out.buffer);
  out.set(Buffer.from(IMAGE_MAGIC, "ascii"), IMAGE_FIELDS.magic);
  view.setUint16(IMAGE_FIELDS.headerVersion, IMAGE_HEADER_VERSION, true);
  view.setUint16(IMAGE_FIELDS.halAbi, halAbi, true);
  view.setUint32(IMAGE_FIELDS.moduleLength, module.length, true);
  out.set(createHash("sha256").update(module).digest(), IMAGE_FIELDS.sha256);
  view.setUint32(IMAGE_FIELDS.flags, 0, true);
  out.set(module, IMAGE_HEADER_SIZE);
  return out;
}

/** Read an image (e.g. a whole partition dump: bytes after the module are ignored). Throws on any mismatch. */
export function parseWasmImage(bytes: Uint8Array): WasmImage {
  if (bytes.length < IMAGE_HEADER_SIZE) throw new Error(`Wasm image is ${bytes.length} bytes, shorter than its ${IMAGE_HEADER_SIZE}-byte header`);
  const magic = Buffer.from(bytes.subarray(0, 4)).toString("latin1");
  if (magic !== IMAGE_MAGIC) throw new Error(`Wasm image magic is ${JSON.stringify(magic)}, expected "${IMAGE_MAGIC}" (empty or foreign partition?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerVersion = view.getUint16(IMAGE_FIELDS.headerVersion, true);
  if (headerVersion !== IMAGE_HEADER_VERSION) throw new Error(`Wasm image header version ${headerVersion} is not supported (expected ${IMAGE_HEADER_VERSION})`);
  const moduleLength = view.getUint32(IMAGE_FIELDS.moduleLength, true);
  if (IMAGE_HEADER_SIZE + moduleLength > bytes.length) throw new Error(`Wasm image says the module is ${moduleLength} bytes but only ${bytes.length - IMAGE_HEADER_SIZE} follow the header`);
  const module = bytes.subarray(IMAGE_HEADER_SIZE, IMAGE_HEADER_SIZE + moduleLength);
  const sha256 = bytes.slice(IMAGE_FIELDS.sha256, IMAGE_FIELDS.sha256 + 32);
  if (!Buffer.from(sha256).equals(createHash("sha256").update(module).digest())) throw new Error("Wasm image SHA-256 does not match its module");
  return { headerVersion, halAbi: view.getUint16(IMAGE_FIELDS.halAbi, true), moduleLength, sha256, flags: view.getUint32(IMAGE_FIELDS.flags, true), module };
}
