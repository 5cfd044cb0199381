// The core's rules through the compiled Wasm: thresholds with hysteresis (no chatter), deadband (rules
// only), rare channels, faults and their clearing, and the channel table's limit.
import { describe, expect, test } from "vitest";
import { EventKind, type EventFrame } from "../../host/protocol/index.js";
import { ReferenceRules } from "../../simulator/reference/aggregator.js";
import { CoreDevice, mulberry32, ofType } from "./core-harness.js";

const FREQUENT = 0;
const RARE = 1;
const KIND_NAME: Record<number, string> = Object.fromEntries(Object.entries(EventKind).map(([k, v]) => [v, k]));

async function deviceWith(kinds: number[]): Promise<{ d: CoreDevice; ch: number[] }> {
  const d = await CoreDevice.create();
  const ch = kinds.map((k) => d.x.addTestChannel(k));
  d.init(0);
  d.take();
  return { d, ch };
}
const events = (d: CoreDevice): EventFrame[] => ofType(d.take(), "event");
const brief = (es: EventFrame[]) => es.map((e) => ({ kind: KIND_NAME[e.kind], value: e.value }));

describe("thresholds", () => {
  test("ALERT_HIGH once on crossing, CLEAR below high - hysteresis, nothing in between", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setThreshold(a, 30, NaN, 1);
    [29, 30, 30.5, 29.5, 30.25, 29.125, 30.75, 29, 28.75, 30.125].forEach((v, i) => d.x.sample(a, v, i * 10));
    expect(brief(events(d))).toEqual([
      { kind: "ALERT_HIGH", value: 30.5 },
      { kind: "CLEAR", value: 28.75 },
      { kind: "ALERT_HIGH", value: 30.125 },
    ]);
  });

  test("ALERT_LOW mirrors it; a jump across both sides clears then alerts", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setThreshold(a, 30, 10, 2);
    [12, 9.5, 11, 12.5, 35, 5].forEach((v, i) => d.x.sample(a, v, i));
    expect(brief(events(d))).toEqual([
      { kind: "ALERT_LOW", value: 9.5 },
      { kind: "CLEAR", value: 12.5 },
      { kind: "ALERT_HIGH", value: 35 },
      { kind: "CLEAR", value: 5 },
      { kind: "ALERT_LOW", value: 5 },
    ]);
  });

  test("noise around the threshold inside the hysteresis band: one alert, no chatter", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setThreshold(a, 30, NaN, 1);
    const rand = mulberry32(7);
    for (let i = 0; i < 2000; i++) d.x.sample(a, 30 + (rand() - 0.5) * 1.8, i); // 29.1 .. 30.9
    expect(brief(events(d)).map((e) => e.kind)).toEqual(["ALERT_HIGH"]);
  });

  test("random walk: the same events as the TypeScript reference", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setThreshold(a, 3, -3, 0.75);
    d.x.setDeadband(a, 0.25);
    const ref = new ReferenceRules();
    ref.setThreshold(3, -3, 0.75);
    ref.deadband = 0.25;
    const rand = mulberry32(11);
    let v = 0;
    const want: Array<{ kind: string; value: number }> = [];
    for (let i = 0; i < 5000; i++) {
      v = Math.fround(v + (rand() - 0.5) * 2); // f32 values: the frame's value is then exact
      d.x.sample(a, v, i);
      want.push(...ref.apply(v));
    }
    const got = brief(events(d));
    expect(got.length).toBeGreaterThan(20);
    expect(got).toEqual(want);
  });
});

describe("deadband", () => {
  test("a sample within deadband of the last accepted one is ignored by the rules, not by the stats", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setWindow(a, 0, 3);
    d.x.setThreshold(a, 10.25, NaN, 0);
    d.x.setDeadband(a, 0.5);
    d.x.sample(a, 10, 0);
    d.x.sample(a, 10.375, 1); // above high, but |10.375 - 10| < 0.5: ignored by the rules
    expect(events(d)).toEqual([]);
    d.x.sample(a, 10.5, 2);   // |10.5 - 10| >= 0.5: accepted
    const frames = d.take();
    expect(brief(ofType(frames, "event"))).toEqual([{ kind: "ALERT_HIGH", value: 10.5 }]);
    expect(ofType(frames, "summary")[0].entries[0]).toMatchObject({ count: 3, min: 10, max: 10.5 });
  });
});

describe("rare channels and faults", () => {
  test("event() sends an EVENT_VALUE at once; rules apply to rare values too", async () => {
    const { d, ch: [r] } = await deviceWith([RARE]);
    d.x.setThreshold(r, 100, NaN, 0);
    d.x.event(r, 42, 5);
    d.x.event(r, 150, 6);
    d.x.event(r, NaN, 7); // missing: counted, not sent
    const got = events(d);
    expect(got.map((e) => [e.channel, KIND_NAME[e.kind], e.value, e.t])).toEqual([
      [r, "VALUE", 42, 5], [r, "VALUE", 150, 6], [r, "ALERT_HIGH", 150, 6],
    ]);
  });

  test("EVENT_FAULT once on entering fault, FAULT_CLEARED with the next valid reading; a fault is never a reading", async () => {
    const { d, ch: [a, b] } = await deviceWith([FREQUENT, FREQUENT]);
    d.x.setWindow(a, 0, 2);
    d.x.fault(a, -2, 10); d.x.fault(a, -2, 20); d.x.fault(a, -3, 30);
    d.x.sample(a, NaN, 40); // missing is not a good reading
    expect(events(d).map((e) => [e.channel, KIND_NAME[e.kind], e.code, e.t])).toEqual([[a, "FAULT", -2, 10]]);
    d.x.sample(a, 7, 50);
    const frames = d.take();
    expect(brief(ofType(frames, "event"))).toEqual([{ kind: "FAULT_CLEARED", value: 7 }]);
    expect(ofType(frames, "summary")[0].entries[0]).toMatchObject({ count: 1, last: 7 }); // NaN + 7: faults added nothing
    d.x.fault(a, -1, 60);
    d.x.fault(b, -1, 60);
    expect(events(d).map((e) => [e.channel, KIND_NAME[e.kind]])).toEqual([[a, "FAULT"], [b, "FAULT"]]);
    d.tick(60_000);
    expect(ofType(d.take(), "status")[0]).toMatchObject({ faults: 3, samples: 1, dropped: 1 });
  });
});

describe("channel table", () => {
  test("channel-table overflow: -1 past 32, no trap, no corruption", async () => {
    const d = await CoreDevice.create();
    const ids = Array.from({ length: 32 }, (_, i) => d.x.addTestChannel(i % 2));
    expect(ids).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(d.x.addTestChannel(FREQUENT)).toBe(-1);
    expect(d.x.addTestChannel(RARE)).toBe(-1);
    expect(d.x.attachTableSensor(1, 0, 1000, 0)).toBe(-1);
    d.x.sample(32, 1, 0); d.x.event(40, 1, 0); d.x.fault(-1, -2, 0); d.x.setWindow(99, 1, 1); d.x.setThreshold(-5, 1, 0, 0);
    d.init(0);
    const [hello] = ofType(d.take(), "hello");
    expect(hello.channels.map((c) => [c.id, c.kind, c.name, c.unit])).toEqual(ids.map((i) => [i, i % 2, `c${i}`, "u"]));
    d.x.sample(30, 1.5, 1); // channel 30 is frequent and still works (default window: 60 s)
    d.tick(60_001);
    const frames = d.take();
    expect(ofType(frames, "summary")[0].entries).toMatchObject([{ channel: 30, count: 1, last: 1.5 }]);
    expect(ofType(frames, "event")).toEqual([]);
  });

  test("a sensor whose channels do not all fit adds none of them", async () => {
    const d = await CoreDevice.create();
    for (let i = 0; i < 30; i++) d.x.addTestChannel(FREQUENT);
    expect(d.x.attachTableSensor(3, 0, 1000, 0)).toBe(-1);
    expect(d.x.attachTableSensor(2, 0, 1000, 0)).toBe(30);
    expect(d.x.addTestChannel(FREQUENT)).toBe(-1);
  });
});
