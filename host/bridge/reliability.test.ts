// The bridge's reliability promises, with the bridge as a child process (`node bin/iotfw.js bridge`) and a
// real mosquitto: the broker stopped mid-stream and restarted (every frame arrives exactly once after
// de-duplication, in order per device), and the bridge killed with SIGKILL and restarted (nothing it
// acknowledged as accepted is lost). Serial ports that vanish and come back are reopened.
import { rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { SerialPort } from "serialport";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureCliBuilt } from "../cli/testing.js";
import { encodeFrame, serialFrame, tcpFrame } from "../protocol/index.js";
import { Bridge } from "./bridge.js";
import { BRIDGE_PREAMBLE } from "./inputs.js";
import { eventFrame, freePort, helloFrame, Mosquitto, PtyPair, spawnBridgeCli, TcpDevice, tempDir, waitFor, type BridgeChild } from "./testing.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });
beforeAll(() => ensureCliBuilt());

type Child = BridgeChild;

async function spawnBridge(args: string[]): Promise<Child> {
  const child = await spawnBridgeCli(CLI, args);
  cleanups.push(() => kill(child, "SIGTERM"));
  return child;
}

async function kill(child: Child, signal: NodeJS.Signals): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  await new Promise<void>((resolve) => { child.proc.once("exit", () => resolve()); child.proc.kill(signal); });
}

/** A persistent-session QoS 1 subscriber recording (device, session, seq) of every event, duplicates included. */
async function subscriber(url: string, clientId: string): Promise<{ client: MqttClient; keys: string[] }> {
  const keys: string[] = [];
  const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 100 });
  client.on("message", (_t, payload) => {
    const m = JSON.parse(payload.toString());
    keys.push(`${m.device}/${m.session}/${m.seq}`);
  });
  await client.subscribeAsync("iotfw/+/+/event", { qos: 1 });
  cleanups.push(() => client.endAsync(true));
  return { client, keys };
}

/** First occurrence of each key, in arrival order: what a consumer de-duplicating on the key sees. */
const dedupe = (keys: string[]) => [...new Set(keys)];

describe("bridge reliability (child process, real mosquitto)", () => {
  it("broker stopped mid-stream and restarted: every frame exactly once after de-duplication, in order per device", async () => {
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.stop(), () => rmSync(broker.dir, { recursive: true, force: true }));
    const spool = tempDir();
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const sub = await subscriber(broker.url, "reliability-sub");
    const bridge = await spawnBridge(["--upstream", broker.url, "--spool", spool]);
    const devices = [0x101, 0x102, 0x103];
    const N = 400;
    const conns = await Promise.all(devices.map(() => TcpDevice.connect(bridge.ready.tcp)));
    cleanups.push(() => conns.forEach((c) => c.close()));
    conns.forEach((c, i) => c.send(helloFrame(devices[i])));
    let sent = 0;
    const sendSome = (n: number) => {
      for (let k = 0; k < n && sent < N; k++, sent++) conns.forEach((c, i) => c.send(eventFrame(devices[i], sent + 1)));
    };
    sendSome(150);
    await waitFor(() => sub.keys.length >= 150, "first events at the subscriber");
    await broker.stop(); // mid-stream
    sendSome(150); // while the broker is down: into the spool
    await waitFor(async () => {
      const h = await (await fetch(`http://127.0.0.1:${bridge.ready.http}/health`)).json() as { upstreams: Array<{ connected: boolean }> };
      return !h.upstreams[0].connected;
    }, "the bridge to notice the broker is gone");
    await broker.start();
    sendSome(N);
    await waitFor(() => dedupe(sub.keys).length === devices.length * N, `${devices.length * N} distinct events`, 30_000);
    const unique = dedupe(sub.keys);
    for (const d of devices) {
      const seqs = unique.filter((k) => k.startsWith(d.toString(16).padStart(8, "0"))).map((k) => Number(k.split("/")[2]));
      expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(new Set(unique.filter((k) => k.startsWith(d.toString(16).padStart(8, "0"))).map((k) => k.split("/")[1])).size).toBe(1);
    }
  });

  it("bridge killed with SIGKILL and restarted: nothing it accepted is lost", async () => {
    const brokerPort = await freePort(); // nothing listens yet: everything stays in the spool
    const spool = tempDir();
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const first = await spawnBridge(["--upstream", `mqtt://127.0.0.1:${brokerPort}`, "--spool", spool]);
    // Act as a bridge below: its cumulative acks say what was accepted (on disk).
    const socket = await new Promise<Socket>((resolve) => { const s = createConnection({ host: "127.0.0.1", port: first.ready.tcp }, () => resolve(s)); });
    socket.on("error", () => undefined);
    let acked = 0;
    socket.on("data", (c: Buffer) => { for (let i = 0; i + 5 <= c.length; i += 5) acked = c.readUInt32BE(i + 1); });
    socket.write(BRIDGE_PREAMBLE);
    const N = 3000;
    const frames = [encodeFrame(helloFrame(0xdead)), ...Array.from({ length: N - 1 }, (_, i) => encodeFrame(eventFrame(0xdead, i + 1)))];
    let next = 0;
    const pump = setInterval(() => { for (let k = 0; k < 100 && next < N; k++) socket.write(tcpFrame(frames[next++])); }, 2);
    cleanups.push(() => clearInterval(pump));
    await waitFor(() => acked >= 1000, "1000 frames accepted");
    await kill(first, "SIGKILL");
    clearInterval(pump);
    const accepted = acked;
    socket.destroy();
    expect(accepted).toBeGreaterThanOrEqual(1000);

    const broker = new Mosquitto(brokerPort);
    await broker.start();
    cleanups.push(() => broker.stop(), () => rmSync(broker.dir, { recursive: true, force: true }));
    const sub = await subscriber(broker.url, "kill-sub");
    await spawnBridge(["--upstream", broker.url, "--spool", spool]);
    await waitFor(() => dedupe(sub.keys).length >= accepted - 1, `the ${accepted - 1} accepted events (plus the hello)`, 30_000);
    const seqs = dedupe(sub.keys).map((k) => Number(k.split("/")[2]));
    expect(seqs.slice(0, accepted - 1)).toEqual(Array.from({ length: accepted - 1 }, (_, i) => i + 1));
  });

  it("a serial port that disappears is reopened when it comes back", async () => {
    const pty = new PtyPair();
    await pty.start();
    cleanups.push(() => pty.stop());
    const out = join(tempDir(), "out.ndjson");
    const b = await Bridge.start({ serial: [pty.a], upstreams: [`file:${out}`], spoolDir: tempDir(), http: "off", log: () => undefined });
    cleanups.push(() => b.stop());
    const isOpen = () => (b.health().serial as Array<{ open: boolean }>)[0].open;
    const write = async (seq: number) => {
      const port = new SerialPort({ path: pty.b, baudRate: 115200 });
      await new Promise((r) => port.once("open", r));
      await new Promise<void>((r) => port.write(Buffer.from(serialFrame(encodeFrame(eventFrame(0x5e, seq)), true)), () => port.drain(() => r())));
      await new Promise<void>((r) => port.close(() => r()));
    };
    await waitFor(isOpen, "port open");
    await write(1);
    const { readFileSync, existsSync } = await import("node:fs");
    const lines = () => (existsSync(out) ? readFileSync(out, "utf8").split("\n").filter(Boolean).length : 0);
    await waitFor(() => lines() === 1, "first frame");
    await pty.stop(); // the adapter is unplugged
    await waitFor(() => !isOpen(), "port closed");
    await pty.start(); // and plugged back in
    await waitFor(isOpen, "port reopened");
    await write(2);
    await waitFor(() => lines() === 2, "frame after reopening");
  });
});
