// simulate --keys: keyed simulated devices against a real `iotfw bridge` started with the same keys file
// (frames accepted, a device with the wrong key refused and counted, control signed by the bridge reaches
// a keyed device and is acknowledged), and on a pty as a board on USB (frames leave signed; an unsigned
// or wrongly signed CONTROL is dropped before the module, a signed one is acknowledged).
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../bridge/testing.js";
import { describe, expect, it } from "vitest";
import { Bridge } from "../bridge/bridge.js";
import { parseCommand } from "../bridge/commands.js";
import { openLink } from "../link/open.js";
import {
  SerialReader, decodeFrameAllowingHmac, encodeFrame, isSignedFrame, serialFrame, signFrame, verifyFrameHmac, type Frame,
} from "../protocol/index.js";
import { simulate, type SimulateProgress } from "./session.js";

const tmp = () => mkdtempSync(join(tmpdir(), "iotfw-keys-"));
const key = (byte: number, length = 32) => Buffer.alloc(length, byte);
const keysFile = (dir: string, name: string, keys: Record<string, Buffer>) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(Object.fromEntries(Object.entries(keys).map(([d, k]) => [d, k.toString("hex")]))));
  return path;
};


describe("simulate --keys: the runtime signs and checks, the module never holds a key", () => {
  it("keyed devices through a bridge with the same keys: accepted, a wrong key refused, control acknowledged", async () => {
    const dir = tmp();
    const up = join(dir, "up.ndjson");
    const frames = join(dir, "frames.ndjson");
    // Device 3 holds a key the bridge does not know for it.
    const bridgeKeys = keysFile(dir, "bridge-keys.json", { "00000001": key(0x11), "00000002": key(0x22, 16), "00000003": key(0x33) });
    const deviceKeys = keysFile(dir, "device-keys.json", { "00000001": key(0x11), "00000002": key(0x22, 16), "00000003": key(0x34) });
    const bridge = await Bridge.start({
      listen: "tcp://127.0.0.1:0", upstreams: [`file:${up}`], spoolDir: join(dir, "spool"), http: "off", keysFile: bridgeKeys, log: () => undefined,
    });
    const abort = new AbortController();
    const running = simulate({
      devices: 3, board: "esp32", durationMs: Infinity, speed: 40, seed: 4, inProcess: true, workers: 1, buildDir: tmp(),
      bridgeUrl: `tcp://127.0.0.1:${bridge.tcpAddress!.port}`, keysFile: deviceKeys, out: frames, signal: abort.signal,
    });
    try {
      const lines = () => (existsSync(up) ? readFileSync(up, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
      await waitFor(() => lines().filter((l) => l.type === "hello").length === 2, "hellos of devices 1 and 2 upstream", 20_000);
      await waitFor(() => bridge.metrics.rejected.get("bad_hmac") > 0, "device 3's frames refused for their HMAC", 20_000);
      expect(bridge.metrics.rejected.get("unsigned")).toBe(0);
      expect(bridge.metrics.rejected.get("no_key")).toBe(0);
      const ack = await bridge.control(2, parseCommand({ op: "set_window", channel: "all", ms: 10_000 }), 10_000);
      expect(ack.result).toBe(0);
      await waitFor(() => lines().some((l) => l.type === "summary" && l.device === "00000002" && l.windowMs === 10_000), "a 10 s window from device 2", 20_000);
      expect(lines().some((l) => l.device === "00000003")).toBe(false); // refused frames never reach upstream
      await expect(bridge.control(3, parseCommand({ op: "ping" }), 2_000)).rejects.toThrow(/unknown/);
    } finally {
      abort.abort();
    }
    const result = await running;
    await bridge.stop();
    expect(result.keys).toMatchObject({ keyedDevices: 3, unsignable: 0, downlinkDropped: { unsigned: 0, bad_frame: 0, bad_hmac: 0 } });
    expect(result.keys!.signed).toBeGreaterThan(3);
    // The NDJSON output shows the frames as the module sent them, decoded, for every device.
    const decoded = readFileSync(frames, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(new Set(decoded.filter((l) => l.type === "hello").map((l) => l.device))).toEqual(new Set([1, 2, 3]));
  });

  it("a keyed device on a pty: frames leave signed; unsigned or wrongly signed control is dropped, signed control acknowledged", async () => {
    const dir = tmp();
    const deviceKey = key(0x5a);
    const path = join(dir, "ttySIM");
    const abort = new AbortController();
    let progress: SimulateProgress | undefined;
    const running = simulate({
      devices: 2, board: "esp32", durationMs: Infinity, speed: 40, seed: 4, inProcess: true, workers: 1, buildDir: tmp(),
      serialPath: path, keysFile: keysFile(dir, "keys.json", { "00000001": deviceKey }), signal: abort.signal,
      onProgress: (p) => { progress = p; },
    });
    try {
      await waitFor(() => existsSync(path), "the pty link", 20_000);
      const link = await openLink({ kind: "serial", path, baudRate: 115200 });
      const reader = new SerialReader(undefined, { decode: decodeFrameAllowingHmac });
      const received: Array<{ frame: Frame; bytes: Uint8Array }> = [];
      link.stream.on("data", (chunk: Buffer) => { for (const f of reader.push(chunk)) received.push({ frame: f.frame, bytes: f.bytes }); });
      await waitFor(() => received.length > 0, "a first frame", 30_000); // the hello may have left before we opened the pty
      const ping = (seq: number) => encodeFrame({ type: "control", device: 1, seq, t: 0, op: "ping" });
      const dropped = () => progress?.keys?.downlinkDropped;

      link.stream.write(serialFrame(ping(5), true));
      await waitFor(() => dropped()?.unsigned === 1, "the unsigned ping dropped", 20_000);
      link.stream.write(serialFrame(signFrame(ping(6), key(0x5b)), true));
      await waitFor(() => dropped()?.bad_hmac === 1, "the wrongly signed ping dropped", 20_000);
      link.stream.write(serialFrame(signFrame(ping(7), deviceKey), true));
      const ack = await waitFor(() => received.find((r) => r.frame.type === "ack"), "the ack", 20_000);
      expect(ack.frame).toMatchObject({ device: 1, ackedSeq: 7, result: 0 });
      expect(received.filter((r) => r.frame.type === "ack")).toHaveLength(1); // nothing answered 5 or 6

      expect(received.every((r) => r.frame.device === 1 && isSignedFrame(r.bytes) && verifyFrameHmac(r.bytes, deviceKey))).toBe(true);
      await link.close();
    } finally {
      abort.abort();
      await running;
    }
  });
});
