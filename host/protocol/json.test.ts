// frameToJson: names for type, kind, op and level; channel names and units from the device's hello;
// NaN as null; the result survives JSON.stringify unchanged.
import { describe, expect, it } from "vitest";
import type { HelloFrame } from "./frame.js";
import { frameToJson, num } from "./json.js";
import { loadProtocolVectors } from "./vectors.js";

const vectors = loadProtocolVectors();
const fields = (name: string) => vectors.find((v) => v.name === name)!.fields;
const hello = fields("hello-6ch") as HelloFrame;

describe("frameToJson", () => {
  it("every vector has device, seq, type and t, and is plain JSON", () => {
    for (const v of vectors) {
      const j = frameToJson(v.fields, hello.channels);
      expect(j).toMatchObject({ device: v.fields.device, seq: v.fields.seq, type: v.fields.type, t: v.fields.t });
      expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    }
  });

  it("summary: channel names and units from the hello, NaN statistics as null", () => {
    const j = frameToJson(fields("summary-5ch"), hello.channels);
    const channels = j.channels as Array<Record<string, unknown>>;
    expect(channels[0]).toEqual({ channel: 0, name: "temperature", unit: "°C", count: 60, min: 21.5, max: 23.25, mean: 22.375, std: 0.5, last: 22.75 });
    expect(channels[3]).toMatchObject({ channel: 3, name: "co2", unit: "ppm", count: 0, min: null, mean: null, last: null });
    expect((frameToJson(fields("summary-5ch")).channels as object[])[0]).not.toHaveProperty("name");
  });

  it("names: event kind, hello channel kind, log level, ack op, control op", () => {
    expect(frameToJson(fields("event-fault"), hello.channels)).toMatchObject({ kind: "fault", name: "humidity", unit: "%", value: null, code: -10 });
    expect(frameToJson(fields("event-value"), hello.channels)).toMatchObject({ kind: "value", name: "button", value: 1 });
    expect((frameToJson(hello).channels as object[])[5]).toEqual({ id: 5, kind: "rare", name: "button", unit: "" });
    expect(frameToJson(fields("log"))).toMatchObject({ level: "info" });
    expect(frameToJson(fields("ack-error"))).toMatchObject({ op: "set_threshold", result: -4 });
    expect(frameToJson(fields("control-set-threshold"))).toEqual({
      type: "control", device: 0x00c0ffee, seq: 4242, t: 0, op: "set_threshold", channel: 0, high: 30.5, low: null, hysteresis: 0.5,
    });
    expect(frameToJson({ ...(fields("event-value") as object), kind: 99 } as never)).toMatchObject({ kind: "unknown_99" });
  });
});

describe("float32 values in JSON", () => {
  it("are written in the shortest form that reads back as the same float32", () => {
    expect(num(Math.fround(22.1))).toBe(22.1);
    expect(num(Math.fround(1013.3007202148438))).toBe(1013.3007);
    expect(num(Math.fround(0.3))).toBe(0.3);
    expect(num(Math.fround(1e-7))).toBe(1e-7);
    for (let i = 0; i < 10_000; i++) { // every one reads back exactly, never longer than 9 digits
      const f = Math.fround((Math.sin(i) * 10 ** ((i % 13) - 6)));
      const n = num(f)!;
      expect(Math.fround(n)).toBe(f);
      expect(Number(n.toPrecision(9))).toBe(n); // at most 9 significant digits
    }
  });
  it("leave integers, non-float32 numbers and non-finite values as JSON needs them", () => {
    expect(num(16_777_217)).toBe(16_777_217); // a u32 field, not a float
    expect(num(0.1)).toBe(0.1); // not a float32: as it is
    expect(num(NaN)).toBeNull();
    expect(num(Infinity)).toBeNull();
  });
});
