// Simulated devices on the same links as real ones: over TCP to a real `iotfw bridge` (frames upstream,
// `ctl`-style control back down to one device, acknowledged), and on a pseudo-terminal read by the
// same SerialReader the monitor and the bridge use.
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import mqtt from "mqtt";
import { Bridge } from "../bridge/bridge.js";
import { Mosquitto, waitFor } from "../bridge/testing.js";
import { parseCommand } from "../bridge/commands.js";
import { openLink } from "../link/open.js";
import { SerialReader, encodeFrame, serialFrame, type Frame } from "../protocol/index.js";
import { simulate } from "./session.js";

const tmp = () => mkdtempSync(join(tmpdir(), "iotfw-links-"));


describe("simulated devices on real links", () => {
  it("send to a bridge over TCP as devices on Wi-Fi, and take a control command back down", async () => {
    const dir = tmp();
    const out = join(dir, "up.ndjson");
    const bridge = await Bridge.start({ listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`], spoolDir: join(dir, "spool"), http: "off", log: () => undefined });
    const abort = new AbortController();
    const running = simulate({
      devices: 3, board: "esp32", durationMs: Infinity, speed: 40, seed: 4, inProcess: true, workers: 1, buildDir: tmp(),
      bridgeUrl: `tcp://127.0.0.1:${bridge.tcpAddress!.port}`, signal: abort.signal,
    });
    try {
      const lines = () => (existsSync(out) ? readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
      await waitFor(() => lines().filter((l) => l.type === "hello").length === 3, "three hellos upstream", 20_000);
      const ack = await bridge.control(2, parseCommand({ op: "set_window", channel: "all", ms: 10_000 }), 10_000);
      expect(ack.result).toBe(0);
      // Device 2 now closes 10 s windows; the others keep 60 s.
      await waitFor(() => lines().some((l) => l.type === "summary" && l.device === "00000002" && l.windowMs === 10_000), "a 10 s window from device 2", 20_000);
      expect(lines().some((l) => l.type === "summary" && l.device !== "00000002" && l.windowMs === 10_000)).toBe(false);
    } finally {
      abort.abort();
      await running;
      await bridge.stop();
    }
  });

  it("expose device 1 on a pseudo-terminal: frames out with serial framing, control frames in", async () => {
    const path = join(tmp(), "ttySIM");
    const abort = new AbortController();
    const running = simulate({
      devices: 2, board: "esp32", durationMs: Infinity, speed: 40, seed: 4, inProcess: true, workers: 1, buildDir: tmp(),
      serialPath: path, signal: abort.signal,
    });
    try {
      await waitFor(() => existsSync(path), "the pty link", 20_000);
      const link = await openLink({ kind: "serial", path, baudRate: 115200 });
      const reader = new SerialReader();
      const frames: Frame[] = [];
      link.stream.on("data", (chunk: Buffer) => { for (const f of reader.push(chunk)) frames.push(f.frame); });
      link.stream.write(serialFrame(encodeFrame({ type: "control", device: 1, seq: 5, t: 0, op: "ping" }), true));
      const ack = await waitFor(() => frames.find((f) => f.type === "ack"), "the ack", 20_000);
      expect(ack).toMatchObject({ device: 1, ackedSeq: 5, result: 0 });
      await waitFor(() => frames.find((f) => f.type === "summary"), "a summary", 30_000);
      expect(frames.every((f) => f.device === 1)).toBe(true); // only the exposed device is on this "USB port"
      await link.close();
    } finally {
      abort.abort();
      await running;
    }
    expect(existsSync(path)).toBe(false);
  });

  it("publish to a real mosquitto with --mqtt: per-device, per-channel topics with names and units", async () => {
    const broker = await Mosquitto.start();
    const sub = await mqtt.connectAsync(broker.url);
    const got: Array<{ topic: string; body: Record<string, unknown> }> = [];
    sub.on("message", (topic, payload) => { try { got.push({ topic, body: JSON.parse(payload.toString()) }); } catch { /* plain text */ } });
    await sub.subscribeAsync("iotfw/#", { qos: 1 });
    const abort = new AbortController();
    const running = simulate({
      devices: 2, board: "esp32", durationMs: Infinity, speed: 60, seed: 4, inProcess: true, workers: 1, buildDir: tmp(),
      mqttUrl: broker.url, signal: abort.signal,
    });
    try {
      await waitFor(() => ["00000001", "00000002"].every((d) => got.some((m) => m.topic === `iotfw/${d}/hello`)), "hellos of both devices", 20_000);
      const summary = await waitFor(() => got.find((m) => /^iotfw\/0000000[12]\/temperature\/summary$/.test(m.topic)), "a temperature summary", 30_000);
      expect(summary.body).toMatchObject({ name: "temperature", unit: "degC", windowMs: 60_000 });
      expect(summary.body.count).toBeGreaterThan(50);
    } finally {
      abort.abort();
      await running;
      await sub.endAsync();
      await broker.stop();
    }
  });
});
