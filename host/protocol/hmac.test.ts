// The HMAC trailer (docs/protocol.md "HMAC trailer"): layout, round trip, tamper and wrong-key detection,
// and that plain readers still refuse signed frames while decodeFrameAllowingHmac reads them.
import { createHmac } from "node:crypto";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame } from "./codec.js";
import { decodeFrameAllowingHmac, signFrame, unsignFrame, verifyFrameHmac } from "./hmac.js";

const key = Buffer.alloc(32, 0x5a);
const plain = encodeFrame({ type: "event", device: 0xc0ffee, seq: 9, t: 125000, channel: 0, kind: 1, value: 30.5, code: 0 });

describe("HMAC trailer", () => {
  it("is flags 0x01, HMAC-SHA256(header+payload)[0..8], then CRC-32 of everything before", () => {
    const signed = signFrame(plain, key);
    expect(signed.length).toBe(plain.length + 8);
    expect(signed[2]).toBe(1);
    const n = plain.length - 4;
    const expectMac = createHmac("sha256", key).update(signed.subarray(0, n)).digest().subarray(0, 8);
    expect(Buffer.from(signed.subarray(n, n + 8))).toEqual(expectMac);
    expect(Buffer.from(signed).readUInt32LE(n + 8)).toBe(crc32(signed.subarray(0, n + 8)) >>> 0);
    expect(verifyFrameHmac(signed, key)).toBe(true);
    expect(verifyFrameHmac(signed, Buffer.alloc(32, 1))).toBe(false);
  });
  it("round-trips, and plain decodeFrame still rejects it", () => {
    const signed = signFrame(plain, key);
    expect(decodeFrame(signed).ok).toBe(false);
    const r = decodeFrameAllowingHmac(signed);
    expect(r.ok && r.frame).toMatchObject({ type: "event", device: 0xc0ffee, seq: 9, value: 30.5 });
    const u = unsignFrame(signed);
    expect(u.ok && Buffer.from(u.plain)).toEqual(Buffer.from(plain));
  });
  it("a changed byte fails the CRC; a re-CRCed change fails the HMAC", () => {
    const signed = signFrame(plain, key);
    const bad = Uint8Array.from(signed);
    bad[20] ^= 1;
    expect(decodeFrameAllowingHmac(bad).ok).toBe(false);
    const forged = Uint8Array.from(bad);
    Buffer.from(forged.buffer).writeUInt32LE(crc32(forged.subarray(0, forged.length - 4)) >>> 0, forged.length - 4);
    expect(decodeFrameAllowingHmac(forged).ok).toBe(true);
    expect(verifyFrameHmac(forged, key)).toBe(false);
  });
});
