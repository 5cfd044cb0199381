// The bridge in-process with real parts: the embedded aedes broker and an MQTT.js subscriber, TCP
// devices speaking the iotfw framing, a MicroPython JSON node, a socat pty pair as a serial cable
// (garbage, truncated and corrupted bytes on it), per-device HMAC keys, a chained bridge, an HTTP
// upstream that fails before it succeeds, control through the HTTP API, the MQTT cmd topic and `iotfw ctl`.
import { readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { SerialPort } from "serialport";
import mqtt from "mqtt";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { cobsEncode, encodeFrame, jsonMessage, serialFrame, signFrame, SerialReader, verifyFrameHmac, decodeFrameAllowingHmac, type ControlFrame, type Frame } from "../protocol/index.js";
import { Bridge, type BridgeOptions } from "./bridge.js";
import { ackFrame, eventFrame, helloFrame, PtyPair, TcpDevice, tempDir, waitFor } from "./testing.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

async function startBridge(options: Partial<BridgeOptions>): Promise<Bridge> {
  const spoolDir = tempDir();
  const b = await Bridge.start({ spoolDir, http: "127.0.0.1:0", broker: "127.0.0.1:0", log: () => undefined, ...options });
  cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }), () => b.stop());
  return b;
}
const ndjson = (path: string): Array<Record<string, unknown>> =>
  existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
const api = (b: Bridge, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${b.httpAddress!.port}${path}`, { ...init, headers: { authorization: `Bearer ${b.token}`, "content-type": "application/json", ...init.headers } });

/** Answer every control frame the device receives with an ACK (result 0). */
function autoAck(dev: TcpDevice, device: number, firstSeq: number): void {
  let seq = firstSeq;
  let handled = 0;
  const timer = setInterval(() => {
    while (handled < dev.received.length) {
      const c = dev.received[handled++];
      if (c.type === "control") dev.send(ackFrame(device, seq++, c as ControlFrame));
    }
  }, 5);
  cleanups.push(() => clearInterval(timer));
}

describe("bridge, embedded broker", () => {
  beforeAll(() => ensureCliBuilt());

  it("publishes named channels at QoS 1, retained availability, and routes control from HTTP, MQTT and `iotfw ctl`", async () => {
    const b = await startBridge({ listen: "tcp://127.0.0.1:0" });
    const sub = await mqtt.connectAsync(b.broker!.url, { clientId: "test-sub" });
    cleanups.push(() => sub.endAsync(true));
    const got: Array<{ topic: string; payload: Record<string, unknown>; retain: boolean }> = [];
    sub.on("message", (topic, payload, packet) => got.push({ topic, payload: topic.endsWith("availability") ? { state: payload.toString() } : JSON.parse(payload.toString()), retain: packet.retain }));
    await sub.subscribeAsync("iotfw/#", { qos: 1 });

    const dev = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => dev.close());
    dev.send(helloFrame(0xc0ffee));
    for (let s = 1; s <= 3; s++) dev.send(eventFrame(0xc0ffee, s));
    await waitFor(() => got.filter((g) => g.topic === "iotfw/00c0ffee/temperature/event").length === 3, "3 events on MQTT");
    const ev = got.find((g) => g.topic === "iotfw/00c0ffee/temperature/event")!.payload;
    expect(ev).toMatchObject({ type: "event", device: "00c0ffee", seq: 1, name: "temperature", unit: "°C", kind: "alert_high" });
    expect(typeof ev.session).toBe("number");
    await waitFor(() => got.find((g) => g.topic === "iotfw/00c0ffee/availability" && g.payload.state === "online"), "availability online");

    // Control: HTTP API, waits for the ACK matched by ackedSeq.
    autoAck(dev, 0xc0ffee, 4);
    const res = await api(b, "/devices/00c0ffee/control", { method: "POST", body: JSON.stringify({ op: "set-window", channel: 0, ms: 60000, count: 10 }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, device: "00c0ffee", op: "set_window", result: 0 });
    expect(dev.received[0]).toMatchObject({ type: "control", device: 0xc0ffee, op: "set_window", channel: 0, ms: 60000, count: 10 });

    // MQTT .../cmd -> .../cmd/result
    sub.publish("iotfw/00c0ffee/cmd", JSON.stringify({ op: "ping", id: "p1" }), { qos: 1 });
    const result = await waitFor(() => got.find((g) => g.topic === "iotfw/00c0ffee/cmd/result"), "cmd result");
    expect(result.payload).toMatchObject({ id: "p1", ok: true, op: "ping", result: 0 });

    // `iotfw ctl` reads <spool>/ctl.json.
    const ok = await runCli(["ctl", "00c0ffee", "set-rate", "500", "--spool", b.spoolDir]);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/00c0ffee: set_rate acknowledged/);
    expect(dev.received.at(-1)).toMatchObject({ op: "set_rate", periodMs: 500 });
    const unknown = await runCli(["ctl", "0badbeef", "ping", "--spool", b.spoolDir]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/0badbeef is unknown/);
    const bad = await runCli(["ctl", "00c0ffee", "set-window", "0"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/set-window takes 2 to 3 arguments/);

    // Offline once its connection is gone; the token is required.
    dev.close();
    await waitFor(() => got.find((g) => g.topic === "iotfw/00c0ffee/availability" && g.payload.state === "offline"), "availability offline");
    const off = await api(b, "/devices/00c0ffee/control", { method: "POST", body: JSON.stringify({ op: "ping" }) });
    expect(off.status).toBe(409);
    const noToken = await fetch(`http://127.0.0.1:${b.httpAddress!.port}/devices`);
    expect(noToken.status).toBe(401);
    const metrics = await (await fetch(`http://127.0.0.1:${b.httpAddress!.port}/metrics`)).text();
    expect(metrics).toMatch(/iotfw_bridge_frames_in_total\{link="tcp"\} 7/); // hello, 3 events, 3 acks
    expect(metrics).not.toMatch(/iotfw_bridge_sequence_gaps_total\{/);
    expect(metrics).toMatch(/iotfw_bridge_forward_latency_seconds_count\{upstream="mqtt:\/\/127\.0\.0\.1:\d+"\} \d+/);
    expect(metrics).toMatch(/iotfw_bridge_control_total\{outcome="acked"\} 3/);
    expect((await (await fetch(`http://127.0.0.1:${b.httpAddress!.port}/health`)).json())).toMatchObject({ ok: true });
  });
});

describe("bridge, other inputs and upstreams", () => {
  it("serial over a real pty: resynchronises after garbage, truncated and corrupted bytes, forwards none of them", async () => {
    const pty = new PtyPair();
    await pty.start();
    cleanups.push(() => pty.stop());
    const out = join(tempDir(), "out.ndjson");
    const b = await startBridge({ serial: [pty.a], upstreams: [`file:${out}`] });
    await waitFor(() => b.health().serial && (b.health().serial as Array<{ open: boolean }>)[0].open, "serial port open");
    const port = new SerialPort({ path: pty.b, baudRate: 115200 });
    await new Promise((r) => port.once("open", r));
    cleanups.push(() => new Promise<void>((r) => port.close(() => r())));
    const good = (seq: number) => serialFrame(encodeFrame(eventFrame(0xabc, seq)), true);
    const corrupted = encodeFrame(eventFrame(0xabc, 99));
    corrupted[20] ^= 0x40; // CRC now wrong
    const truncated = cobsEncode(encodeFrame(eventFrame(0xabc, 98))).subarray(0, 12);
    const parts = [
      Buffer.from("ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET)\r\n"), good(0), Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x00]),
      truncated, good(1), serialFrame(corrupted), Buffer.from(new Uint8Array(700).fill(7)), good(2),
    ];
    port.write(Buffer.concat(parts.map((p) => Buffer.from(p))));
    await waitFor(() => ndjson(out).length === 3, "3 frames in the NDJSON file");
    expect(ndjson(out).map((m) => m.seq)).toEqual([0, 1, 2]);
    const metrics = b.metrics.render();
    expect(b.metrics.rejected.total()).toBeGreaterThanOrEqual(4);
    expect(b.metrics.garbageBytes.total()).toBeGreaterThan(700);
    expect(metrics).toMatch(/iotfw_bridge_rejected_total\{reason="bad_crc"\} [1-9]/);

    // Control goes down the same line, COBS-framed; a reply on it acknowledges.
    const down = new SerialReader();
    port.on("data", (chunk: Buffer) => {
      for (const f of down.push(chunk)) if (f.frame.type === "control") port.write(Buffer.from(serialFrame(encodeFrame(ackFrame(0xabc, 3, f.frame as ControlFrame)), true)));
    });
    expect(await b.control(0xabc, { op: "sleep", ms: 0 })).toMatchObject({ op: "sleep", result: 0 });
  });

  it("with --keys, a device without the right key can neither inject data nor receive control; keyed control is signed", async () => {
    const key = Buffer.alloc(32, 7);
    const keysFile = join(tempDir(), "keys.json");
    writeFileSync(keysFile, JSON.stringify({ "00c0ffee": key.toString("hex") }));
    const out = join(tempDir(), "out.ndjson");
    const b = await startBridge({ listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`], keysFile });
    const impostor = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => impostor.close());
    impostor.send(helloFrame(0xc0ffee)); // unsigned
    impostor.send(signFrame(encodeFrame(eventFrame(0xc0ffee, 1)), Buffer.alloc(32, 8))); // wrong key
    impostor.send(signFrame(encodeFrame(eventFrame(0x1234, 1)), key)); // a device with no key at all
    await waitFor(() => b.metrics.rejected.total() === 3, "3 rejections");
    expect(b.metrics.rejected.get("unsigned") + b.metrics.rejected.get("bad_hmac") + b.metrics.rejected.get("no_key")).toBe(3);
    await expect(b.control(0xc0ffee, { op: "ping" })).rejects.toThrow(/unknown/);

    const real = await TcpDevice.connect(b.tcpAddress!.port, { decode: decodeFrameAllowingHmac });
    cleanups.push(() => real.close());
    real.send(signFrame(encodeFrame(helloFrame(0xc0ffee)), key));
    real.send(signFrame(encodeFrame(eventFrame(0xc0ffee, 1)), key));
    await waitFor(() => ndjson(out).length === 2, "2 signed frames forwarded");
    const pending = b.control(0xc0ffee, { op: "wake" });
    await waitFor(() => real.received.length === 1, "control at the real device");
    expect(verifyFrameHmac(real.receivedBytes[0], key)).toBe(true);
    expect(impostor.received).toHaveLength(0);
    real.send(signFrame(encodeFrame(ackFrame(0xc0ffee, 2, real.received[0] as ControlFrame)), key));
    expect(await pending).toMatchObject({ op: "wake", result: 0 });
  });

  it("a MicroPython JSON node joins the fleet: data in the same JSON shape, control as a JSON object", async () => {
    const out = join(tempDir(), "out.ndjson");
    const b = await startBridge({ listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`] });
    const node = await TcpDevice.connect(b.tcpAddress!.port, undefined, new Uint8Array(0));
    cleanups.push(() => node.close());
    const fromBridge: unknown[] = [];
    let buf = Buffer.alloc(0);
    node.socket.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) { fromBridge.push(JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString())); buf = buf.subarray(4 + buf.readUInt32BE(0)); }
    });
    node.socket.write(jsonMessage({ device: "esp32-lab-3", hello: true }));
    node.socket.write(jsonMessage([{ sensor: "hall", value: 12, unit: "mT", t: 5000 }, { sensor: "touch", value: 1 }]));
    await waitFor(() => ndjson(out).length === 2, "2 node messages");
    const data = ndjson(out)[1];
    expect(data).toMatchObject({ type: "data", t: 5000, readings: [{ name: "hall", unit: "mT", value: 12, t: 5000 }, { name: "touch", value: 1 }] });
    const pending = b.control(Number.parseInt(String(data.device), 16), { op: "set_rate", periodMs: 250 });
    await waitFor(() => fromBridge.length === 1, "a JSON control at the node");
    const cmd = fromBridge[0] as { op: string; id: number; periodMs: number };
    expect(cmd).toMatchObject({ op: "set_rate", periodMs: 250 });
    node.socket.write(jsonMessage({ ack: cmd.id, result: 0 }));
    expect(await pending).toMatchObject({ result: 0 });
  });

  it("bridge to bridge: frames reach the upper bridge once, control from it reaches the device below", async () => {
    const out = join(tempDir(), "out.ndjson");
    const upper = await startBridge({ listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`] });
    const lower = await startBridge({ listen: "tcp://127.0.0.1:0", upstreams: [`tcp://127.0.0.1:${upper.tcpAddress!.port}`] });
    const dev = await TcpDevice.connect(lower.tcpAddress!.port);
    cleanups.push(() => dev.close());
    dev.send(helloFrame(0xfeed));
    for (let s = 1; s <= 50; s++) dev.send(eventFrame(0xfeed, s));
    dev.send(eventFrame(0xfeed, 50)); // a duplicate
    await waitFor(() => ndjson(out).length === 51 && lower.health().spool && (lower.health().spool as { depth: number }).depth === 0, "51 frames upstream, lower spool empty");
    expect(ndjson(out).map((m) => m.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(ndjson(out)[1]).toMatchObject({ name: "temperature", device: "0000feed" });
    autoAck(dev, 0xfeed, 51);
    expect(await upper.control(0xfeed, { op: "ping" })).toMatchObject({ op: "ping", result: 0 });
    expect(lower.metrics.duplicates.total()).toBe(1);
  });

  it("a CHANNELS frame after the hello: its channels are named upstream and kept in devices.log", async () => {
    const out = join(tempDir(), "out.ndjson");
    const b = await startBridge({ listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`] });
    const dev = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => dev.close());
    dev.send(helloFrame(0xabc));
    dev.send({ type: "channels", device: 0xabc, seq: 1, t: 0, channels: [{ id: 2, kind: 0, name: "co2", unit: "ppm" }] });
    dev.send({ type: "event", device: 0xabc, seq: 2, t: 20, channel: 2, kind: 1, value: 1500, code: 0 });
    await waitFor(() => ndjson(out).length === 3, "3 frames upstream");
    expect(ndjson(out)[1]).toMatchObject({ type: "channels", channels: [{ id: 2, kind: "frequent", name: "co2", unit: "ppm" }] });
    expect(ndjson(out)[2]).toMatchObject({ type: "event", channel: 2, name: "co2", unit: "ppm" });
    // The device log's last line for the device is its state (docs/bridge.md "Device state"); it is
    // written a few ms after the frame.
    const saved = () => readFileSync(join(b.spoolDir, "devices.log"), "utf8").split("\n").filter(Boolean)
      .map((l) => JSON.parse(l) as { d: string; h: { channels: Array<{ id: number }> } | null }).filter((e) => e.d === "00000abc").at(-1);
    const ids = await waitFor(() => { const c = saved()?.h?.channels.map((ch) => ch.id); return c?.length === 3 && c; }, "the merged table in devices.log");
    expect(ids).toEqual([0, 1, 2]);
  });

  it("http upstream: batched POSTs, retried after errors, in order", async () => {
    const bodies: unknown[][] = [];
    let calls = 0;
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        calls++;
        if (calls <= 2) { res.writeHead(503).end(); return; }
        bodies.push(JSON.parse(Buffer.concat(parts).toString()));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const b = await startBridge({ listen: "tcp://127.0.0.1:0", upstreams: [`http://127.0.0.1:${(server.address() as { port: number }).port}/ingest`] });
    const dev = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => dev.close());
    for (let s = 0; s < 20; s++) dev.send(s === 0 ? helloFrame(0x77) : eventFrame(0x77, s));
    await waitFor(() => bodies.flat().length === 20, "20 messages POSTed", 20_000);
    expect(bodies.flat().map((m) => (m as { seq: number }).seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(b.metrics.upstreamErrors.total()).toBe(2);
  });
});

export type { Frame };
