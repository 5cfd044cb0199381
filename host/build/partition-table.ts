// Espressif's binary partition table: the constants of the format and the encoder (the parser is in
// parse-partition-table.ts). Format as written by ESP-IDF components/partition_table/gen_esp32part.py:
// 32-byte entries packed "<2sBBLL16sL" (magic 0xAA 0x50, type, subtype, offset, size, NUL-padded name,
// flags), then an MD5 entry (0xEB 0xEB, 14 x 0xFF, MD5 of every preceding entry byte), then 0xFF up
// to MAX_PARTITION_LENGTH (0xC00). May touch: nothing (pure functions).
import { createHash } from "node:crypto";

export const ENTRY_SIZE = 32;
/** gen_esp32part.py MAX_PARTITION_LENGTH: 3 KiB of entries; the 4 KiB sector's last 1 KiB is for a signature. */
export const MAX_PARTITION_LENGTH = 0xc00;
/** gen_esp32part.py PARTITION_TABLE_SIZE: the table occupies one flash sector. */
export const PARTITION_TABLE_SIZE = 0x1000;
export const ENTRY_MAGIC = [0xaa, 0x50] as const;
export const MD5_MAGIC = [0xeb, 0xeb] as const;
export const NAME_BYTES = 16;
/** Flags word, bit 0 (gen_esp32part.py FLAGS). */
export const FLAG_ENCRYPTED = 1 << 0;

export const TYPE_APP = 0x00;
export const TYPE_DATA = 0x01;
/** ESP-IDF partition-tables docs: app partitions sit at 64 KiB boundaries; data at 4 KiB (STRICT_DATA_ALIGNMENT). */
export const APP_ALIGNMENT = 0x10000;
export const DATA_ALIGNMENT = 0x1000;

/** Named types and subtypes as gen_esp32part.py spells them in CSV. */
export const TYPE_NAMES: Record<string, number> = { app: TYPE_APP, data: TYPE_DATA };
export const SUBTYPE_NAMES: Record<number, Record<string, number>> = {
  [TYPE_APP]: { factory: 0x00, test: 0x20, ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`ota_${i}`, 0x10 + i])) },
  [TYPE_DATA]: { ota: 0x00, phy: 0x01, nvs: 0x02, coredump: 0x03, nvs_keys: 0x04, efuse: 0x05, undefined: 0x06, esphttpd: 0x80, fat: 0x81, spiffs: 0x82 },
};

export interface PartitionEntry {
  name: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  flags: number;
}

/** One 32-byte entry, exactly as struct.pack("<2sBBLL16sL", ...). */
export function encodeEntry(p: PartitionEntry): Uint8Array {
  const name = Buffer.from(p.name, "utf8");
  if (name.length > NAME_BYTES) throw new RangeError(`partition name "${p.name}" is longer than ${NAME_BYTES} bytes`);
  const out = new Uint8Array(ENTRY_SIZE);
  const view = new DataView(out.buffer);
  out[0] = ENTRY_MAGIC[0];
  out[1] = ENTRY_MAGIC[1];
  out[2] = p.type;
  out[3] = p.subtype;
  view.setUint32(4, p.offset, true);
  view.setUint32(8, p.size, true);
  out.set(name, 12); // struct's "16s" pads with NUL
  view.setUint32(28, p.flags, true);
  return out;
}

/** The whole table, MAX_PARTITION_LENGTH bytes: entries, MD5 entry, 0xFF padding (gen_esp32part.py to_binary). */
export function encodePartitionTable(partitions: PartitionEntry[]): Uint8Array {
  const entries = partitions.map(encodeEntry);
  const used = (entries.length + 1) * ENTRY_SIZE;
  // gen_esp32part.py rejects len(result) >= MAX_PARTITION_LENGTH, which leaves room for an end marker.
  if (used >= MAX_PARTITION_LENGTH) throw new RangeError(`partition table of ${partitions.length} entries is longer than 0x${MAX_PARTITION_LENGTH.toString(16)} bytes`);
  const out = new Uint8Array(MAX_PARTITION_LENGTH).fill(0xff);
  const md5 = createHash("md5");
  entries.forEach((e, i) => { out.set(e, i * ENTRY_SIZE); md5.update(e); });
  const md5Entry = entries.length * ENTRY_SIZE;
  out[md5Entry] = MD5_MAGIC[0];
  out[md5Entry + 1] = MD5_MAGIC[1]; // bytes 2..15 stay 0xFF
  out.set(md5.digest(), md5Entry + 16);
  return out;
}
