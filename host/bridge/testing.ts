// Test support for the bridge: a real mosquitto on a free port (generated config, persistence in a temp
// folder, stopped and restarted by the test), pseudo-terminal pairs at fixed paths (host/link/pty.ts), frames as a device
// would send them, a TCP "device", and waiting on conditions. Only tests and the bench import this.
// May touch: temp folders it creates, the processes it starts (and stops).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { createPtyPair, type PtyPair as LinkPtyPair } from "../link/pty.js";
import { encodeFrame, TCP_PREAMBLE, TcpReader, tcpFrame, type ControlFrame, type Frame } from "../protocol/index.js";

export const MOSQUITTO = "/usr/sbin/mosquitto";

export function tempDir(prefix = "iotfw-bridge-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Poll `condition` every 10 ms until it is truthy; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(condition: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await condition();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/** A real mosquitto on loopback, with persistence so queued QoS 1 messages survive its restart. */
export class Mosquitto {
  private proc: ChildProcess | null = null;
  readonly dir = tempDir("iotfw-mosquitto-");
  constructor(readonly port: number) {
    writeFileSync(join(this.dir, "mosquitto.conf"), [
      `listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence true", `persistence_location ${this.dir}/`,
      // set_tcp_nodelay: as a broker tuned for latency runs (docs/store.md "Rules"): Nagle's algorithm
      // held a rule's small messages for the subscriber's delayed ACK.
      "autosave_interval 0", "set_tcp_nodelay true", "max_queued_messages 0", "max_inflight_messages 0", "log_dest none",
      // Started as root (CI), mosquitto drops to the "mosquitto" user, which cannot write this folder, and
      // then silently keeps no persistence: every session and queued message is lost at a restart.
      `user ${userInfo().username}`, "",
    ].join("\n"));
  }
  static async start(): Promise<Mosquitto> {
    const m = new Mosquitto(await freePort());
    await m.start();
    return m;
  }
  get url(): string { return `mqtt://127.0.0.1:${this.port}`; }
  async start(): Promise<void> {
    this.proc = spawn(MOSQUITTO, ["-c", join(this.dir, "mosquitto.conf")], { stdio: "ignore" });
    await waitFor(() => portAccepts(this.port), `mosquitto on port ${this.port}`);
  }
  /** SIGTERM: mosquitto saves its persistence file and exits. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => { p.once("exit", () => resolve()); p.kill("SIGTERM"); });
  }
}

/** Two linked pseudo-terminals (host/link/pty.ts) at fixed paths, as a serial cable between the bridge
 *  and a "device" that can be unplugged (stop) and plugged back in (start) under the same names. */
export class PtyPair {
  private pair: LinkPtyPair | null = null;
  readonly a: string;
  readonly b: string;
  constructor(dir = tempDir("iotfw-pty-")) {
    this.a = join(dir, "bridge-side");
    this.b = join(dir, "device-side");
  }
  async start(): Promise<void> {
    this.pair = await createPtyPair({ links: { a: this.a, b: this.b } });
  }
  async stop(): Promise<void> {
    const p = this.pair;
    this.pair = null;
    await p?.close();
    await waitFor(() => !existsSync(this.a), "socat's links to go");
  }
}

export const TEST_HELLO_CHANNELS = [
  { id: 0, kind: 0, name: "temperature", unit: "°C" },
  { id: 1, kind: 1, name: "button", unit: "" },
];
export function helloFrame(device: number, seq = 0, t = 0): Frame {
  return { type: "hello", device, seq, t, abi: 1, firmware: "test@1.0.0", board: "esp32", appHash: "0123456789abcdef", samplePeriodMs: 1000, channels: TEST_HELLO_CHANNELS };
}
export function eventFrame(device: number, seq: number, value = seq / 10, t = seq * 10): Frame {
  return { type: "event", device, seq, t, channel: 0, kind: 1, value, code: 0 };
}
export function ackFrame(device: number, seq: number, control: ControlFrame, result = 0): Frame {
  return { type: "ack", device, seq, t: 0, ackedSeq: control.seq, op: { sleep: 1, wake: 2, set_window: 3, set_rate: 4, set_threshold: 5, set_deadband: 6, ping: 7, hello: 8 }[control.op], result };
}

/** A device on TCP: sends the preamble, then frames; collects the frames the bridge sends down. */
export class TcpDevice {
  readonly received: Frame[] = [];
  readonly receivedBytes: Uint8Array[] = [];
  private readonly reader = new TcpReader();
  private constructor(readonly socket: Socket, decode?: ConstructorParameters<typeof TcpReader>[0]) {
    if (decode) this.reader = new TcpReader(decode);
    this.reader.push(TCP_PREAMBLE); // downlink has no preamble: prime the reader with one
    socket.on("data", (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) if (m.kind === "frame") { this.received.push(m.frame); this.receivedBytes.push(m.bytes); }
    });
    socket.on("error", () => undefined);
  }
  static async connect(port: number, options?: ConstructorParameters<typeof TcpReader>[0], preamble: Uint8Array = TCP_PREAMBLE): Promise<TcpDevice> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: "127.0.0.1", port }, () => resolve(s));
      s.once("error", reject);
    });
    socket.write(preamble);
    return new TcpDevice(socket, options);
  }
  send(frame: Frame | Uint8Array): void {
    this.socket.write(tcpFrame(frame instanceof Uint8Array ? frame : encodeFrame(frame)));
  }
  close(): void { this.socket.destroy(); }
}

/** `iotfw bridge` as a child process (the CLI a user runs), on free ports: its ready line's ports, its
 *  stderr as it comes, and its exit code. The caller stops it (`proc.kill`, then await `exit`). */
export interface BridgeChild { proc: ChildProcess; ready: { tcp: number; http: number }; stderr: string[]; exit: Promise<number | null> }

export async function spawnBridgeCli(cli: string, args: string[]): Promise<BridgeChild> {
  const proc = spawn(process.execPath, [cli, "bridge", "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const stderr: string[] = [];
  proc.stderr!.on("data", (c: Buffer) => stderr.push(c.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let out = "";
  const ready = await new Promise<BridgeChild["ready"]>((resolve, reject) => {
    proc.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line));
    });
    void exit.then((code) => reject(new Error(`bridge exited with ${code}: ${stderr.join("")}`)));
  });
  return { proc, ready, stderr, exit };
}
