// frameToJson: names for type, kind, op and level; channel names and units from the device's hello;
// NaN as null; the result survives JSON.stringify unchanged.
import { describe, expect, it } from "vitest";
import type { HelloFrame } from "./frame.js";
import { frameToJson } from "./json.js";
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
