// COBS and the two link readers: serial (0x00-delimited COBS, resynchronising after noise) and TCP
// (preamble detection, iotfw u16 framing, MicroPython u32 + JSON framing, oversize lengths skipped).
import { describe, expect, it } from "vitest";
import { Random } from "../../simulator/random.js";
import { cobsDecode, cobsEncode } from "./cobs.js";
import { jsonMessage, serialFrame, tcpFrame, TCP_PREAMBLE } from "./link-framing.js";
import { SerialReader } from "./serial-reader.js";
import { TcpReader, type TcpMessage } from "./tcp-reader.js";
import { loadProtocolVectors } from "./vectors.js";

const vectors = loadProtocolVectors();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const run = (n: number, from = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => ((i + from - 1) % 255) + 1);

describe("COBS (Cheshire & Baker 1999)", () => {
  // Examples as tabulated in the COBS literature (e.g. Wikipedia "Consistent Overhead Byte Stuffing").
  const cases: Array<[string, string]> = [
    ["", "01"],
    ["00", "0101"],
    ["0000", "010101"],
    ["00 11 00", "01 02 11 01"],
    ["11 22 00 33", "03 11 22 02 33"],
    ["11 22 33 44", "05 11 22 33 44"],
    ["11 00 00 00", "02 11 01 01 01"],
  ];
  for (const [raw, enc] of cases) {
    it(`${raw || "(empty)"} <-> ${enc}`, () => {
      expect(hex(cobsEncode(bytes(raw)))).toBe(enc.replace(/ /g, ""));
      expect(hex(cobsDecode(bytes(enc))!)).toBe(raw.replace(/ /g, ""));
    });
  }
  it("254- and 255-byte runs", () => {
    expect(hex(cobsEncode(run(254)))).toBe("ff" + hex(run(254)));
    const zeroThen254 = concat(Uint8Array.of(0), run(254));
    expect(hex(cobsEncode(zeroThen254))).toBe("01ff" + hex(run(254)));
    expect(hex(cobsEncode(run(255)))).toBe("ff" + hex(run(254)) + "02ff");
    const r = new Random(7);
    for (let i = 0; i < 500; i++) {
      const data = Uint8Array.from({ length: r.int(0, 600) }, () => (r.chance(0.1) ? 0 : r.int(0, 255)));
      const enc = cobsEncode(data);
      expect(enc.includes(0)).toBe(false);
      expect(enc.length).toBeLessThanOrEqual(data.length + Math.max(1, Math.ceil(data.length / 254)));
      expect(hex(cobsDecode(enc)!)).toBe(hex(data));
    }
  });
  it("decode refuses a 0x00 inside and a code past the end", () => {
    expect(cobsDecode(bytes("03 11 00"))).toBeNull();
    expect(cobsDecode(bytes("05 11 22"))).toBeNull();
  });
});

describe("SerialReader", () => {
  const frames = vectors.map((v) => v.bytes);
  const stream = concat(...frames.map((f) => serialFrame(f)));

  it("decodes every vector from one stream, and from one byte at a time", () => {
    expect(new SerialReader().push(stream).map((d) => hex(d.bytes))).toEqual(frames.map(hex));
    const reader = new SerialReader();
    const got: string[] = [];
    for (const b of stream) for (const d of reader.push(Uint8Array.of(b))) got.push(hex(d.bytes));
    expect(got).toEqual(frames.map(hex));
    expect(reader.stats).toEqual({ frames: frames.length, badBlocks: 0, garbageBytes: 0 });
  });

  it("drops boot text and noise, counts them, and resynchronises at the next delimiter", () => {
    const text = new TextEncoder().encode("ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET)\r\n");
    const reader = new SerialReader();
    const errors: string[] = [];
    const r2 = new SerialReader((e) => errors.push(e));
    // text glued to a frame without a leading delimiter costs that frame; with one, nothing is lost
    const glued = concat(text, serialFrame(frames[0]), serialFrame(frames[1]));
    expect(reader.push(glued).map((d) => hex(d.bytes))).toEqual([hex(frames[1])]);
    expect(reader.stats.badBlocks).toBe(1);
    expect(reader.stats.garbageBytes).toBe(text.length + serialFrame(frames[0]).length - 1);
    const separated = concat(text, serialFrame(frames[0], true), serialFrame(frames[1], true));
    expect(r2.push(separated).map((d) => hex(d.bytes))).toEqual([hex(frames[0]), hex(frames[1])]);
    expect(r2.stats).toMatchObject({ frames: 2, badBlocks: 1, garbageBytes: text.length });
    expect(errors).toEqual(["not a COBS block"]);
  });

  it("joins mid-frame: the tail is dropped, the next frame decoded", () => {
    const reader = new SerialReader();
    const tail = serialFrame(frames[0]).subarray(9);
    expect(reader.push(concat(tail, serialFrame(frames[2]))).map((d) => d.frame.type)).toEqual([vectors[2].fields.type]);
    expect(reader.stats.badBlocks).toBe(1);
  });

  it("keeps no more than one encoded frame of a block without delimiter", () => {
    const reader = new SerialReader();
    const noise = new Uint8Array(100_000).fill(0x55);
    expect(reader.push(noise)).toEqual([]);
    expect(reader.push(serialFrame(frames[3]))).toEqual([]); // glued onto the noise
    expect(reader.stats).toMatchObject({ badBlocks: 1, garbageBytes: 100_000 + serialFrame(frames[3]).length - 1 });
    expect(reader.push(serialFrame(frames[4])).length).toBe(1);
  });
});

describe("TcpReader", () => {
  const frames = vectors.map((v) => v.bytes);
  const kinds = (m: TcpMessage[]): string[] => m.map((x) => (x.kind === "frame" ? `frame:${x.frame.type}` : x.kind));

  it("iotfw framing after the preamble, split anywhere", () => {
    const stream = concat(TCP_PREAMBLE, ...frames.map(tcpFrame));
    const r = new TcpReader();
    const got: TcpMessage[] = [];
    const rng = new Random(3);
    for (let i = 0; i < stream.length; ) {
      const n = rng.int(1, 7);
      got.push(...r.push(stream.subarray(i, i + n)));
      i += n;
    }
    expect(r.framing).toBe("iotfw");
    expect(got.map((m) => (m.kind === "frame" ? hex(m.bytes) : m.kind))).toEqual(frames.map(hex));
  });

  it("a bad frame is an error value and the next frame still decodes; an oversize length is skipped", () => {
    const bad = frames[0].slice();
    bad[5] ^= 1;
    const oversize = concat(bytes("0400"), new Uint8Array(1024));
    const r = new TcpReader();
    const got = r.push(concat(TCP_PREAMBLE, tcpFrame(bad), tcpFrame(frames[1]), oversize, tcpFrame(frames[2])));
    expect(kinds(got)).toEqual(["error", `frame:${vectors[1].fields.type}`, "error", `frame:${vectors[2].fields.type}`]);
    expect(got[0]).toMatchObject({ framing: "iotfw", error: expect.stringMatching(/bad CRC/) });
    expect(got[2]).toMatchObject({ error: expect.stringMatching(/1024 bytes exceeds 512/) });
    expect(r.stats).toEqual({ frames: 2, jsonMessages: 0, errors: 2, skippedBytes: 1024 });
  });

  it("MicroPython framing: objects are control, arrays data, anything else an error value", () => {
    const r = new TcpReader();
    const got = r.push(concat(
      jsonMessage({ cmd: "read", sensor: "dht22", frame_ms: 1000, count: 5 }),
      jsonMessage([{ sensor: "dht22", t: 1, temperature: 21.5 }]),
      jsonMessage(42),
      bytes("00000003"), new TextEncoder().encode("{x:"),
      bytes("00000002"), Uint8Array.of(0xc3, 0x28),
    ));
    expect(r.framing).toBe("json");
    expect(kinds(got)).toEqual(["json-control", "json-data", "error", "error", "error"]);
    expect(got[0]).toEqual({ kind: "json-control", value: { cmd: "read", sensor: "dht22", frame_ms: 1000, count: 5 } });
    expect(got[2]).toMatchObject({ framing: "json", error: expect.stringMatching(/neither an object/) });
  });

  it("a 4 GB JSON length is skipped as it arrives, never buffered", () => {
    const r = new TcpReader({ maxJsonBytes: 1000 });
    const got = r.push(concat(bytes("fffffff0"), new Uint8Array(5000)));
    expect(kinds(got)).toEqual(["error"]);
    expect(r.stats.skippedBytes).toBe(5000);
    for (let i = 0; i < 10; i++) r.push(new Uint8Array(1 << 20));
    expect(r.stats.skippedBytes).toBe(5000 + 10 * (1 << 20));
  });
});
