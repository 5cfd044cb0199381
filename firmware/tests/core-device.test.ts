// The core as a device through the compiled Wasm: HELLO and STATUS, attached sensors (setup and fetch
// failures, retries, minimum interval, rare channels), a link that refuses frames, resets, tick's
// delays, no heap growth after init, and a channel table split over HELLO and CHANNELS frames.
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { compileAssemblyScript } from "../../host/build/compile.js";
import { ChannelTables, EventKind, decodeFrame, type Frame } from "../../host/protocol/index.js";
import { FleetTelemetry } from "../../simulator/fleet/telemetry.js";
import { FrameBatchBuilder } from "../../simulator/fleet/frame-batch.js";
import { HalHost, VirtualClock, emptyWiring } from "../../simulator/hal/host.js";
import { CoreDevice, DEVICE_ID, ERR_NOT_READY, mulberry32, ofType } from "./core-harness.js";

const FREQUENT = 0;
const RARE = 1;
const kindName = (k: number) => Object.entries(EventKind).find(([, v]) => v === k)?.[0];
const eventsOf = (frames: Frame[]) => ofType(frames, "event").map((e) => [e.channel, kindName(e.kind), e.code, e.t]);

describe("HELLO and STATUS", () => {
  test("init: HELLO with firmware, board, app hash prefix, boot id, period and channels, then STATUS; seq from 0", async () => {
    const appHash = createHash("sha256").update("app").digest();
    const d = await CoreDevice.create({ board: "esp32-devkitc", appHash, bootId: 0x5eedb007 });
    d.x.addTestChannel(FREQUENT);
    d.x.attachTableSensor(2, 0b10, 0, 0);
    d.x.setSamplePeriod(2000);
    expect(d.init(7)).toBe(0);
    const frames = d.take();
    expect(frames.map((f) => [f.type, f.seq, f.t, f.device])).toEqual([["hello", 0, 7, DEVICE_ID], ["status", 1, 7, DEVICE_ID]]);
    expect(frames[0]).toMatchObject({
      abi: 2, firmware: "core-test@1.0.0", board: "esp32-devkitc", appHash: appHash.subarray(0, 8).toString("hex"),
      bootId: "5eedb007", samplePeriodMs: 2000,
      channels: [
        { id: 0, kind: FREQUENT, name: "c0", unit: "u" },
        { id: 1, kind: FREQUENT, name: "s0", unit: "u" },
        { id: 2, kind: RARE, name: "s1", unit: "u" },
      ],
    });
    expect(frames[1]).toMatchObject({ samples: 0, dropped: 0, faults: 0, framesSent: 1, resets: 0, sleeping: false });
  });

  test("STATUS every 60 s of device time, with the counters", async () => {
    const d = await CoreDevice.create();
    const a = d.x.addTestChannel(FREQUENT);
    d.init(0);
    d.x.sample(a, 1, 10); d.x.sample(a, NaN, 20);
    const ticks = d.run(21, 180_000);
    expect(ticks.every((t, i) => i === 0 || t > ticks[i - 1])).toBe(true);
    const statuses = ofType(d.frames, "status");
    expect(statuses.map((s) => s.t)).toEqual([0, 60_000, 120_000, 180_000]);
    // hello, status, then the window [0, 60000) closing at 60000 just before this STATUS
    expect(statuses[1]).toMatchObject({ samples: 1, dropped: 1, faults: 0, framesSent: 3 });
    expect(d.frames.map((f) => f.seq)).toEqual(d.frames.map((_, i) => i));
  });

  test("a restarted module says why (EVENT_RESET) and STATUS counts the restarts", async () => {
    const d = await CoreDevice.create({ resetInfo: (3 << 8) | 1 });
    d.init(0);
    const frames = d.take();
    expect(frames.map((f) => f.type)).toEqual(["hello", "event", "status"]);
    expect(ofType(frames, "event")[0]).toMatchObject({ channel: 0xff, kind: EventKind.RESET, code: 1 });
    expect(ofType(frames, "status")[0].resets).toBe(3);
  });

  test("frame_out refusing (ERR_NOT_READY): the frame is counted as dropped and leaves a seq gap", async () => {
    const d = await CoreDevice.create();
    const r = d.x.addTestChannel(RARE);
    d.init(0);
    d.frameOutStatus = ERR_NOT_READY;
    d.x.event(r, 1, 1); d.x.event(r, 2, 2);
    d.frameOutStatus = 0;
    d.x.event(r, 3, 3);
    d.tick(60_000);
    const frames = d.take();
    expect(frames.map((f) => [f.type, f.seq])).toEqual([["hello", 0], ["status", 1], ["event", 4], ["status", 5]]);
    expect(ofType(frames, "status")[1]).toMatchObject({ samples: 3, dropped: 2, framesSent: 3 });
    expect(d.x.droppedFrames()).toBe(2);
  });
});

describe("attached sensors", () => {
  test("setup failing: FAULT on each channel at init, retried at each due time, then readings and FAULT_CLEARED", async () => {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(2, 0, 1000, 0);
    d.setSetupResult(0, -1);
    d.setReading(0, 0, 20); d.setReading(0, 1, 50);
    expect(d.init(0)).toBe(-1);
    expect(eventsOf(d.take())).toEqual([[first, "FAULT", -1, 0], [first + 1, "FAULT", -1, 0]]);
    d.run(0, 2500);
    expect(d.fetches(0)).toBe(0);
    expect(eventsOf(d.take())).toEqual([]); // still failing: no repeated faults
    d.setSetupResult(0, 0);
    d.run(3000, 3000);
    expect(d.fetches(0)).toBe(1);
    expect(eventsOf(d.take())).toEqual([[first, "FAULT_CLEARED", 0, 3000], [first + 1, "FAULT_CLEARED", 0, 3000]]);
  });

  test("fetch failing: FAULT once per channel, no reading; recovery clears", async () => {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(1, 0, 1000, 0);
    d.x.setWindow(first, 0, 3);
    d.setReading(0, 0, 5);
    d.init(0);
    d.run(0, 1000);                 // fetches at 0 and 1000
    d.setFetchResult(0, -2);
    d.run(2000, 4000);              // 3 failing fetches
    d.setFetchResult(0, 0);
    d.run(5000, 5000);
    const frames = d.take();
    expect(eventsOf(frames)).toEqual([[first, "FAULT", -2, 2000], [first, "FAULT_CLEARED", 0, 5000]]);
    expect(ofType(frames, "summary")[0].entries[0]).toMatchObject({ count: 3 }); // 0, 1000, 5000
  });

  test("never fetched sooner than minIntervalMs, even when asked for a faster rate", async () => {
    const d = await CoreDevice.create();
    d.x.attachTableSensor(1, 0, 100, 2000);
    d.init(0);
    const times: number[] = [];
    let t = 0;
    while (t <= 10_000) { t += d.tick(t); if (times[times.length - 1] !== d.lastFetchAt(0)) times.push(d.lastFetchAt(0)); }
    expect(times).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
  });

  test("a rare channel sends its reading only when fetch reports new events", async () => {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(2, 0b10, 500, 0);
    d.setReading(0, 0, 1); d.setReading(0, 1, 7);
    d.init(0);
    d.run(0, 1000);
    expect(ofType(d.take(), "event")).toEqual([]);
    d.setFetchResult(0, 1);
    d.run(1500, 1500);
    expect(ofType(d.take(), "event")).toMatchObject([{ channel: first + 1, kind: EventKind.VALUE, value: 7, t: 1500 }]);
  });

  test("one sensor's channels closing in one tick share one SUMMARY; tick asks for the next due thing", async () => {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(3, 0, 1000, 0);
    for (let i = 0; i < 3; i++) d.x.setWindow(first + i, 5000, 0);
    d.init(0);
    d.take();
    const delays: number[] = [];
    for (let t = 0; t <= 10_000;) { const dl = d.tick(t); delays.push(dl); t += dl; }
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1);
    expect(delays.every((x) => x <= 1000)).toBe(true);
    const sums = ofType(d.frames, "summary");
    expect(sums.map((s) => [s.windowStart, s.entries.length, s.entries[0].count])).toEqual([[0, 3, 5], [5000, 3, 5]]);
  });
});

describe("memory", () => {
  test("no heap growth after init across thousands of ticks, samples, events, faults and controls", async () => {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(3, 0b100, 250, 0);
    const extra = d.x.addTestChannel(FREQUENT);
    d.x.setWindow(first, 2000, 0); d.x.setWindow(first + 1, 0, 7); d.x.setThreshold(first, 0.5, -0.5, 0.1);
    d.init(0);
    const base = d.x.heapBase();
    const afterInit = d.x.heapProbe();
    expect(d.x.heapProbe()).toBe(afterInit); // the probe itself moves nothing
    const rand = mulberry32(5);
    let t = 0;
    for (let i = 0; i < 5000; i++) {
      d.setReading(0, 0, rand() * 2 - 1); d.setReading(0, 1, rand() < 0.1 ? NaN : rand()); d.setReading(0, 2, rand());
      d.setFetchResult(0, rand() < 0.05 ? -2 : rand() < 0.2 ? 1 : 0);
      t += d.tick(t);
      d.x.sample(extra, rand(), t);
      if (i % 500 === 0) {
        d.control({ op: "set_window", channel: 0xff, ms: 1000 + i, count: 0 }, t);
        d.control({ op: "hello" }, t);
        d.control({ op: "set_rate", periodMs: 100 + i }, t);
      }
    }
    expect(ofType(d.frames, "summary").length).toBeGreaterThan(100);
    expect(d.x.heapProbe()).toBe(afterInit);
    // The probe is sound: an allocation in between would show.
    d.x.leakForTest(40);
    expect(d.x.heapProbe()).toBeGreaterThan(afterInit);
    expect(afterInit - base).toBeLessThan(8 * 1024); // the core's fixed state, allocated at start
  });
});

describe("limits", () => {
  test("32 channels with long names: HELLO with those that fit, CHANNELS frames with the rest, all named", async () => {
    const d = await CoreDevice.create();
    for (let i = 0; i < 32; i++) expect(d.x.addLongChannel()).toBe(i);
    d.init(0);
    const boot = d.take();
    // 55 fixed bytes + 56 per channel: 8 fit in the HELLO and 8 in each CHANNELS frame (20 fixed bytes)
    expect(boot.map((f) => [f.type, f.seq])).toEqual([["hello", 0], ["channels", 1], ["channels", 2], ["channels", 3], ["status", 4]]);
    expect(d.raw.slice(0, 4).every((b) => b.length <= 512)).toBe(true);
    expect(ofType(boot, "status")[0]).toMatchObject({ dropped: 0, framesSent: 4 });
    const tables = new ChannelTables();
    for (const f of boot) tables.update(f);
    const name = (i: number) => `a-channel-name-that-is-forty-bytes-lo-${String(i).padStart(2, "0")}`;
    expect(tables.channels(DEVICE_ID)).toEqual(Array.from({ length: 32 }, (_, i) => ({ id: i, kind: FREQUENT, name: name(i), unit: "twelve-bytes" })));
    // telemetry (what simulate and the benchmarks count and print) names every channel of the summaries
    for (let ch = 0; ch < 32; ch++) d.x.sample(ch, ch, 10);
    d.run(1000, 60_000);
    const batch = new FrameBatchBuilder();
    for (const bytes of d.raw) batch.add(0, DEVICE_ID, bytes);
    const telemetry = new FleetTelemetry();
    const named = new Map<number, unknown>();
    for (const f of telemetry.ingest(batch.take())) {
      if (f.frame.type !== "summary") continue;
      for (const c of telemetry.toJson(f).channels as Array<{ channel: number; name?: string }>) named.set(c.channel, c.name);
    }
    expect([...named].sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 32 }, (_, i) => [i, name(i)]));
  });

  test("a channel whose name and unit alone are larger than a frame: a LOG says so after the HELLO", async () => {
    const d = await CoreDevice.create();
    d.x.addTestChannel(FREQUENT);
    d.x.addHugeChannel();
    d.init(0);
    const frames = d.take();
    expect(frames.map((f) => [f.type, f.seq])).toEqual([["hello", 0], ["log", 1], ["status", 2]]);
    expect(ofType(frames, "hello")[0].channels.map((c) => c.name)).toEqual(["c0"]);
    expect(ofType(frames, "log")[0]).toMatchObject({ level: 0, text: expect.stringContaining("do not fit in one frame") });
    expect(ofType(frames, "status")[0]).toMatchObject({ dropped: 1, framesSent: 2 });
  });

  test("device time wrapping past 2^32 ms: windows, fetches and STATUS go on", async () => {
    const d = await CoreDevice.create();
    const first = d.x.attachTableSensor(1, 0, 1000, 0);
    d.x.setWindow(first, 5000, 0);
    d.setReading(0, 0, 1);
    const start = 2 ** 32 - 7500;
    d.init(start);
    d.take();
    let t = start;
    while (t < start + 130_000) t += d.tick(t >>> 0);
    const sums = ofType(d.frames, "summary");
    // Across the wrap windows never overlap (each starts at or after the previous end, in u32 time),
    // the 5000 ms grid restarts at the wrap (one window there runs off-grid to the next grid line), and
    // every sample, one a second, is in exactly one window.
    for (let i = 1; i < sums.length; i++) {
      const prevEnd = (sums[i - 1].windowStart + sums[i - 1].windowMs) >>> 0;
      expect(((sums[i].windowStart - prevEnd) | 0) >= 0).toBe(true);
    }
    expect(sums.filter((s) => s.windowMs !== 5000).length).toBeLessThanOrEqual(2);
    const lastEnd = (sums.at(-1)!.windowStart + sums.at(-1)!.windowMs) >>> 0;
    expect(sums.reduce((n, s) => n + s.entries[0].count, 0)).toBe(Math.ceil(((lastEnd - start) >>> 0) / 1000));
    expect(sums[0].windowStart).toBe((start - (start % 5000)) >>> 0);
    expect(ofType(d.frames, "status").map((s) => s.t)).toEqual([(start + 60_000) >>> 0, (start + 120_000) >>> 0]);
  });
});

describe("an app declaring everything at top level", () => {
  test("channels, windows, thresholds and the sensor set during module start are in effect", async () => {
    const built = await compileAssemblyScript(["firmware/tests/entries/core-app.ts"]);
    expect(built.diagnostics).toBe("");
    const clock = new VirtualClock();
    const frames: Frame[] = [];
    const host = new HalHost({ deviceId: 9, board: "esp32", appHash: new Uint8Array(32), clock, wiring: emptyWiring(), onFrame: (b) => { const d = decodeFrame(b); if (d.ok) frames.push(d.frame); } });
    const { instance } = await WebAssembly.instantiate(built.binary as BufferSource, host.imports());
    host.bind(instance.exports.memory as WebAssembly.Memory);
    const x = instance.exports as unknown as { init(): number; tick(now: number): number };
    expect(x.init()).toBe(0);
    for (let t = 0; t <= 4000;) { clock.setMs(t); t += x.tick(t); }
    expect(ofType(frames, "hello")[0]).toMatchObject({
      firmware: "toplevel-app@2.3.4", samplePeriodMs: 500,
      channels: [{ id: 0, name: "button", kind: RARE }, { id: 1, name: "temperature", unit: "degC" }, { id: 2, name: "humidity", unit: "%RH" }],
    });
    const sums = ofType(frames, "summary");
    expect(sums.map((s) => [s.windowStart, s.windowMs, s.entries.map((e) => [e.channel, e.count])])).toEqual([
      [0, 2000, [[1, 4]]], [0, 3500, [[2, 8]]], [2000, 2000, [[1, 4]]],
    ]);
    expect(eventsOf(frames)).toEqual([[1, "ALERT_HIGH", 0, 2500]]); // 20 + k crosses 25.5 at the 6th fetch (t = 2500)
  });
});
