// Tests of the dashboard's server side without a browser: the store's memory bounds, the per-client
// queue's coalescing, and the HTTP server (routes, snapshot, NaN as null, subscriptions, Host check,
// and a client that stops reading being held to bounded memory). Waits on conditions, never on time.
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ClientQueue } from "./client-queue.js";
import type { DashboardEvent, DashboardEventKind, SummaryEvent } from "./events.js";
import { startDashboard, type Dashboard } from "./server.js";
import { DashboardStore, SeriesRing } from "./store.js";

const summary = (device: number, channel: number, t: number, mean = t): SummaryEvent =>
  ({ kind: "summary", device, t, channel, count: 1, min: mean, max: mean, mean, std: 0, last: mean });

describe("DashboardStore", () => {
  it("keeps the newest points of a series in order, up to its cap", () => {
    const ring = new SeriesRing();
    for (let t = 1; t <= 100; t++) ring.push(summary(1, 0, t), 30);
    expect(ring.size).toBe(30);
    expect(ring.columns().t).toEqual(Array.from({ length: 30 }, (_, i) => 71 + i));
    ring.push(summary(1, 0, 101), 10); // a lower cap keeps the newest
    expect(ring.columns().t).toEqual(Array.from({ length: 10 }, (_, i) => 92 + i));
  });

  it("lowers the per-series cap as series multiply, never below the floor", () => {
    const store = new DashboardStore({ pointsPerSeries: 100, pointBudget: 1_000, minPointsPerSeries: 5, eventsKept: 3 });
    for (let d = 1; d <= 4; d++) for (let t = 1; t <= 200; t++) store.add(summary(d, 0, t));
    expect(store.pointsPerSeriesNow).toBe(100);
    expect(store.seriesOf("all").map((s) => s.t.length)).toEqual([100, 100, 100, 100]);
    for (let d = 5; d <= 400; d++) store.add(summary(d, 0, 1));
    expect(store.pointsPerSeriesNow).toBe(5);
    store.add(summary(1, 0, 201));
    expect(store.seriesOf([1])[0].t).toEqual([197, 198, 199, 200, 201]);
  });

  it("keeps the latest events and each device's alert and fault state", () => {
    const store = new DashboardStore({ eventsKept: 3 });
    const ev = (t: number, channel: number, event: DashboardEventKind): DashboardEvent =>
      ({ kind: "event", device: 1, t, channel, event, value: t, code: 0 });
    for (const e of [ev(1, 0, "ALERT_HIGH"), ev(2, 1, "ALERT_LOW"), ev(3, 0, "CLEAR"), ev(4, 2, "FAULT"), ev(5, 3, "VALUE")]) store.add(e);
    const snap = store.snapshot([]);
    expect(snap.events.map((e) => e.t)).toEqual([3, 4, 5]);
    expect(snap.devices[0].alerting.map((e) => e.channel)).toEqual([1]);
    expect(snap.devices[0].fault).toMatchObject({ channel: 2 });
    store.add(ev(6, 255, "RESET"));
    expect(store.snapshot([]).devices[0]).toMatchObject({ alerting: [], fault: null, lastSeen: 6 });
  });
});

describe("ClientQueue", () => {
  it("sends everything in order, and only the charted devices' summaries", () => {
    const q = new ClientQueue(new Set([1]));
    q.push(summary(1, 0, 1)); q.push(summary(2, 0, 1)); q.push(summary(1, 0, 2));
    expect(q.take()).toEqual({ events: [summary(1, 0, 1), summary(1, 0, 2)], skipped: 0 });
    expect(q.take()).toBeNull();
  });

  it("compacts to the latest per series when too much piles up, keeping every alert", () => {
    const q = new ClientQueue("all", { maxOrdered: 100, maxEvents: 1_000 });
    for (let t = 1; t <= 1_000; t++) {
      for (let d = 1; d <= 3; d++) q.push(summary(d, 0, t));
      if (t % 100 === 0) q.push({ kind: "event", device: 1, t, channel: 0, event: "ALERT_HIGH", value: t, code: 0 });
    }
    expect(q.isCompacted).toBe(true);
    expect(q.pending).toBe(3 + 10);
    const batch = q.take()!;
    expect(batch.events.filter((e) => e.kind === "summary").map((e) => [e.device, e.t])).toEqual([[1, 1_000], [2, 1_000], [3, 1_000]]);
    expect(batch.events.filter((e) => e.kind === "event")).toHaveLength(10);
    expect(batch.skipped).toBe(3_000 - 3);
    expect(q.isCompacted).toBe(false); // the socket took it: back to every event
  });
});

/** GET/POST with an arbitrary Host header (fetch will not let us set it). */
function raw(url: string, path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? "GET",
      headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c) => (body += c)).on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject).end();
  });
}

describe("dashboard server", () => {
  let dash: Dashboard | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await dash?.close();
    dash = undefined;
  });

  it("binds to loopback on a free port and serves only the page's files", async () => {
    dash = await startDashboard({ port: 0 });
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await raw(dash.url, "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain('src="/app.js"');
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    for (const f of ["/app.js", "/chart.js", "/dashboard.css"]) expect((await raw(dash.url, f)).status).toBe(200);
    expect((await raw(dash.url, "/../../package.json")).status).toBe(404);
    expect((await raw(dash.url, "/server.ts")).status).toBe(404);
    expect((await raw(dash.url, "/state", { method: "POST" })).status).toBe(405);
    expect((await raw(dash.url, "/state?devices=1,x")).status).toBe(400);
    expect((await raw(dash.url, "/subscribe?session=99&devices=1", { method: "POST" })).status).toBe(404);
    // A foreign name pointing at 127.0.0.1 (DNS rebinding) gets nothing.
    expect((await raw(dash.url, "/state", { host: "evil.example:80" })).status).toBe(403);
    expect((await raw(dash.url, "/state", { host: "localhost" })).status).toBe(200);
  });

  it("serves a snapshot with NaN as null, series only for the devices asked", async () => {
    dash = await startDashboard({ port: 0 });
    dash.publish({ kind: "hello", device: 3, t: 0, firmware: "a@1", board: "esp32", channels: [{ id: 0, name: "t", unit: "°C", rare: false }] });
    dash.publish(summary(3, 0, 10));
    dash.publish({ ...summary(4, 0, 20), count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN });
    const all = JSON.parse((await raw(dash.url, "/state")).body);
    expect(all.devices.map((d: { id: number }) => d.id)).toEqual([3, 4]);
    expect(all.series).toHaveLength(2);
    expect(all.series[1]).toEqual({ device: 4, channel: 0, t: [20], count: [0], min: [null], max: [null], mean: [null], std: [null], last: [null] });
    const one = JSON.parse((await raw(dash.url, "/state?devices=3")).body);
    expect(one.series.map((s: { device: number }) => s.device)).toEqual([3]);
    expect(one.t).toBe(20);
  });

  it("holds a client that stops reading to the latest per series instead of buffering everything", async () => {
    dash = await startDashboard({ port: 0, flushMs: 5 });
    const d = dash;
    const u = new URL(dash.url);
    const socket = connect(Number(u.port), u.hostname);
    sockets.push(socket);
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    socket.pause(); // never read: the kernel buffers fill, then Node's, then the server must stop writing
    await vi.waitFor(() => expect(d.stats().clients).toBe(1));
    const mean = 1e6 + 0.123456789; // long numbers make big batches
    for (let round = 0; d.stats().compactedClients === 0; round++) {
      for (let i = 0; i < 2_000; i++) d.publish(summary(1 + (i % 50), i % 4, round * 2_000 + i, mean));
      await new Promise((r) => setImmediate(r)); // let flushes run
      expect(round).toBeLessThan(2_000);
    }
    // Keep publishing: the queue stays at one summary per series (50 devices x 4 channels).
    for (let i = 0; i < 100_000; i++) d.publish(summary(1 + (i % 50), i % 4, 1e7 + i, mean));
    expect(d.stats().compactedClients).toBe(1);
    expect(d.stats().maxPending).toBeLessThanOrEqual(200);
  });

  it("sends a snapshot first, then batches; a subscription narrows summaries and returns history", async () => {
    dash = await startDashboard({ port: 0, flushMs: 5 });
    dash.publish(summary(1, 0, 1)); dash.publish(summary(2, 0, 1));
    const controller = new AbortController();
    const res = await fetch(new URL("/events?devices=none", dash.url), { signal: controller.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const nextMessage = async (): Promise<{ event: string; data: unknown }> => {
      for (;;) {
        const end = text.indexOf("\n\n");
        if (end >= 0) {
          const block = text.slice(0, end); text = text.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data) continue; // a comment or retry line alone
          return { event: /^event: (.*)$/m.exec(block)?.[1] ?? "message", data: JSON.parse(data) };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += value;
      }
    };
    const snap = await nextMessage() as { event: string; data: { session: number; series: unknown[]; devices: unknown[] } };
    expect(snap.event).toBe("snapshot");
    expect(snap.data.series).toEqual([]);
    expect(snap.data.devices).toHaveLength(2);
    dash.publish(summary(1, 0, 2));
    dash.publish({ kind: "status", device: 1, t: 2, samples: 1, dropped: 0, faults: 0, framesSent: 1, resets: 0, sleeping: false });
    expect(await nextMessage()).toEqual({ event: "message", data: { events: [{ kind: "status", device: 1, t: 2, samples: 1, dropped: 0, faults: 0, framesSent: 1, resets: 0, sleeping: false }], skipped: 0 } });
    const sub = await fetch(new URL(`/subscribe?session=${snap.data.session}&devices=2`, dash.url), { method: "POST" });
    expect((await sub.json()).series.map((s: { device: number; t: number[] }) => [s.device, s.t])).toEqual([[2, [1]]]);
    dash.publish(summary(1, 0, 3)); dash.publish(summary(2, 0, 3));
    expect(await nextMessage()).toEqual({ event: "message", data: { events: [summary(2, 0, 3)], skipped: 0 } });
    expect(dash.stats().clients).toBe(1);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    const d = dash;
    await vi.waitFor(() => expect(d.stats().clients).toBe(0)); // a client that left costs nothing
  });
});
