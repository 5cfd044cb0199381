// `iotfw simulate --bridge tcp://host:port`: every simulated device talks to a bridge exactly as a device
// on Wi-Fi does (docs/protocol.md, TCP framing): its own connection, the "IOTF" preamble, then each
// frame with a u16 big-endian length; control frames come back down the same connection. A device whose
// connection drops keeps a small RAM queue (as the runtime does) and reconnects. Frames are sent as the
// session gives them (signed for a keyed device, see device-keys.ts).
// May touch: the TCP connections it opens.
import { connect, type Socket } from "node:net";
import { decodeFrameAllowingHmac, TCP_PREAMBLE, TcpReader, tcpFrame } from "../protocol/index.js";

/** Frames a disconnected device keeps (the runtime's RAM queue); older ones are dropped and counted. */
export const DEVICE_QUEUE_FRAMES = 64;
const RECONNECT_MS = 1000;

export class BridgeLinkError extends Error {}

class DeviceConnection {
  socket?: Socket;
  connected = false;
  readonly queue: Uint8Array[] = [];
  private readonly downlink = new TcpReader({ decode: decodeFrameAllowingHmac }); // signed CONTROL frames too: the session checks them
  private closed = false;

  constructor(readonly device: number, private readonly host: string, private readonly port: number,
              private readonly onControl: (device: number, frame: Uint8Array) => void, private readonly links: BridgeLinks) {
    this.downlink.push(TCP_PREAMBLE); // the bridge answers with bare length-prefixed frames
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port });
      this.socket = s;
      s.setNoDelay(true);
      s.once("connect", () => {
        this.connected = true;
        s.write(TCP_PREAMBLE);
        for (const f of this.queue.splice(0)) s.write(tcpFrame(f));
        resolve();
      });
      s.on("data", (chunk: Buffer) => {
        for (const m of this.downlink.push(chunk)) if (m.kind === "frame") this.onControl(this.device, m.bytes);
      });
      s.once("error", (err) => { if (!this.connected) reject(err); });
      s.once("close", () => {
        this.connected = false;
        if (!this.closed) setTimeout(() => { if (!this.closed) this.open().catch(() => undefined); }, RECONNECT_MS).unref();
      });
    });
  }

  send(frame: Uint8Array): void {
    if (this.connected && this.socket) { this.socket.write(tcpFrame(frame)); return; }
    this.queue.push(frame);
    if (this.queue.length > DEVICE_QUEUE_FRAMES) { this.queue.shift(); this.links.dropped++; }
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
    this.socket?.destroy();
  }
}

export class BridgeLinks {
  dropped = 0;
  private readonly conns = new Map<number, DeviceConnection>();
  private readonly downlink: Array<{ device: number; frame: Uint8Array }> = [];

  /** Connect every device; rejects with a clear error when the bridge is not there. */
  static async open(url: string, devices: number[]): Promise<BridgeLinks> {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(url);
    if (!m) throw new BridgeLinkError(`--bridge ${url}: expected tcp://host:port`);
    const host = m[1].replace(/^\[|\]$/g, "");
    const port = Number(m[2]);
    const links = new BridgeLinks();
    for (const id of devices) {
      links.conns.set(id, new DeviceConnection(id, host, port, (device, frame) => links.downlink.push({ device, frame }), links));
    }
    try {
      await Promise.all([...links.conns.values()].map((c) => c.open()));
    } catch (e) {
      links.close();
      const err = e as NodeJS.ErrnoException;
      throw new BridgeLinkError(`--bridge ${url}: ${err.code === "ECONNREFUSED" ? "connection refused (is `iotfw bridge --listen` running there?)" : err.message}`);
    }
    return links;
  }

  send(device: number, frame: Uint8Array): void { this.conns.get(device)?.send(frame); }

  /** Control frames received since the last call, in arrival order. */
  takeDownlink(): Array<{ device: number; frame: Uint8Array }> { return this.downlink.splice(0, this.downlink.length); }

  close(): void { for (const c of this.conns.values()) c.close(); }
}
