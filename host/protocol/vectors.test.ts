// The host codec against the golden vectors (docs/protocol-vectors.json): decoding each vector's bytes
// gives its fields, encoding its fields gives its bytes. The device side checks the same file in
// firmware/tests/frame-encoder.test.ts.
import { describe, expect, it } from "vitest";
import { ControlOp, FrameType } from "./frame.js";
import { decodeFrame, encodeFrame } from "./codec.js";
import { loadProtocolVectors } from "./vectors.js";

const vectors = loadProtocolVectors();

describe("golden vectors, host codec", () => {
  it("cover every frame type and every control op", () => {
    const types = new Set(vectors.map((v) => v.fields.type));
    expect([...types].sort()).toEqual(Object.keys(FrameType).sort());
    const ops = new Set(vectors.flatMap((v) => (v.fields.type === "control" ? [v.fields.op] : [])));
    expect([...ops].sort()).toEqual(Object.keys(ControlOp).sort());
  });

  for (const v of vectors) {
    it(`${v.name}: decode(hex) equals the fields, encode(fields) equals the hex`, () => {
      expect(v.bytes.length).toBe(v.length);
      const r = decodeFrame(v.bytes);
      expect(r).toEqual({ ok: true, frame: v.fields });
      expect(Buffer.from(encodeFrame(v.fields)).toString("hex")).toBe(v.hex);
    });
  }

  it("f32 values in the vectors are exactly representable", () => {
    const floats: number[] = [];
    for (const v of vectors) {
      const f = v.fields;
      if (f.type === "summary") for (const e of f.entries) floats.push(e.min, e.max, e.mean, e.std, e.last);
      if (f.type === "event") floats.push(f.value);
      if (f.type === "control" && f.op === "set_threshold") floats.push(f.high, f.low, f.hysteresis);
      if (f.type === "control" && f.op === "set_deadband") floats.push(f.deadband);
    }
    for (const x of floats) if (!Number.isNaN(x)) expect(Math.fround(x)).toBe(x);
  });
});
