// Loads the golden vectors of the frame protocol (docs/protocol-vectors.json) for tests on both sides
// (host codec, device encoder compiled to Wasm) and for anyone who needs known-good frames. The file
// writes NaN as the string "NaN" (JSON has none); this turns it back. Reads that one file only.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import type { Frame } from "./frame.js";

export interface ProtocolVector {
  name: string;
  note?: string;
  fields: Frame;
  length: number;
  hex: string;
  bytes: Uint8Array;
}

export const PROTOCOL_VECTORS_PATH = join(REPO_ROOT, "docs", "protocol-vectors.json");

export function loadProtocolVectors(): ProtocolVector[] {
  const doc = JSON.parse(readFileSync(PROTOCOL_VECTORS_PATH, "utf8"), (_k, v) => (v === "NaN" ? NaN : v)) as {
    vectors: Array<Omit<ProtocolVector, "bytes">>;
  };
  return doc.vectors.map((v) => ({ ...v, bytes: Uint8Array.from(Buffer.from(v.hex, "hex")) }));
}
