// Reads an Espressif binary partition table back (the inverse of partition-table.ts, and what the
// ESP-IDF bootloader and gen_esp32part.py from_binary accept): entries until the 32 x 0xFF end marker,
// the MD5 entry checked against the entries before it. Used by the build's tests, the flasher and the
// virtual ESP32 (which boots partition table -> Wasm partition). May touch: nothing (pure function).
import { createHash } from "node:crypto";
import { ENTRY_MAGIC, ENTRY_SIZE, MD5_MAGIC, NAME_BYTES, type PartitionEntry } from "./partition-table.js";

export interface ParsedPartitionTable {
  entries: PartitionEntry[];
  /** Whether an MD5 entry was present (it is always checked when present). */
  md5Present: boolean;
}

export class PartitionTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PartitionTableError";
  }
}

/** Parse `bytes` (the table as read from flash at the table offset; extra bytes after the end marker are ignored). */
export function parsePartitionTable(bytes: Uint8Array, options: { requireMd5?: boolean } = {}): ParsedPartitionTable {
  const entries: PartitionEntry[] = [];
  const md5 = createHash("md5");
  let md5Present = false;
  for (let at = 0; at + ENTRY_SIZE <= bytes.length; at += ENTRY_SIZE) {
    const raw = bytes.subarray(at, at + ENTRY_SIZE);
    if (raw.every((b) => b === 0xff)) {
      if (options.requireMd5 && !md5Present) throw new PartitionTableError("partition table has no MD5 entry");
      return { entries, md5Present };
    }
    if (raw[0] === MD5_MAGIC[0] && raw[1] === MD5_MAGIC[1]) {
      const expected = Buffer.from(md5.copy().digest());
      const stored = Buffer.from(raw.subarray(16, 32));
      if (!expected.equals(stored)) {
        throw new PartitionTableError(`partition table MD5 mismatch at 0x${at.toString(16)} (computed ${expected.toString("hex")}, stored ${stored.toString("hex")})`);
      }
      md5Present = true;
      continue;
    }
    if (raw[0] !== ENTRY_MAGIC[0] || raw[1] !== ENTRY_MAGIC[1]) {
      throw new PartitionTableError(`invalid partition entry magic 0x${raw[0].toString(16)}${raw[1].toString(16)} at 0x${at.toString(16)} (expected 0xaa50)`);
    }
    md5.update(raw);
    const view = new DataView(raw.buffer, raw.byteOffset, ENTRY_SIZE);
    const nameBytes = raw.subarray(12, 12 + NAME_BYTES);
    const nul = nameBytes.indexOf(0);
    entries.push({
      type: raw[2],
      subtype: raw[3],
      offset: view.getUint32(4, true),
      size: view.getUint32(8, true),
      name: Buffer.from(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)).toString("utf8"),
      flags: view.getUint32(28, true),
    });
  }
  throw new PartitionTableError("partition table is missing its end-of-table marker (32 x 0xFF)");
}
