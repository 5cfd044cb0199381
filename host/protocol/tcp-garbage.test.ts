// TcpReader's byte count of garbage (issue 11): every byte that is not part of a valid message is in
// discardedBytes, and an error value carries the bytes it discarded; valid messages count nothing.
// Pure; touches nothing.
import { describe, expect, it } from "vitest";
import { Random } from "../../simulator/random.js";
import { jsonMessage, tcpFrame, TCP_PREAMBLE } from "./link-framing.js";
import { TcpReader } from "./tcp-reader.js";
import { loadProtocolVectors } from "./vectors.js";

const frames = loadProtocolVectors().map((v) => v.bytes);
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

describe("TcpReader garbage bytes", () => {
  it("counts prefix and body of a bad frame, an empty message and an oversize message's skipped bytes", () => {
    const bad = frames[0].slice();
    bad[5] ^= 1;
    const r = new TcpReader();
    const got = r.push(concat(TCP_PREAMBLE, tcpFrame(frames[1]), tcpFrame(bad), Uint8Array.of(0, 0), Uint8Array.of(0x04, 0x00), new Uint8Array(1024), tcpFrame(frames[2])));
    expect(got.map((m) => (m.kind === "error" ? m.bytes : m.kind))).toEqual(["frame", 2 + bad.length, 2, 2, "frame"]);
    expect(r.discardedBytes).toBe(2 + bad.length + 2 + 2 + 1024);
  });

  it("1 MB of random bytes: all of it discarded, whichever framing it is read as", () => {
    const rng = new Random(5);
    const noise = Uint8Array.from({ length: 1_000_000 }, () => rng.nextU32() & 0xff);
    for (const head of [new Uint8Array(0), TCP_PREAMBLE]) {
      const r = new TcpReader();
      for (let i = 0; i < noise.length; i += 4096) r.push(concat(head.subarray(0, i ? 0 : 4), noise.subarray(i, i + 4096)));
      // Bytes of a message still being collected are not garbage yet: at most one message's worth.
      expect(r.discardedBytes).toBeGreaterThan(noise.length - 65 * 1024);
      expect(r.discardedBytes).toBeLessThanOrEqual(noise.length);
    }
  });

  it("valid JSON messages discard nothing; a bad one its prefix and body", () => {
    const r = new TcpReader();
    const bad = concat(Uint8Array.of(0, 0, 0, 3), new TextEncoder().encode("{x:"));
    r.push(concat(jsonMessage({ a: 1 }), bad, jsonMessage([1, 2])));
    expect(r.discardedBytes).toBe(7);
  });
});
