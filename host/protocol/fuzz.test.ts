// Seeded fuzz of everything that reads bytes from a link: decodeFrame, SerialReader and TcpReader get
// 100,000+ random and mutated inputs (bit flips, truncations, insertions, random chunks, valid frames
// spliced in). No exception may escape, and after garbage the next properly delimited frame decodes.
import { describe, expect, it } from "vitest";
import { Random } from "../../simulator/random.js";
import { decodeFrame } from "./codec.js";
import { serialFrame, tcpFrame, TCP_PREAMBLE } from "./link-framing.js";
import { SerialReader } from "./serial-reader.js";
import { TcpReader } from "./tcp-reader.js";
import { loadProtocolVectors } from "./vectors.js";

const frames = loadProtocolVectors().map((v) => v.bytes);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function randomBytes(r: Random, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => r.int(0, 255));
}
/** A valid frame, damaged one of five ways. */
function mutate(r: Random, b: Uint8Array): Uint8Array {
  const out = b.slice();
  switch (r.int(0, 4)) {
    case 0: for (let k = r.int(1, 4); k > 0; k--) out[r.int(0, out.length - 1)] ^= 1 << r.int(0, 7); return out;
    case 1: return out.slice(0, r.int(0, out.length - 1));
    case 2: { const at = r.int(0, out.length); return Uint8Array.from([...out.subarray(0, at), ...randomBytes(r, r.int(1, 8)), ...out.subarray(at)]); }
    case 3: return Uint8Array.from([...out, ...frames[r.int(0, frames.length - 1)]]);
    default: return randomBytes(r, r.int(0, 600));
  }
}

describe("fuzz", () => {
  it("decodeFrame: 60,000 mutated and random inputs, never throws, rejects damage", () => {
    const r = new Random(0xf00d);
    let rejected = 0;
    for (let i = 0; i < 60_000; i++) {
      const base = frames[r.int(0, frames.length - 1)];
      const input = mutate(r, base);
      const res = decodeFrame(input);
      expect(typeof res.ok).toBe("boolean");
      // accepted only when the damage undid itself (the same bit flipped twice): CRC-32 catches the rest
      if (res.ok) expect(hex(input)).toBe(hex(base));
      else rejected++;
    }
    expect(rejected).toBeGreaterThan(59_900);
  });

  it("SerialReader: 30,000 garbage bursts between frames; each frame after a delimiter decodes", () => {
    const r = new Random(0xbeef);
    const reader = new SerialReader();
    let expected = 0;
    let got = 0;
    for (let i = 0; i < 30_000; i++) {
      // garbage: raw noise, a damaged encoded frame, or a frame's tail; sometimes containing 0x00
      const g = r.int(0, 2);
      const garbage = g === 0 ? randomBytes(r, r.int(1, 40))
        : g === 1 ? serialFrame(mutate(r, frames[r.int(0, frames.length - 1)])).subarray(0, -1)
          : serialFrame(frames[r.int(0, frames.length - 1)]).subarray(r.int(1, 10));
      const good = frames[r.int(0, frames.length - 1)];
      const stream = Uint8Array.from([...garbage, ...serialFrame(good, true)]);
      // feed in random chunk sizes
      const out: string[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = r.int(1, 64);
        for (const d of reader.push(stream.subarray(at, at + n))) out.push(hex(d.bytes));
        at += n;
      }
      expected++;
      got += out.filter((h) => h === hex(good)).length;
      expect(out[out.length - 1]).toBe(hex(good));
    }
    expect(got).toBeGreaterThanOrEqual(expected);
    expect(reader.stats.badBlocks).toBeGreaterThan(0);
  });

  it("TcpReader: 10,000 random streams in random chunks never throw; a damaged frame does not stop the next", () => {
    const r = new Random(0xcafe);
    for (let i = 0; i < 5_000; i++) {
      const reader = new TcpReader({ maxJsonBytes: 4096 });
      const stream = r.chance(0.5) ? Uint8Array.from([...TCP_PREAMBLE, ...randomBytes(r, r.int(0, 300))]) : randomBytes(r, r.int(0, 300));
      for (let at = 0; at < stream.length; ) {
        const n = r.int(1, 50);
        const msgs = reader.push(stream.subarray(at, at + n));
        for (const m of msgs) expect(["frame", "json-control", "json-data", "error"]).toContain(m.kind);
        at += n;
      }
    }
    for (let i = 0; i < 5_000; i++) {
      const reader = new TcpReader();
      const bad = mutate(r, frames[r.int(0, frames.length - 1)]).subarray(0, 512);
      const good = frames[r.int(0, frames.length - 1)];
      const msgs = reader.push(Uint8Array.from([...TCP_PREAMBLE, ...tcpFrame(bad), ...tcpFrame(good)]));
      const last = msgs[msgs.length - 1];
      expect(last.kind === "frame" && hex(last.bytes)).toBe(hex(good));
    }
  });
});
