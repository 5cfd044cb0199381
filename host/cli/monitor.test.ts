// `iotfw monitor` against a "device" on a real pseudo-terminal pair (socat): without --hello it asks
// for the device's hello, so channels are named from the first frames; console text between frames
// (the runtime's log on the same UART) is shown; --no-hello never writes to the port; a silent port
// gets a message naming the likely cause. May touch: the pty pair and CLI processes it starts.
import { spawn } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPtyPair, type PtyPair } from "../link/pty.js";
import { openLink, type OpenLink } from "../link/open.js";
import { encodeFrame, SerialReader, serialFrame, type Frame } from "../protocol/index.js";
import { CLI, ensureCliBuilt } from "./testing.js";

const DEVICE = 0x00c0ffee;
const hello: Frame = { type: "hello", device: DEVICE, seq: 0, t: 5, abi: 2, firmware: "probe@1.0.0", board: "esp32", appHash: "0011223344556677",
  bootId: "5eedb007", samplePeriodMs: 1000, channels: [{ id: 0, kind: 0, name: "temperature", unit: "°C" }] };
const summary = (seq: number): Frame => ({ type: "summary", device: DEVICE, seq, t: 10_000 * seq, windowStart: 0, windowMs: 10_000,
  entries: [{ channel: 0, count: 10, min: 21, max: 23, mean: 22, std: 0.5, last: 22 }] });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

function monitor(args: string[]) {
  const proc = spawn(process.execPath, [CLI, "monitor", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  proc.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
  proc.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
  const ended = new Promise<number | null>((resolve) => proc.once("close", (code) => resolve(code)));
  return { ended, out: () => stdout, err: () => stderr };
}

/** The device end: answers HELLO control frames with its hello (broadcast ones too, unless told to miss
 *  them); reports what it received. */
async function device(pair: PtyPair, answerBroadcast = true): Promise<{ link: OpenLink; requests: Frame[] }> {
  const link = await openLink({ kind: "serial", path: pair.a, baudRate: 115200 });
  const requests: Frame[] = [];
  const reader = new SerialReader();
  link.stream.on("data", (chunk: Buffer) => {
    for (const { frame } of reader.push(chunk)) {
      requests.push(frame);
      if (frame.type === "control" && frame.op === "hello" && (answerBroadcast || frame.device === DEVICE)) link.stream.write(serialFrame(encodeFrame(hello), true));
    }
  });
  cleanups.push(() => link.close());
  return { link, requests };
}

describe("iotfw monitor", () => {
  let pair: PtyPair;
  beforeAll(() => ensureCliBuilt(), 300_000);
  const openPair = async () => { pair = await createPtyPair(); cleanups.push(() => pair.close()); };

  it("asks for the hello by itself: console text shown, channels named from the first summary on", async () => {
    await openPair();
    const dev = await device(pair);
    const mon = monitor([pair.b, "--count", "3", "--duration", "20s"]);
    // The device speaks only once monitor has asked (its hello is the answer); then a log line and data.
    for (let i = 0; i < 500 && dev.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(dev.requests[0]).toMatchObject({ type: "control", op: "hello", device: 0xffffffff });
    await new Promise((r) => setTimeout(r, 200));
    dev.link.stream.write(Buffer.from("I (312) iotfw: wifi connected\r\n"));
    dev.link.stream.write(serialFrame(encodeFrame(summary(1)), true));
    dev.link.stream.write(serialFrame(encodeFrame(summary(2)), true));
    expect(await mon.ended, mon.err()).toBe(0);
    const lines = mon.out().trim().split("\n");
    expect(lines[0]).toMatch(/hello probe@1\.0\.0 on esp32.*0=temperature\[°C\]/);
    expect(lines).toContain("console: I (312) iotfw: wifi connected");
    expect(lines.filter((l) => l.includes("summary"))).toHaveLength(2);
    for (const l of lines.filter((x) => x.includes("summary"))) expect(l).toMatch(/temperature\[°C\] n=10 mean=22/);
  }, 60_000);

  it("a device heard before its hello is asked for it once, by its id", async () => {
    await openPair();
    const dev = await device(pair, false);
    const mon = monitor([pair.b, "--count", "3", "--duration", "20s", "--json"]);
    for (let i = 0; i < 500 && dev.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    dev.requests.length = 0; // the broadcast at start, which this device missed
    dev.link.stream.write(serialFrame(encodeFrame(summary(7)), true));
    for (let i = 0; i < 500 && dev.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    dev.link.stream.write(serialFrame(encodeFrame(summary(8)), true));
    expect(await mon.ended, mon.err()).toBe(0);
    expect(dev.requests.filter((f) => f.type === "control")).toEqual([expect.objectContaining({ op: "hello", device: DEVICE })]);
    const frames = mon.out().trim().split("\n").map((l) => JSON.parse(l) as { type: string; channels?: Array<{ name?: string }> });
    expect(frames.map((f) => f.type)).toEqual(["summary", "hello", "summary"]);
    expect(frames[0].channels?.[0].name).toBeUndefined(); // before the hello: a bare channel id
    expect(frames[2].channels?.[0].name).toBe("temperature");
  }, 60_000);

  it("--no-hello writes nothing; a silent port is reported with the likely cause", async () => {
    await openPair();
    const dev = await device(pair);
    const mon = monitor([pair.b, "--no-hello", "--duration", "6s"]);
    expect(await mon.ended).toBe(0);
    expect(dev.requests).toEqual([]);
    expect(mon.err()).toMatch(/nothing received on .* in 5 s: is the device powered and running its app/);
  }, 60_000);
});
