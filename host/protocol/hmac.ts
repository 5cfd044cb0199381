// The optional HMAC trailer of a frame (docs/protocol.md "HMAC trailer"): flags bit 0 set, then after the
// payload 8 bytes = HMAC-SHA256(key, header + payload) truncated to its first 8 bytes, then the CRC-32 over
// everything before it. Sign, verify, and strip back to a plain frame so decodeFrame can read it.
// Used by the bridge (--keys) and by tests acting as keyed devices. Pure functions; touches nothing.
import { createHmac, timingSafeEqual } from "node:crypto";
import { decodeFrame, frameCrc } from "./codec.js";
import { CRC_SIZE, FRAME_MAX, FRAME_MIN, HEADER_SIZE, type DecodeResult } from "./frame.js";

/** Flags bit 0: an HMAC trailer follows the payload. */
export const FLAG_HMAC = 0x01;
/** Bytes of the truncated HMAC-SHA256 in the trailer. */
export const HMAC_SIZE = 8;
/** The largest plain frame that can still be signed within FRAME_MAX. */
export const SIGNABLE_FRAME_MAX = FRAME_MAX - HMAC_SIZE;

/** True when the bytes claim an HMAC trailer (flags byte is exactly FLAG_HMAC). */
export function isSignedFrame(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[2] === FLAG_HMAC;
}

function mac(key: Uint8Array, signedPart: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(signedPart).digest().subarray(0, HMAC_SIZE);
}

function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + CRC_SIZE);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, frameCrc(out, body.length), true);
  return out;
}

/** Sign a plain (flags 0, valid) frame with a device key. Throws RangeError if it is not one or too long. */
export function signFrame(frame: Uint8Array, key: Uint8Array): Uint8Array {
  if (!decodeFrame(frame).ok) throw new RangeError("signFrame needs a valid plain frame");
  if (frame.length > SIGNABLE_FRAME_MAX) throw new RangeError(`frame of ${frame.length} bytes is too long to sign (max ${SIGNABLE_FRAME_MAX})`);
  const end = frame.length - CRC_SIZE;
  const signedPart = Uint8Array.from(frame.subarray(0, end));
  signedPart[2] = FLAG_HMAC;
  const body = new Uint8Array(end + HMAC_SIZE);
  body.set(signedPart);
  body.set(mac(key, signedPart), end);
  return withCrc(body);
}

/** The plain frame inside a signed one (flags 0, trailer removed, CRC recomputed), or an error if the
 *  signed frame's length or CRC is wrong. Does NOT check the HMAC (see verifyFrameHmac). */
export function unsignFrame(bytes: Uint8Array): { ok: true; plain: Uint8Array } | { ok: false; error: string } {
  if (!isSignedFrame(bytes)) return { ok: false, error: "flags bit 0 not set: no HMAC trailer" };
  if (bytes.length < FRAME_MIN + HMAC_SIZE || bytes.length > FRAME_MAX) return { ok: false, error: `bad length: ${bytes.length} bytes for a signed frame` };
  const end = bytes.length - CRC_SIZE;
  const want = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(end, true);
  if (frameCrc(bytes, end) !== want) return { ok: false, error: "bad CRC on a signed frame" };
  const inner = Uint8Array.from(bytes.subarray(0, end - HMAC_SIZE));
  inner[2] = 0;
  return { ok: true, plain: withCrc(inner) };
}

/** Whether a signed frame's trailer is the HMAC of its header and payload under `key`. Constant time. */
export function verifyFrameHmac(bytes: Uint8Array, key: Uint8Array): boolean {
  if (!isSignedFrame(bytes) || bytes.length < HEADER_SIZE + HMAC_SIZE + CRC_SIZE) return false;
  const end = bytes.length - CRC_SIZE - HMAC_SIZE;
  return timingSafeEqual(mac(key, bytes.subarray(0, end)), bytes.subarray(end, end + HMAC_SIZE));
}

/** decodeFrame that also reads signed frames (structure and CRC only; the HMAC is the caller's to check
 *  with the device's key). For the readers' `decode` option. Never throws. */
export function decodeFrameAllowingHmac(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array) || !isSignedFrame(bytes)) return decodeFrame(bytes);
  const inner = unsignFrame(bytes);
  return inner.ok ? decodeFrame(inner.plain) : { ok: false, error: inner.error };
}
