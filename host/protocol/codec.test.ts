// The host codec's rules beyond the golden vectors: what decodeFrame rejects (and that it says why,
// never throwing), what encodeFrame refuses, and the frame sizes docs/protocol.md quotes.
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame } from "./codec.js";
import { FRAME_MAX, SUMMARY_MAX_ENTRIES, type Frame, type SummaryEntry } from "./frame.js";
import { loadProtocolVectors } from "./vectors.js";

const vectors = loadProtocolVectors();
const byName = (name: string): Uint8Array => vectors.find((v) => v.name === name)!.bytes;

/** The bytes with their CRC recomputed, so only the field under test is wrong. */
function reCrc(b: Uint8Array): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)) >>> 0, true);
  return out;
}
function withByte(b: Uint8Array, at: number, value: number): Uint8Array {
  const out = b.slice();
  out[at] = value;
  return reCrc(out);
}
function errorOf(bytes: Uint8Array): string {
  const r = decodeFrame(bytes);
  expect(r.ok).toBe(false);
  return r.ok ? "" : r.error;
}

describe("decodeFrame rejects, with a reason", () => {
  const status = byName("status");
  it("bad CRC", () => {
    const b = status.slice();
    b[20] ^= 0x40;
    expect(errorOf(b)).toMatch(/bad CRC/);
  });
  it("unknown version, unknown type, flags set", () => {
    expect(errorOf(withByte(status, 0, 2))).toMatch(/unknown version 2/);
    expect(errorOf(withByte(status, 1, 0x08))).toMatch(/unknown type 0x08/); // 0x07 is CHANNELS
    expect(errorOf(withByte(status, 2, 0x01))).toMatch(/flags/);
  });
  it("unknown control op", () => {
    expect(errorOf(withByte(byName("control-ping"), 15, 0x09))).toMatch(/unknown control op 0x09/);
  });
  it("bad length: too short, too long, truncated payload, bytes after the payload", () => {
    expect(errorOf(status.slice(0, 19))).toMatch(/bad length/);
    expect(errorOf(new Uint8Array(FRAME_MAX + 1))).toMatch(/bad length/);
    expect(errorOf(reCrc(status.slice(0, status.length - 1)))).toMatch(/truncated/);
    const longer = new Uint8Array(status.length + 1);
    longer.set(status.subarray(0, status.length - 4));
    expect(errorOf(reCrc(longer))).toMatch(/after the status payload/);
    // a string length running past the end
    const log = byName("log").slice();
    expect(errorOf(withByte(log, 16, 200))).toMatch(/truncated/);
  });
  it("invalid UTF-8 in a string, sleeping neither 0 nor 1", () => {
    const log = byName("log");
    expect(errorOf(withByte(log, 17, 0xff))).toMatch(/UTF-8/);
    expect(errorOf(withByte(status, status.length - 5, 2))).toMatch(/sleeping/);
  });
  it("anything that is not a Uint8Array", () => {
    for (const x of [null, undefined, "frame", 42, [1, 2, 3], {}]) expect(decodeFrame(x as unknown as Uint8Array).ok).toBe(false);
  });
  it("accepts an unknown event kind (an open set) and a subarray at any offset", () => {
    const ev = withByte(byName("event-value"), 16, 42);
    const r = decodeFrame(ev);
    expect(r.ok && r.frame.type === "event" && r.frame.kind).toBe(42);
    const padded = new Uint8Array(ev.length + 3);
    padded.set(ev, 3);
    expect(decodeFrame(padded.subarray(3)).ok).toBe(true);
  });
});

describe("encodeFrame refuses invalid fields", () => {
  const base = { device: 1, seq: 2, t: 3 };
  it("out-of-range integers, long strings, bad app hash, unknown type or op", () => {
    expect(() => encodeFrame({ ...base, type: "event", channel: 256, kind: 1, value: 0, code: 0 })).toThrow(RangeError);
    expect(() => encodeFrame({ ...base, seq: -1, type: "event", channel: 0, kind: 1, value: 0, code: 0 })).toThrow(/seq/);
    expect(() => encodeFrame({ ...base, type: "ack", ackedSeq: 1.5, op: 1, result: 0 })).toThrow(/ackedSeq/);
    expect(() => encodeFrame({ ...base, type: "log", level: 1, text: "x".repeat(256) })).toThrow(/256 UTF-8 bytes/);
    expect(() => encodeFrame({ ...base, type: "hello", abi: 1, firmware: "a@1", board: "b", appHash: "00", samplePeriodMs: 0, channels: [] })).toThrow(/appHash/);
    expect(() => encodeFrame({ ...base, type: "nope" } as unknown as Frame)).toThrow(/unknown frame type/);
    expect(() => encodeFrame({ ...base, type: "control", op: "reboot" } as unknown as Frame)).toThrow(/unknown control op/);
  });
  it("a summary over SUMMARY_MAX_ENTRIES does not fit in FRAME_MAX", () => {
    const entry: SummaryEntry = { channel: 0, count: 1, min: 1, max: 1, mean: 1, std: 0, last: 1 };
    const summary = (n: number): Frame => ({ ...base, type: "summary", windowStart: 0, windowMs: 1, entries: Array(n).fill(entry) });
    expect(encodeFrame(summary(SUMMARY_MAX_ENTRIES)).length).toBe(15 + 9 + 21 * 23 + 4);
    expect(() => encodeFrame(summary(SUMMARY_MAX_ENTRIES + 1))).toThrow(/exceeds 512/);
  });
  it("any NaN is written as the canonical 0x7FC00000", () => {
    const weird = new Float64Array(new BigUint64Array([0xfff8_0000_dead_beefn]).buffer)[0];
    const b = encodeFrame({ ...base, type: "event", channel: 0, kind: 5, value: weird, code: -1 });
    expect(Buffer.from(b.subarray(17, 21)).toString("hex")).toBe("0000c07f");
  });
});

describe("HELLO's boot id (abi 2)", () => {
  const base = { type: "hello" as const, device: 7, seq: 0, t: 0, firmware: "a@1", board: "esp32", appHash: "0011223344556677", samplePeriodMs: 1000, channels: [] };
  it("is the u32 after the app hash, written as hex like a device id; an abi 1 HELLO has none and still decodes", () => {
    const two = encodeFrame({ ...base, abi: 2, bootId: "5eedb007" });
    const one = encodeFrame({ ...base, abi: 1 });
    expect(two.length).toBe(one.length + 4);
    expect(Buffer.from(two.subarray(34, 38)).toString("hex")).toBe("07b0ed5e"); // after header 15, abi 1, "a@1" 4, "esp32" 6, hash 8
    const d2 = decodeFrame(two), d1 = decodeFrame(one);
    expect(d2.ok && d2.frame).toEqual({ ...base, abi: 2, bootId: "5eedb007" });
    expect(d1.ok && d1.frame).toEqual({ ...base, abi: 1 });
  });
  it("two boots that differ only in it are different bytes (and CRCs)", () => {
    const a = encodeFrame({ ...base, abi: 2, bootId: "00000001" }), b = encodeFrame({ ...base, abi: 2, bootId: "00000002" });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a.subarray(-4)).equals(Buffer.from(b.subarray(-4)))).toBe(false);
  });
  it("is required from abi 2 and refused before it", () => {
    expect(() => encodeFrame({ ...base, abi: 2 })).toThrow(/bootId/);
    expect(() => encodeFrame({ ...base, abi: 1, bootId: "00000001" })).toThrow(/bootId/);
    expect(decodeFrame(encodeFrame({ ...base, abi: 2, bootId: "00000001" }).subarray(0, 33)).ok).toBe(false);
  });
});

describe("frame sizes (docs/protocol.md)", () => {
  it("hello with 6 channels, summary with 1 and 5 channels, event", () => {
    expect(byName("hello-6ch").length).toBe(141);
    expect(byName("summary-1ch").length).toBe(51);
    expect(byName("summary-5ch").length).toBe(143);
    expect(byName("event-alert-high").length).toBe(29);
    // summary = 28 + 23 per channel
    for (const n of [0, 1, 5, 21]) {
      const f: Frame = { type: "summary", device: 1, seq: 1, t: 1, windowStart: 0, windowMs: 1,
        entries: Array(n).fill({ channel: 0, count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN }) };
      expect(encodeFrame(f).length).toBe(28 + 23 * n);
    }
  });
});
