// Issue 11, memory under a flood: the bound on frames waiting for the disk over all TCP connections
// (intake.ts). A real bridge runs in-process with an NDJSON upstream and commits slowed down by
// --commit-ms; many connections each write their frames at once, more than the bound in total. While
// the commits lag, /metrics must show reading paused and at most the bound plus one read's frames
// pending (a bound per connection would let them all in); afterwards every frame is upstream, once.
// May touch: temp folders it creates, loopback ports.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFrame, tcpFrame } from "../protocol/index.js";
import { Bridge } from "./bridge.js";
import { IntakeGate } from "./intake.js";
import { eventFrame, helloFrame, TcpDevice, tempDir, waitFor } from "./testing.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

const CONNECTIONS = 20;
const PER_CONNECTION = 1000;
const BOUND = 1000;

function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

describe("the bound on frames waiting for the disk (issue 11)", () => {
  it("pauses every connection's reading past the bound, resumes them as commits land, and delivers every frame once", async () => {
    const spoolDir = tempDir();
    const out = join(tempDir(), "out.ndjson");
    const b = await Bridge.start({
      spoolDir, listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`], http: "127.0.0.1:0", log: () => undefined,
      maxPendingFrames: BOUND, commitIntervalMs: 200, // a slow disk: one commit every 200 ms
    });
    cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }), () => b.stop());
    const metrics = async () => (await fetch(`http://127.0.0.1:${b.httpAddress!.port}/metrics`)).text();

    const devices: TcpDevice[] = [];
    for (let i = 0; i < CONNECTIONS; i++) devices.push(await TcpDevice.connect(b.tcpAddress!.port));
    cleanups.push(() => { for (const d of devices) d.close(); });
    devices.forEach((d, i) => d.send(helloFrame(0xf000 + i)));
    await waitFor(() => b.metrics.framesIn.total() >= CONNECTIONS, "the hellos");

    // Each connection writes its frames in one go: 20 x 1,000, twenty times the bound.
    devices.forEach((d, i) => {
      const frames: Buffer[] = [];
      for (let s = 1; s <= PER_CONNECTION; s++) frames.push(Buffer.from(tcpFrame(encodeFrame(eventFrame(0xf000 + i, s)))));
      d.socket.write(Buffer.concat(frames));
    });

    // While commits lag, reading is paused with the bound (plus the read that crossed it) pending.
    const paused = await waitFor(async () => { const t = await metrics(); return gauge(t, "iotfw_bridge_intake_paused") === 1 ? t : null; }, "reading paused");
    const pending = gauge(paused, "iotfw_bridge_intake_pending");
    expect(pending).toBeGreaterThanOrEqual(BOUND);
    expect(pending).toBeLessThan(BOUND + PER_CONNECTION);
    expect(b.metrics.framesIn.total()).toBeLessThan(CONNECTIONS * (PER_CONNECTION + 1));

    // Then everything: each (device, seq) upstream exactly once, none refused or dropped.
    const total = CONNECTIONS * (PER_CONNECTION + 1);
    const lines = () => readFileSync(out, "utf8").split("\n").filter(Boolean);
    await waitFor(() => lines().length >= total, "every frame upstream", 60_000);
    const keys = lines().map((l) => { const m = JSON.parse(l) as { device: string; seq: number }; return `${m.device}/${m.seq}`; });
    expect(new Set(keys).size).toBe(total);
    expect(keys.length).toBe(total);
    const end = await metrics();
    expect(gauge(end, "iotfw_bridge_intake_pending")).toBe(0);
    expect(gauge(end, "iotfw_bridge_intake_paused")).toBe(0);
    expect(gauge(end, "iotfw_bridge_intake_paused_total")).toBeGreaterThanOrEqual(1);
    expect(b.metrics.rejected.total()).toBe(0);
  }, 90_000);

  it("closes at the bound, opens at half of it, and tells every member each time", () => {
    const gate = new IntakeGate(10);
    const changes: boolean[] = [];
    gate.join({ gateChanged: () => changes.push(gate.closed) });
    gate.add(9);
    expect(gate.closed).toBe(false);
    gate.add(3);
    expect([gate.closed, gate.pending, gate.pauses]).toEqual([true, 12, 1]);
    gate.done(6);
    expect(gate.closed).toBe(true); // 6 pending: above half
    gate.done(1);
    expect([gate.closed, gate.pending]).toEqual([false, 5]);
    expect(changes).toEqual([true, false]);
    expect(new IntakeGate(0).closed).toBe(false); // 0: no bound
  });
});
