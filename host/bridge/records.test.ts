// The spool's record format on its own: a frame's bytes and the names of the channels it refers to go to
// disk, and the JSON a consumer gets is built from them when forwarding — the same JSON whether the record
// is still in memory, read back from disk, or was written by an older bridge as JSON (an upgrade with
// undelivered records in the spool loses nothing).
import { describe, expect, it } from "vitest";
import { decodeFrameAllowingHmac, encodeFrame, frameToJson, signFrame, type Frame } from "../protocol/index.js";
import { decodeRecord, encodeRecord, mqttMessages, recordKey, upstreamMessage, type SpoolRecord } from "./records.js";
import { eventFrame, helloFrame, TEST_HELLO_CHANNELS } from "./testing.js";

const summary: Frame = {
  type: "summary", device: 0xc0ffee, seq: 7, t: 70_000, windowStart: 60_000, windowMs: 10_000,
  entries: [
    { channel: 0, count: 10, min: 20, max: 22, mean: 21, std: 0.5, last: 21.5 },
    { channel: 1, count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN },
    { channel: 9, count: 1, min: 1, max: 1, mean: 1, std: 0, last: 1 }, // not in the hello
  ],
};
/** A record as the bridge makes it: the frame as received, decoded from those bytes (f32 values). */
const record = (frame: Frame, bytes = encodeFrame(frame)): SpoolRecord => {
  const d = decodeFrameAllowingHmac(bytes);
  if (!d.ok) throw new Error(d.error);
  return { device: frame.device, session: 41, seq: frame.seq, rx: 1_700_000_000_123.25, frame: bytes, decoded: d.frame, channels: TEST_HELLO_CHANNELS };
};

describe("spool records", () => {
  it("read back from disk give the same upstream JSON as in memory, with the names known at acceptance", () => {
    for (const frame of [eventFrame(0xc0ffee, 9), summary, helloFrame(0xc0ffee), { ...eventFrame(0xc0ffee, 3), channel: 255 } as Frame]) {
      const r = record(frame);
      const back = decodeRecord(encodeRecord(r));
      expect(back).toMatchObject({ device: r.device, session: 41, seq: frame.seq, rx: r.rx });
      expect(Buffer.from(back.frame!)).toEqual(Buffer.from(r.frame!));
      expect(upstreamMessage(back)).toEqual(upstreamMessage(r));
      expect(JSON.stringify(mqttMessages(back))).toBe(JSON.stringify(mqttMessages(r)));
    }
    const [temperature, button, ch9] = mqttMessages(decodeRecord(encodeRecord(record(summary))));
    expect(temperature).toMatchObject({ topic: "temperature/summary", payload: { device: "00c0ffee", session: 41, name: "temperature", unit: "°C", mean: 21 } });
    expect(button.payload).toMatchObject({ name: "button", mean: null });
    expect(ch9.topic).toBe("ch9/summary");
  });

  it("keep a signed frame signed, and give de-duplication its key and CRC without decoding it all", () => {
    const signed = signFrame(encodeFrame(eventFrame(0xc0ffee, 5)), Buffer.alloc(32, 7));
    const body = encodeRecord(record(eventFrame(0xc0ffee, 5), signed));
    expect(Buffer.from(decodeRecord(body).frame!)).toEqual(Buffer.from(signed));
    expect(recordKey(body)).toEqual({ device: 0xc0ffee, seq: 5, session: 41, crc: Buffer.from(signed).readUInt32LE(signed.length - 4) });
    expect(upstreamMessage(decodeRecord(body))).toMatchObject({ type: "event", seq: 5, name: "temperature" });
  });

  it("a MicroPython node's message is stored as JSON, and has no de-duplication key", () => {
    const r: SpoolRecord = { device: 0x1234, session: 3, seq: 2, rx: 5, message: { type: "data", device: 0x1234, seq: 2, t: 0, readings: [{ name: "hall", value: 12 }] } };
    const body = encodeRecord(r);
    expect(upstreamMessage(decodeRecord(body))).toEqual({ type: "data", device: "00001234", seq: 2, t: 0, readings: [{ name: "hall", value: 12 }], session: 3 });
    expect(recordKey(body)).toBeNull();
  });

  it("records written by an older bridge (JSON, frame in base64) still replay and de-duplicate", () => {
    const frame = eventFrame(0xc0ffee, 9);
    const bytes = encodeFrame(frame);
    const old = Buffer.from(JSON.stringify({
      device: frame.device, session: 41, seq: 9, rx: 12, frame: Buffer.from(bytes).toString("base64"), message: frameToJson(record(frame).decoded!, TEST_HELLO_CHANNELS),
    }));
    expect(upstreamMessage(decodeRecord(old))).toEqual(upstreamMessage(record(frame)));
    expect(recordKey(old)).toMatchObject({ device: 0xc0ffee, seq: 9, session: 41, crc: Buffer.from(bytes).readUInt32LE(bytes.length - 4) });
    expect(Buffer.from(decodeRecord(old).frame!)).toEqual(Buffer.from(bytes));
  });
});
