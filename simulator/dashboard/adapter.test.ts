// Tests of the fleet-to-dashboard adapter: real encoded frames (host codec) in a FrameBatch become the
// DashboardEvents the page expects, stamped with fleet time; counters and frames per second come out
// right with an injected wall clock; broken frames are counted, not fatal.
import { describe, expect, it } from "vitest";
import { encodeFrame, type Frame } from "../../host/protocol/index.js";
import { FrameBatchBuilder } from "../fleet/frame-batch.js";
import type { SliceResult } from "../fleet/fleet.js";
import { DashboardFeed } from "./adapter.js";
import type { DashboardEvent } from "./events.js";

const hello: Frame = {
  type: "hello", device: 7, seq: 0, t: 0, abi: 1, firmware: "env-station@0.1.0", board: "esp32", appHash: "9f86d081884c7d65",
  samplePeriodMs: 1000, channels: [{ id: 0, kind: 0, name: "temperature", unit: "°C" }, { id: 5, kind: 1, name: "button", unit: "" }],
};
const summary: Frame = {
  type: "summary", device: 7, seq: 1, t: 60_000, windowStart: 0, windowMs: 60_000,
  entries: [
    { channel: 0, count: 60, min: 21.5, max: 23.25, mean: 22.375, std: 0.5, last: 22.75 },
    { channel: 1, count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN },
  ],
};
const alert: Frame = { type: "event", device: 7, seq: 2, t: 61_000, channel: 0, kind: 1, value: 30.5, code: 0 };
const fault: Frame = { type: "event", device: 8, seq: 5, t: 61_000, channel: 1, kind: 5, value: NaN, code: -10 };
const unknownKind: Frame = { type: "event", device: 8, seq: 6, t: 61_000, channel: 1, kind: 99, value: 1, code: 0 };
const status: Frame = { type: "status", device: 7, seq: 3, t: 62_000, samples: 62, dropped: 1, faults: 0, framesSent: 4, resets: 2, sleeping: true };
const log: Frame = { type: "log", device: 7, seq: 4, t: 62_000, level: 2, text: "hi" };

function slice(frames: Array<[number, Frame]>, extra: Uint8Array[] = [], resets = 0): SliceResult {
  const b = new FrameBatchBuilder();
  for (const [tick, f] of frames) b.add(tick, f.device, encodeFrame(f));
  for (const bytes of extra) b.add(frames.at(-1)![0], 7, bytes);
  return {
    batch: b.take(),
    resets: Array.from({ length: resets }, (_, i) => ({ device: 8, reason: 3, detail: "fuel", atMs: 1000 + i })),
    ticks: frames.length,
  };
}

describe("DashboardFeed", () => {
  it("turns frames into dashboard events at fleet time, one summary event per entry", () => {
    const events: DashboardEvent[] = [];
    let wall = 0;
    const feed = new DashboardFeed({ publish: (e) => events.push(e), devices: 2, wallClock: () => wall });
    wall = 500;
    feed.addSlice(slice([[1_000, hello], [61_000, summary], [61_500, alert], [61_500, fault], [61_500, unknownKind], [62_000, status], [62_000, log]],
      [new Uint8Array([1, 2, 3])], 1), 63_000);

    expect(events.map((e) => e.kind)).toEqual(["hello", "summary", "summary", "event", "event", "status", "fleet"]);
    expect(events[0]).toEqual({
      kind: "hello", device: 7, t: 1_000, firmware: "env-station@0.1.0", board: "esp32",
      channels: [{ id: 0, name: "temperature", unit: "°C", rare: false }, { id: 5, name: "button", unit: "", rare: true }],
    });
    expect(events[1]).toEqual({ kind: "summary", device: 7, t: 61_000, channel: 0, count: 60, min: 21.5, max: 23.25, mean: 22.375, std: 0.5, last: 22.75 });
    expect(events[2]).toMatchObject({ channel: 1, count: 0 });
    expect(Number.isNaN((events[2] as { mean: number }).mean)).toBe(true);
    expect(events[3]).toEqual({ kind: "event", device: 7, t: 61_500, channel: 0, event: "ALERT_HIGH", value: 30.5, code: 0 });
    expect(events[4]).toMatchObject({ device: 8, event: "FAULT", code: -10 });
    expect(events[5]).toEqual({ kind: "status", device: 7, t: 62_000, samples: 62, dropped: 1, faults: 0, framesSent: 4, resets: 2, sleeping: true });
    // 8 frames (one malformed) in 0.5 s of wall time.
    expect(events[6]).toEqual({ kind: "fleet", t: 63_000, devices: 2, framesPerSecond: 16, alerts: 1, faults: 1, resets: 1 });
    expect(feed.counters).toEqual({ frames: 8, malformed: 1, alerts: 1, faults: 1, resets: 1 });
  });

  it("a CHANNELS frame after the hello publishes the hello again with the whole table; a new hello resets it", () => {
    const events: DashboardEvent[] = [];
    const feed = new DashboardFeed({ publish: (e) => events.push(e), devices: 1, wallClock: () => 0 });
    const more: Frame = { type: "channels", device: 7, seq: 1, t: 0, channels: [{ id: 6, kind: 0, name: "co2", unit: "ppm" }] };
    const orphan: Frame = { ...more, device: 9 }; // no hello from device 9 yet: nothing to add to
    feed.addSlice(slice([[1_000, hello], [1_000, more], [1_000, orphan], [2_000, { ...hello, seq: 2 }]]), 2_000);
    const hellos = events.filter((e) => e.kind === "hello") as Array<{ t: number; channels: Array<{ id: number; name: string }> }>;
    expect(hellos.map((h) => [h.t, h.channels.map((c) => c.id)])).toEqual([[1_000, [0, 5]], [1_000, [0, 5, 6]], [2_000, [0, 5]]]);
    expect(hellos[1].channels[2]).toEqual({ id: 6, name: "co2", unit: "ppm", rare: false });
  });

  it("measures frames per second over a sliding wall-clock window", () => {
    const fleet: DashboardEvent[] = [];
    let wall = 0;
    const feed = new DashboardFeed({ publish: (e) => e.kind === "fleet" && fleet.push(e), devices: 1, wallClock: () => wall, rateWindowMs: 2_000 });
    const tenFrames = () => slice(Array.from({ length: 10 }, (_, i): [number, Frame] => [i, { ...status, seq: i }]));
    // 10 frames every 100 ms of wall time: 100 frames/s, whatever the slice count.
    for (let k = 1; k <= 50; k++) { wall = k * 100; feed.addSlice(tenFrames(), k * 1000); }
    expect(fleet.at(-1)).toMatchObject({ framesPerSecond: 100 });
    // Then the fleet slows to 10 frames every second: after a full window the rate shows it.
    for (let k = 1; k <= 3; k++) { wall = 5_000 + k * 1000; feed.addSlice(tenFrames(), 50_000 + k * 1000); }
    expect(fleet.at(-1)).toMatchObject({ framesPerSecond: 10 });
  });
});
