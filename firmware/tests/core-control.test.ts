// Downlink CONTROL frames (built with host/protocol's encodeFrame) through the compiled core: ACKs,
// SET_WINDOW mid-window, SET_RATE, SET_THRESHOLD, SET_DEADBAND, SLEEP/WAKE, PING, HELLO, bad frames.
import { describe, expect, test } from "vitest";
import { ControlOp, EventKind, encodeFrame, type AckFrame } from "../../host/protocol/index.js";
import { CoreDevice, DEVICE_ID, ERR_INVALID, ofType } from "./core-harness.js";

const FREQUENT = 0;
const RARE = 1;

async function deviceWith(kinds: number[]): Promise<{ d: CoreDevice; ch: number[] }> {
  const d = await CoreDevice.create();
  const ch = kinds.map((k) => d.x.addTestChannel(k));
  d.init(0);
  d.take();
  return { d, ch };
}
function lastAck(d: CoreDevice): AckFrame { const acks = ofType(d.frames, "ack"); return acks[acks.length - 1]; }

describe("ACK", () => {
  test("PING: an ACK with the command's seq, op and result 0", async () => {
    const { d } = await deviceWith([FREQUENT]);
    expect(d.control({ op: "ping" }, 123)).toBe(0);
    expect(d.take()).toMatchObject([{ type: "ack", device: DEVICE_ID, t: 123, ackedSeq: d.lastControlSeq, op: ControlOp.ping, result: 0 }]);
  });

  test("HELLO: the hello again, then the ACK; broadcast frames are accepted", async () => {
    const { d } = await deviceWith([FREQUENT, RARE]);
    expect(d.control({ op: "hello" }, 5, 0xffffffff)).toBe(0);
    const frames = d.take();
    expect(frames.map((f) => f.type)).toEqual(["hello", "ack"]);
    expect(ofType(frames, "hello")[0].channels).toHaveLength(2);
  });

  test("an op the core refuses is ACKed with its negative status", async () => {
    const { d, ch: [f, r] } = await deviceWith([FREQUENT, RARE]);
    const refused = [
      { op: "set_window", channel: r, ms: 1000, count: 0 },        // a rare channel has no window
      { op: "set_window", channel: f, ms: 0, count: 0 },           // no bound at all
      { op: "set_window", channel: 7, ms: 1000, count: 0 },        // no such channel
      { op: "set_rate", periodMs: 0 },
      { op: "set_threshold", channel: f, high: 1, low: 2, hysteresis: 0 }, // low above high
      { op: "set_threshold", channel: 9, high: 1, low: NaN, hysteresis: 0 },
      { op: "set_deadband", channel: f, deadband: -1 },
    ] as const;
    for (const c of refused) {
      expect(d.control(c, 10)).toBe(ERR_INVALID);
      expect(lastAck(d)).toMatchObject({ ackedSeq: d.lastControlSeq, op: ControlOp[c.op], result: ERR_INVALID });
    }
  });

  test("a frame that cannot be trusted gets no ACK, only a status and a count", async () => {
    const { d } = await deviceWith([FREQUENT]);
    const good = encodeFrame({ type: "control", device: DEVICE_ID, seq: 9, t: 0, op: "ping" });
    const badCrc = good.slice(); badCrc[badCrc.length - 1] ^= 0x01;
    const otherDevice = encodeFrame({ type: "control", device: DEVICE_ID + 1, seq: 9, t: 0, op: "ping" });
    const notControl = encodeFrame({ type: "ack", device: DEVICE_ID, seq: 9, t: 0, ackedSeq: 1, op: 7, result: 0 });
    const truncated = good.subarray(0, good.length - 1);
    for (const bytes of [badCrc, otherDevice, notControl, truncated, new Uint8Array(0)]) expect(d.controlBytes(bytes, 1)).toBe(ERR_INVALID);
    expect(d.x.control(10_000)).toBe(ERR_INVALID); // longer than the control buffer
    expect(d.take()).toEqual([]);
    expect(d.x.controlRejected()).toBe(6);
    expect(d.controlBytes(good, 2)).toBe(0);
    expect(d.take()).toMatchObject([{ type: "ack", ackedSeq: 9 }]);
  });
});

describe("SET_WINDOW mid-window", () => {
  test("a window already past the new time bound closes at once, with all its samples", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setWindow(a, 10_000, 0);
    for (let t = 0; t <= 4000; t += 1000) d.x.sample(a, t, t);
    expect(d.control({ op: "set_window", channel: a, ms: 3000, count: 0 }, 4500)).toBe(0);
    const frames = d.take();
    expect(frames.map((f) => f.type)).toEqual(["summary", "ack"]);
    expect(ofType(frames, "summary")[0]).toMatchObject({ windowStart: 0, windowMs: 4500, entries: [{ count: 5, last: 4000 }] });
    // The next window runs under the new bound: it starts at 5000 (the 3000 ms grid slot [3000, 6000)
    // began before the previous end), closes on the grid line at 6000, and the one after is on the grid.
    for (let t = 5000; t <= 9000; t += 1000) d.x.sample(a, t, t);
    expect(ofType(d.take(), "summary")).toMatchObject([
      { windowStart: 5000, windowMs: 1000, entries: [{ count: 1 }] },
      { windowStart: 6000, windowMs: 3000, entries: [{ count: 3 }] },
    ]);
  });

  test("a window not yet past the new bounds goes on under them; no sample lost or counted twice", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.x.setWindow(a, 10_000, 0);
    let sent = 0;
    const feed = (from: number, to: number) => { for (let t = from; t <= to; t += 1000) { d.x.sample(a, 1, t); sent++; } };
    feed(0, 4000);
    expect(d.control({ op: "set_window", channel: a, ms: 8000, count: 0 }, 4500)).toBe(0);
    expect(ofType(d.take(), "summary")).toEqual([]);
    feed(5000, 8000); // 8000 = start + new ms: closes [0, 8000) and opens the next window
    expect(ofType(d.take(), "summary")).toMatchObject([{ windowStart: 0, windowMs: 8000, entries: [{ count: 8 }] }]);
    expect(d.control({ op: "set_window", channel: a, ms: 0, count: 2 }, 8500)).toBe(0); // 1 received < 2: goes on
    expect(ofType(d.take(), "summary")).toEqual([]);
    feed(9000, 9000);
    expect(d.control({ op: "set_window", channel: 0xff, ms: 0, count: 5 }, 9500)).toBe(0);
    feed(10_000, 14_000);
    d.tick(200_000);
    const counts = ofType(d.frames, "summary").flatMap((f) => f.entries.map((e) => e.count));
    expect(counts.reduce((s, c) => s + c, 0) + 8).toBe(sent); // the first 8 were taken above
  });

  test("lowering the count below what the window holds closes it now", async () => {
    const { d, ch: [a, b] } = await deviceWith([FREQUENT, FREQUENT]);
    for (let i = 0; i < 5; i++) { d.x.sample(a, i, i * 10); d.x.sample(b, i, i * 10); }
    expect(d.control({ op: "set_window", channel: 0xff, ms: 0, count: 3 }, 100)).toBe(0);
    const [s] = ofType(d.take(), "summary");
    expect(s).toMatchObject({ windowStart: 0, windowMs: 100 });
    expect(s.entries.map((e) => [e.channel, e.count])).toEqual([[a, 5], [b, 5]]); // both in ONE frame
  });
});

describe("SET_THRESHOLD and SET_DEADBAND", () => {
  test("a threshold set by control alerts; disabling the alerted side clears at once", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    expect(d.control({ op: "set_threshold", channel: a, high: 30, low: NaN, hysteresis: 1 }, 0)).toBe(0);
    d.x.sample(a, 31, 10);
    expect(ofType(d.take(), "event")).toMatchObject([{ kind: EventKind.ALERT_HIGH, value: 31 }]);
    expect(d.control({ op: "set_threshold", channel: a, high: 35, low: NaN, hysteresis: 1 }, 20)).toBe(0);
    expect(d.take().map((f) => f.type)).toEqual(["ack"]);
    d.x.sample(a, 34.5, 30); // still above 35 - 1: stays alerted under the new bound
    expect(ofType(d.take(), "event")).toEqual([]);
    d.x.sample(a, 33.75, 40); // below 35 - 1: clears
    expect(ofType(d.take(), "event")).toMatchObject([{ kind: EventKind.CLEAR, value: 33.75 }]);
    d.x.sample(a, 40, 50);
    d.take();
    expect(d.control({ op: "set_threshold", channel: a, high: NaN, low: NaN, hysteresis: 0 }, 60)).toBe(0);
    expect(d.take().map((f) => f.type === "event" ? `event:${f.kind}:${f.value}` : f.type)).toEqual([`event:${EventKind.CLEAR}:40`, "ack"]);
  });

  test("SET_DEADBAND by control", async () => {
    const { d, ch: [a] } = await deviceWith([FREQUENT]);
    d.control({ op: "set_threshold", channel: a, high: 10, low: NaN, hysteresis: 0 }, 0);
    expect(d.control({ op: "set_deadband", channel: a, deadband: 1 }, 0)).toBe(0);
    d.take();
    d.x.sample(a, 9.5, 1); d.x.sample(a, 10.25, 2); d.x.sample(a, 10.5, 3);
    expect(ofType(d.take(), "event")).toMatchObject([{ kind: EventKind.ALERT_HIGH, value: 10.5 }]);
  });
});

describe("SET_RATE and SLEEP/WAKE (an attached sensor)", () => {
  async function sensorDevice() {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(1, 0, 0, 0); // period 0: follows the device sample period (1000 ms)
    d.setReading(0, 0, 1);
    d.init(0);
    d.take();
    return { d, first };
  }
  function fetchTimes(d: CoreDevice, from: number, until: number): number[] {
    const times: number[] = [];
    let seen = d.fetches(0);
    let t = from;
    while (t <= until) {
      const delay = d.tick(t);
      expect(delay).toBeGreaterThanOrEqual(1);
      if (d.fetches(0) !== seen) { seen = d.fetches(0); times.push(d.lastFetchAt(0)); }
      t += delay;
    }
    return times;
  }

  test("SET_RATE: the next fetch is one new period after the last", async () => {
    const { d } = await sensorDevice();
    expect(fetchTimes(d, 0, 2100)).toEqual([0, 1000, 2000]);
    expect(d.control({ op: "set_rate", periodMs: 250 }, 2100)).toBe(0);
    expect(fetchTimes(d, 2101, 3000)).toEqual([2250, 2500, 2750, 3000]);
    d.control({ op: "hello" }, 3001);
    expect(ofType(d.take(), "hello")[0].samplePeriodMs).toBe(250);
  });

  test("SLEEP ms: no fetch until it ends; STATUS says sleeping; then fetching resumes", async () => {
    const { d } = await sensorDevice();
    expect(fetchTimes(d, 0, 1500)).toEqual([0, 1000]);
    expect(d.control({ op: "sleep", ms: 100_000 }, 1500)).toBe(0);
    expect(d.tick(1501)).toBe(58_499); // the next STATUS (60 000) comes before the end of the sleep
    expect(fetchTimes(d, 60_000, 101_499)).toEqual([]);
    expect(ofType(d.frames, "status").pop()).toMatchObject({ t: 60_000, sleeping: true });
    expect(fetchTimes(d, 101_500, 103_000)).toEqual([101_500, 102_500]);
  });

  test("SLEEP 0 lasts until WAKE; tick asks for long delays meanwhile", async () => {
    const { d } = await sensorDevice();
    fetchTimes(d, 0, 1000);
    expect(d.control({ op: "sleep", ms: 0 }, 1200)).toBe(0);
    const before = d.fetches(0);
    const delays: number[] = [];
    for (let t = 1201, i = 0; i < 5; i++) { const dl = d.tick(t); delays.push(dl); t += dl; }
    expect(d.fetches(0)).toBe(before);
    expect(Math.min(...delays.slice(1))).toBe(60_000);
    expect(d.control({ op: "wake" }, 400_000)).toBe(0);
    expect(fetchTimes(d, 400_001, 401_001)).toEqual([400_001, 401_001]);
  });
});
