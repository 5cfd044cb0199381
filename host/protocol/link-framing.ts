// The sending side of the link framings around bare frames (docs/protocol.md "Link framing"): serial
// (COBS + 0x00 delimiter), TCP (the "IOTF" preamble, then u16 big-endian length + frame), and the
// MicroPython JSON framing (u32 big-endian length + UTF-8 JSON). The readers are serial-reader.ts and
// tcp-reader.ts. Pure functions.
import { cobsEncode } from "./cobs.js";
import { FRAME_MAX } from "./frame.js";

export const SERIAL_DELIMITER = 0x00;
/** What a device sends first on a TCP connection: "IOTF". */
export const TCP_PREAMBLE = Uint8Array.of(0x49, 0x4f, 0x54, 0x46);
/** Default cap on one MicroPython JSON message; longer ones are skipped, never buffered. */
export const JSON_MESSAGE_MAX = 64 * 1024;

/** A frame as it goes on a serial line: COBS then 0x00. With leadingDelimiter a 0x00 goes first too,
 *  which a writer sharing the line with text (boot ROM, console logs) must do so the text cannot glue
 *  onto the frame. */
export function serialFrame(frame: Uint8Array, leadingDelimiter = false): Uint8Array {
  const enc = cobsEncode(frame);
  const lead = leadingDelimiter ? 1 : 0;
  const out = new Uint8Array(lead + enc.length + 1);
  out.set(enc, lead);
  return out; // delimiters are the zero bytes already in place
}

/** A frame as it goes on TCP after the preamble: u16 big-endian length, then the frame. */
export function tcpFrame(frame: Uint8Array): Uint8Array {
  if (frame.length > FRAME_MAX) throw new RangeError(`frame of ${frame.length} bytes exceeds ${FRAME_MAX}`);
  const out = new Uint8Array(2 + frame.length);
  new DataView(out.buffer).setUint16(0, frame.length, false);
  out.set(frame, 2);
  return out;
}

/** One MicroPython-framed message: u32 big-endian length, then UTF-8 JSON. */
export function jsonMessage(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
}
