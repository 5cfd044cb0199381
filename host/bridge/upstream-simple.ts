// The other upstreams (docs/bridge.md "Upstreams"): http(s):// batched JSON POSTs (a batch is confirmed
// by a 2xx), tcp:// another bridge (iotfw frames as received after "IOTB", confirmed by the upper
// bridge's cumulative acks; control frames come back down the same connection), and file:<path> or "-"
// for NDJSON (confirmed when written). May touch: the connection or the file it is given.
import { createConnection, type Socket } from "node:net";
import { open, type FileHandle } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tcpFrame } from "../protocol/index.js";
import { BRIDGE_PREAMBLE, ChainMessage } from "./inputs.js";
import { upstreamMessage, type SpoolRecord } from "./records.js";
import type { Upstream } from "./upstream.js";

export class HttpUpstream implements Upstream {
  readonly pipeline = 1;
  readonly window = 1000;
  readonly name: string;
  private readonly target: string;
  private readonly headers: Record<string, string> = { "content-type": "application/json" };

  constructor(url: string, private readonly timeoutMs = 10_000) {
    const u = new URL(url);
    if (u.username || u.password) {
      // fetch refuses credentials in the URL: send them as HTTP basic auth (RFC 7617).
      this.headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64")}`;
      u.username = "";
      u.password = "";
    }
    this.target = u.toString();
    this.name = `${u.protocol}//${u.host}${u.pathname}`;
  }

  async start(): Promise<void> {}
  connected(): boolean { return true; }

  async deliver(records: SpoolRecord[]): Promise<void> {
    const res = await fetch(this.target, {
      method: "POST", headers: this.headers, body: JSON.stringify(records.map(upstreamMessage)),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }

  async close(): Promise<void> {}
}

/** tcp://host:port: a bridge above this one. */
export class BridgeUpstream implements Upstream {
  readonly pipeline = 1;
  readonly window = 1000;
  readonly name: string;
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private sent = 0;
  private acked = 0;
  private waiter: { until: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  private closed = false;
  private readonly host: string;
  private readonly port: number;

  /** @param onControl a CONTROL frame the upper bridge sends down for one of our devices. */
  constructor(url: string, private readonly onControl: (frame: Uint8Array) => void) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port);
    this.name = `tcp://${u.host}`;
  }

  async start(): Promise<void> {}
  connected(): boolean { return this.socket !== null; }

  private connect(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: this.host, port: this.port });
      s.setNoDelay(true);
      let buf = Buffer.alloc(0);
      s.once("connect", () => {
        this.socket = s;
        this.sent = 0;
        this.acked = 0;
        s.write(BRIDGE_PREAMBLE);
        resolve(s);
      });
      s.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          if (buf.length >= 5 && buf[0] === ChainMessage.ACK) {
            this.acked = buf.readUInt32BE(1);
            buf = buf.subarray(5);
            if (this.waiter && this.acked >= this.waiter.until) this.waiter.resolve();
          } else if (buf.length >= 3 && buf[0] === ChainMessage.CONTROL && buf.length >= 3 + buf.readUInt16BE(1)) {
            const n = buf.readUInt16BE(1);
            this.onControl(Uint8Array.from(buf.subarray(3, 3 + n)));
            buf = buf.subarray(3 + n);
          } else if (buf.length > 0 && buf[0] !== ChainMessage.ACK && buf[0] !== ChainMessage.CONTROL) {
            s.destroy(new Error(`unexpected byte 0x${buf[0].toString(16)} from ${this.name}`));
            return;
          } else {
            return;
          }
        }
      });
      s.on("error", (e) => { if (!this.socket) reject(e); });
      s.on("close", () => {
        this.socket = null;
        this.connecting = null;
        this.waiter?.reject(new Error(`${this.name}: connection closed before the batch was acknowledged`));
      });
    }).finally(() => { this.connecting = null; });
    return this.connecting;
  }

  async deliver(records: SpoolRecord[]): Promise<void> {
    if (this.closed) throw new Error("closed");
    const socket = await this.connect();
    const frames = records.filter((r) => r.frame).map((r) => tcpFrame(r.frame!));
    if (frames.length === 0) return; // MicroPython JSON records have no iotfw frame to forward (docs/bridge.md)
    this.sent += frames.length;
    const until = this.sent;
    const done = new Promise<void>((resolve, reject) => { this.waiter = { until, resolve, reject }; });
    socket.write(Buffer.concat(frames));
    if (this.acked >= until) this.waiter?.resolve();
    try { await done; } finally { this.waiter = null; }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
  }
}

/** file:<path> (appended) or "-" (stdout): one JSON message per line. */
export class NdjsonUpstream implements Upstream {
  readonly pipeline = 1;
  readonly window = 1000;
  readonly name: string;
  private fh: FileHandle | null = null;
  private readonly path: string | null;

  constructor(spec: string) {
    this.path = spec === "-" ? null : spec.startsWith("file://") ? fileURLToPath(spec) : spec.replace(/^file:/, "");
    this.name = spec === "-" ? "stdout" : `file:${this.path}`;
  }

  async start(): Promise<void> {
    if (this.path) this.fh = await open(this.path, "a");
  }
  connected(): boolean { return true; }

  async deliver(records: SpoolRecord[]): Promise<void> {
    const text = records.map((r) => JSON.stringify(upstreamMessage(r)) + "\n").join("");
    if (this.fh) {
      await this.fh.write(text);
      await this.fh.datasync();
    } else {
      await new Promise<void>((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }
}
