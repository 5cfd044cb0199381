// Issue 11, abuse against a real in-process bridge: malformed HTTP requests are 400 (never 500), a body
// without the token is answered 401 from the headers and its connection closed without reading it, an
// oversized body is 413; 1 MB of random bytes on a TCP link is counted byte for byte while a real
// device's frames flow on another connection, and past the garbage budget the connection is closed;
// device-id caps drop and count frames from new ids; HTTP connections past their cap are closed at once.
// May touch: temp folders, loopback ports.
import { readFileSync, existsSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Random } from "../../simulator/random.js";
import { Bridge, type BridgeOptions } from "./bridge.js";
import { eventFrame, helloFrame, TcpDevice, tempDir, waitFor } from "./testing.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

async function startBridge(options: Partial<BridgeOptions> = {}): Promise<{ b: Bridge; out: string }> {
  const spoolDir = tempDir();
  const out = join(tempDir(), "out.ndjson");
  const b = await Bridge.start({ spoolDir, upstreams: [`file:${out}`], http: "127.0.0.1:0", log: () => undefined, ...options });
  cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }), () => b.stop());
  return { b, out };
}

async function connect(port: number): Promise<Socket> {
  const s = await new Promise<Socket>((resolve, reject) => {
    const c = createConnection({ host: "127.0.0.1", port }, () => resolve(c));
    c.once("error", reject);
  });
  s.on("error", () => undefined); // a reset from the bridge is expected in these tests
  cleanups.push(() => { s.destroy(); });
  return s;
}

/** A raw HTTP exchange: what the server sent, and whether it closed the connection. */
function rawClient(s: Socket): { text: () => string; closed: () => boolean } {
  let text = "";
  let closed = false;
  s.setEncoding("latin1").on("data", (c: string) => { text += c; });
  s.on("close", () => { closed = true; });
  return { text: () => text, closed: () => closed };
}

/** Sum of a metric's samples in Prometheus text, or of those with `label`. */
async function metric(b: Bridge, name: string, label = ""): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${b.httpAddress!.port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name + " ") || (line.startsWith(name + "{") && line.includes(label))) sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

const lines = (path: string): Array<Record<string, unknown>> =>
  existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];

describe("HTTP API against abuse", () => {
  it("malformed percent-encoding, a garbage or absolute-form request target and bad JSON are 400", async () => {
    const { b } = await startBridge();
    const url = `http://127.0.0.1:${b.httpAddress!.port}`;
    const auth = { authorization: `Bearer ${b.token}` };
    const bad = await fetch(`${url}/devices/%E0%A4%A/control`, { method: "POST", headers: auth, body: "{}" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, error: expect.stringMatching(/percent-encoding/) });
    const json = await fetch(`${url}/devices/00c0ffee/control`, { method: "POST", headers: auth, body: "{op:" });
    expect(json.status).toBe(400);

    for (const target of ["http://[", "http://bridge/health", "*", "//evil/health"]) {
      const s = await connect(b.httpAddress!.port);
      const c = rawClient(s);
      s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor(() => c.text().includes("\r\n\r\n"), `an answer to GET ${target}`);
      expect(c.text(), target).toMatch(/^HTTP\/1\.1 400 /);
    }
    // A small body without the token: fetch reads the 401 although the bridge closes the connection.
    for (let i = 0; i < 20; i++) {
      const noToken = await fetch(`${url}/devices/00c0ffee/control`, { method: "POST", body: JSON.stringify({ op: "ping" }) });
      expect(noToken.status).toBe(401);
    }
    // The API still answers.
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it("a 200 MB body without a token: 401 from the headers, the connection closed without reading the body", async () => {
    const { b } = await startBridge();
    const s = await connect(b.httpAddress!.port);
    const c = rawClient(s);
    const total = 200 * 1024 * 1024;
    s.write(`POST /devices/00c0ffee/control HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let writeError = false;
    s.once("error", () => { writeError = true; });
    // The headers and the first 256 KiB of the body, then wait for the answer.
    let written = 0;
    for (; written < 256 * 1024; written += chunk.length) s.write(chunk);
    await waitFor(() => c.text().includes("\r\n\r\n"), "the answer before 1 MB of the body");
    const writtenAtAnswer = written;
    // Then the rest, as fast as the socket takes it, until the bridge closes the connection.
    while (written < total && !c.closed() && !writeError) {
      const more = s.write(chunk);
      written += chunk.length;
      if (!more) await new Promise<void>((resolve) => { s.once("drain", resolve); s.once("close", resolve); });
    }
    await waitFor(() => c.closed() || writeError, "the bridge to close the connection", 10_000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 401 /);
    expect(writtenAtAnswer).toBeLessThan(1024 * 1024);
    // What the kernel buffers took before the close, not the body: far below 200 MB.
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it("a body over 64 KiB with the token is 413, declared or chunked", async () => {
    const { b } = await startBridge();
    const declared = await connect(b.httpAddress!.port);
    const c1 = rawClient(declared);
    declared.write(`POST /devices/00c0ffee/control HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.token}\r\nContent-Length: ${1 << 20}\r\n\r\n`);
    await waitFor(() => c1.text().includes("\r\n\r\n"), "an answer to the declared body");
    expect(c1.text()).toMatch(/^HTTP\/1\.1 413 /);

    const chunked = await connect(b.httpAddress!.port);
    const c2 = rawClient(chunked);
    chunked.write(`POST /devices/00c0ffee/control HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.token}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const piece = "x".repeat(16 * 1024);
    for (let i = 0; i < 8; i++) chunked.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    await waitFor(() => c2.text().includes("\r\n\r\n"), "an answer to the chunked body");
    expect(c2.text()).toMatch(/^HTTP\/1\.1 413 /);
    await waitFor(() => c1.closed() && c2.closed(), "both connections closed");
  });
  it("connections past --max-http-connections are closed at once, counted and logged once; the API answers once they go", async () => {
    const log: string[] = [];
    const { b } = await startBridge({ maxHttpConnections: 4, log: (l) => log.push(l) });
    const port = b.httpAddress!.port;
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await connect(port)); // idle: they send nothing
    const refused = [];
    for (let i = 0; i < 3; i++) {
      const s = await connect(port);
      const c = rawClient(s);
      refused.push(c);
      s.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    await waitFor(() => refused.every((c) => c.closed()), "the connections past the cap closed");
    expect(refused.map((c) => c.text())).toEqual(["", "", ""]); // closed unanswered
    for (const s of held) s.destroy();
    // The bridge sees the held ones go a moment later; until then a request may be refused as well.
    const count = await waitFor(() => metric(b, "iotfw_bridge_connections_refused_total", 'reason="http_connection_limit"').catch(() => 0), "the API answering again");
    expect(count).toBeGreaterThanOrEqual(3);
    expect(log.filter((l) => l.includes("--max-http-connections"))).toHaveLength(1);
  });
});

describe("garbage on TCP", () => {
  it("1 MB of random bytes is counted byte for byte, a real device on another connection still flows, past the budget the connection is closed", async () => {
    const { b, out } = await startBridge({ listen: "tcp://127.0.0.1:0" });
    const noise = await connect(b.tcpAddress!.port);
    const r = new Random(11);
    const garbage = Buffer.alloc(1_000_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = r.nextU32() & 0xff;
    noise.write(garbage);

    const dev = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => dev.close());
    dev.send(helloFrame(0xc0ffee));
    for (let s = 1; s <= 5; s++) dev.send(eventFrame(0xc0ffee, s));
    await waitFor(() => lines(out).filter((l) => l.device === "00c0ffee").length === 6, "the real device's 6 frames upstream");

    await waitFor(async () => (await metric(b, "iotfw_bridge_garbage_bytes_total")) >= 999_000, "the noise counted");
    expect(await metric(b, "iotfw_bridge_garbage_bytes_total")).toBeLessThanOrEqual(1_000_000);
    expect(b.metrics.framesIn.total()).toBe(6);

    // The default budget is 1 MiB of garbage since the last valid message: 100 kB more closes it.
    let closed = false;
    noise.on("close", () => { closed = true; });
    noise.write(garbage.subarray(0, 100_000));
    await waitFor(() => closed, "the noisy connection closed");
    expect(await metric(b, "iotfw_bridge_connections_closed_total", 'reason="garbage"')).toBe(1);
    // The device's connection is untouched.
    dev.send(eventFrame(0xc0ffee, 6));
    await waitFor(() => lines(out).filter((l) => l.device === "00c0ffee").length === 7, "the device's next frame upstream");
  });
});

describe("device-id caps", () => {
  it("frames from new ids past --max-devices-per-connection and --max-devices are dropped and counted", async () => {
    const { b, out } = await startBridge({ listen: "tcp://127.0.0.1:0", maxDevices: 3, maxDevicesPerConnection: 2 });
    const one = await TcpDevice.connect(b.tcpAddress!.port);
    const two = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => one.close(), () => two.close());
    for (const id of [1, 2, 3]) one.send(helloFrame(id));
    await waitFor(() => b.metrics.rejected.get("connection_device_limit") === 1, "device 3 refused on connection one");
    for (const id of [4, 5]) two.send(helloFrame(id));
    await waitFor(() => b.metrics.rejected.get("device_limit") === 1, "device 5 refused: 3 ids in total");
    one.send(eventFrame(1, 1)); // a known id on its connection still flows
    await waitFor(() => lines(out).length === 4, "devices 1, 2, 4 and device 1's event upstream");
    expect(lines(out).map((l) => l.device)).toEqual(["00000001", "00000002", "00000004", "00000001"]);
    expect(await metric(b, "iotfw_bridge_devices_heard")).toBe(3);
    expect(await metric(b, "iotfw_bridge_rejected_total", "device_limit")).toBe(2);
  });
});
