// The partition table the build writes must be byte-for-byte what ESP-IDF's gen_esp32part.py writes
// (components/partition_table/gen_esp32part.py: struct "<2sBBLL16sL", magic 0xAA50, MD5 entry
// 0xEBEB + 14 x 0xFF + MD5, 0xFF padding to 0xC00), and parse-partition-table must read it back.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { listBoards, loadBoard } from "./boards.js";
import { encodeEntry, encodePartitionTable, MAX_PARTITION_LENGTH, type PartitionEntry } from "./partition-table.js";
import { parsePartitionTable, PartitionTableError } from "./parse-partition-table.js";

// esp32.json's table as produced by Python's struct.pack("<2sBBLL16sL", ...) + hashlib.md5, following
// gen_esp32part.py to_binary() (computed once outside this code base; the first 160 bytes).
const ESP32_TABLE_HEAD =
  "aa50010200900000006000006e76730000000000000000000000000000000000" +
  "aa50010100f00000001000007068795f696e6974000000000000000000000000" +
  "aa5000000000010000001f00666163746f727900000000000000000000000000" +
  "aa50400000002000000004007761736d00000000000000000000000000000000" +
  "ebebffffffffffffffffffffffffffffa5138f1f5437b2c8b5ab39c8af8b640b";

describe("partition table (Espressif binary format)", () => {
  const board = loadBoard("esp32");
  const table = encodePartitionTable(board.partitions);

  it("matches gen_esp32part.py's bytes for the esp32 layout", () => {
    expect(Buffer.from(table.subarray(0, 160)).toString("hex")).toBe(ESP32_TABLE_HEAD);
  });

  it("lays each 32-byte entry out as <2sBBLL16sL", () => {
    board.partitions.forEach((p, i) => {
      const raw = table.subarray(i * 32, i * 32 + 32);
      const view = new DataView(raw.buffer, raw.byteOffset, 32);
      expect([raw[0], raw[1]]).toEqual([0xaa, 0x50]);
      expect(raw[2]).toBe(p.type);
      expect(raw[3]).toBe(p.subtype);
      expect(view.getUint32(4, true)).toBe(p.offset);
      expect(view.getUint32(8, true)).toBe(p.size);
      const name = Buffer.from(raw.subarray(12, 28));
      expect(name.subarray(0, p.name.length).toString("ascii")).toBe(p.name);
      expect([...name.subarray(p.name.length)].every((b) => b === 0)).toBe(true); // NUL padding
      expect(view.getUint32(28, true)).toBe(0);
    });
  });

  it("ends the entries with the MD5 entry over every preceding byte", () => {
    const n = board.partitions.length;
    const md5Entry = table.subarray(n * 32, n * 32 + 32);
    expect([md5Entry[0], md5Entry[1]]).toEqual([0xeb, 0xeb]);
    expect([...md5Entry.subarray(2, 16)]).toEqual(Array(14).fill(0xff));
    const expected = createHash("md5").update(table.subarray(0, n * 32)).digest();
    expect(Buffer.from(md5Entry.subarray(16)).equals(expected)).toBe(true);
  });

  it("pads with 0xFF to 0xC00 bytes", () => {
    expect(table.length).toBe(0xc00);
    expect(MAX_PARTITION_LENGTH).toBe(0xc00);
    const after = table.subarray((board.partitions.length + 1) * 32);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((b) => b === 0xff)).toBe(true);
  });

  it.each(listBoards())("round-trips through the parser (%s)", (name) => {
    const b = loadBoard(name);
    const parsed = parsePartitionTable(encodePartitionTable(b.partitions), { requireMd5: true });
    expect(parsed.md5Present).toBe(true);
    expect(parsed.entries).toEqual(b.partitions.map(({ name, type, subtype, offset, size, flags }) => ({ name, type, subtype, offset, size, flags })));
  });

  it("keeps a 16-byte name without a NUL and the encrypted flag", () => {
    const p: PartitionEntry = { name: "sixteen_chars_ok", type: 0x01, subtype: 0x81, offset: 0x300000, size: 0x1000, flags: 1 };
    const parsed = parsePartitionTable(encodePartitionTable([p]));
    expect(parsed.entries).toEqual([p]);
    expect(() => encodeEntry({ ...p, name: "seventeen_chars_x" })).toThrow(RangeError);
  });

  it("rejects a wrong MD5, a bad magic and a missing end marker", () => {
    const bad = table.slice();
    bad[board.partitions.length * 32 + 20] ^= 0xff;
    expect(() => parsePartitionTable(bad)).toThrow(/MD5 mismatch/);
    const badMagic = table.slice();
    badMagic[32] = 0x00;
    expect(() => parsePartitionTable(badMagic)).toThrow(PartitionTableError);
    expect(() => parsePartitionTable(table.subarray(0, (board.partitions.length + 1) * 32))).toThrow(/end-of-table/);
    const noMd5 = encodePartitionTable(board.partitions).fill(0xff, board.partitions.length * 32);
    expect(parsePartitionTable(noMd5).md5Present).toBe(false);
    expect(() => parsePartitionTable(noMd5, { requireMd5: true })).toThrow(/no MD5/);
  });
});
