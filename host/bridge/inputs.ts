// The bridge's inputs (docs/bridge.md "Inputs"): serial ports (reopened when a port that disappeared
// comes back: the path is polled), and a TCP listener whose connections are devices speaking the iotfw
// framing ("IOTF"), MicroPython nodes (length-prefixed JSON), or another bridge ("IOTB": iotfw framing
// plus acknowledgements back, docs/bridge.md "Bridge to bridge"). Inputs only read and hand what they
// read to an Ingest; each connection or port is a DeviceLink that control frames go down. The TCP
// listener enforces the connection limits (docs/bridge.md "Limits"; settings in limits.ts): a cap on
// open connections, an idle timeout, a garbage budget per connection, and, shared by all connections,
// a bound on frames waiting for the disk (intake.ts).
// May touch: the serial ports and the listening socket it is given.
import { existsSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { openLink, parseLinkSpec, type OpenLink } from "../link/open.js";
import {
  decodeFrameAllowingHmac, jsonMessage, SerialReader, serialFrame, TCP_PREAMBLE, TcpReader, tcpFrame,
  type ControlCommand, type Frame,
} from "../protocol/index.js";
import type { DeviceLink } from "./devices.js";
import { IntakeGate, type Gated } from "./intake.js";
import { LIMIT_DEFAULTS, type Limits } from "./limits.js";

/** What the bridge does with what inputs read. frame() and json() check and queue an item for the spool
 *  at once; settled() resolves once everything handed over so far is on disk or was refused. */
export interface Ingest {
  frame(link: DeviceLink, bytes: Uint8Array, frame: Frame): void;
  json(conn: TcpConnection, kind: "json-control" | "json-data", value: unknown): void;
  settled(): Promise<void>;
  /** How many frames the spool has refused so far (a full disk: at intake, or when their commit failed);
   *  it only grows. */
  refusals(): number;
  /** Bytes not part of a valid frame; `reason` when a frame or block was refused (counted once per
   *  reason), none for bytes of an already reported one (an oversize message's skipped body). */
  garbage(linkId: string, bytes: number, reason?: string): void;
  linkClosed(link: DeviceLink): void;
  /** A CONTROL frame from the bridge above (a chained bridge), to route to one of our devices. */
  controlFromAbove(frame: Uint8Array): void;
  log(line: string): void;
}

/** "IOTB": what a bridge sends first when it forwards to another bridge. */
export const BRIDGE_PREAMBLE = Uint8Array.of(0x49, 0x4f, 0x54, 0x42);
/** Bridge-to-bridge messages from the upper bridge down: kind byte, then the body. */
export const ChainMessage = { ACK: 0x01, CONTROL: 0x02 } as const;

const POLL_MS = 500;
/** Messages in one read after which a TCP connection yields a turn of the event loop (about 10-30 ms of
 *  work for HELLOs on a Pi-class core). */
const YIELD_AFTER_MESSAGES = 256;

export class SerialInput implements DeviceLink {
  readonly id: string;
  open = false;
  private link: OpenLink | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private warned = false;

  constructor(private readonly path: string, private readonly baudRate: number, private readonly ingest: Ingest) {
    this.id = `serial:${path}`;
  }

  start(): void {
    void this.tryOpen();
  }

  private schedule(): void {
    if (!this.closed && !this.timer) this.timer = setTimeout(() => { this.timer = null; void this.tryOpen(); }, POLL_MS);
  }

  private async tryOpen(): Promise<void> {
    if (this.closed) return;
    if (!existsSync(this.path)) return this.schedule();
    try {
      this.link = await openLink(parseLinkSpec(this.path, this.baudRate));
    } catch (e) {
      if (!this.warned) this.ingest.log(`${this.path}: ${e instanceof Error ? e.message : String(e)}; retrying every ${POLL_MS} ms`);
      this.warned = true;
      return this.schedule();
    }
    if (this.closed) { await this.link.close(); return; }
    this.warned = false;
    this.open = true;
    this.ingest.log(`${this.path}: open`);
    const reader = new SerialReader((error, bytes) => this.ingest.garbage(this.id, bytes, error), { decode: decodeFrameAllowingHmac });
    const stream = this.link.stream;
    stream.on("data", (chunk: Buffer) => {
      for (const f of reader.push(chunk)) this.ingest.frame(this, f.bytes, f.frame);
    });
    const lost = () => {
      if (!this.open) return;
      this.open = false;
      this.ingest.linkClosed(this);
      if (!this.closed) this.ingest.log(`${this.path}: gone; waiting for it to come back`);
      void this.link?.close().catch(() => undefined);
      this.link = null;
      this.schedule();
    };
    stream.on("close", lost);
    stream.on("error", lost);
  }

  sendControl(_device: number, frame: Uint8Array): void {
    if (!this.link) throw new Error(`${this.path} is closed`);
    // A leading 0x00 too: the line may carry console text (docs/protocol.md "Serial").
    this.link.stream.write(serialFrame(frame, true));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.open = false;
    await this.link?.close().catch(() => undefined);
  }
}

/** One accepted TCP connection: a device, a MicroPython node, or a bridge below this one. */
export class TcpConnection implements DeviceLink, Gated {
  readonly id: string;
  open = true;
  mode: "pending" | "iotfw" | "json" | "chain" = "pending";
  /** For MicroPython nodes: the device id given to this connection, and the next seq to assign. */
  jsonDevice: number | null = null;
  jsonSeq = 0;
  jsonSession = -1;
  private readonly reader = new TcpReader({ decode: decodeFrameAllowingHmac });
  private head = Buffer.alloc(0);
  private tail: Promise<void> = Promise.resolve();
  private processed = 0;
  /** Paused for one turn of the event loop after a large read (see onData). */
  private yielding = false;
  /** reader.discardedBytes already reported, and the garbage since the last valid message. */
  private discardedSeen = 0;
  private garbageRun = 0;

  /** `gate`: the bound on frames waiting for the disk, shared by all connections (intake.ts). */
  constructor(readonly socket: Socket, private readonly ingest: Ingest, private readonly limits?: Limits,
    private readonly gate = new IntakeGate(LIMIT_DEFAULTS.maxPendingFrames)) {
    this.id = `tcp:${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined); // "close" follows
    socket.on("close", () => { this.open = false; gate.leave(this); ingest.linkClosed(this); });
    gate.join(this);
    if (gate.closed) socket.pause();
    // An idle connection holds a descriptor: a peer that opens many and sends nothing would starve
    // devices and the HTTP API of them (issue 11). Any byte, either way, restarts the clock.
    const idle = limits?.settings.idleTimeoutMs ?? 0;
    if (idle > 0) {
      socket.setTimeout(idle, () => {
        limits!.once("idle", `${this.id}: closed after ${idle} ms without a byte (--idle-timeout)`);
        this.closeFor("idle");
      });
    }
  }

  /** Close this connection because of a limit, counted by `reason`. */
  private closeFor(reason: "idle" | "garbage"): void {
    if (this.socket.destroyed) return;
    this.limits?.closed(reason);
    this.socket.destroy();
  }

  /** Read while neither the gate nor a yield holds this connection back. */
  gateChanged(): void {
    if (this.gate.closed || this.yielding) this.socket.pause();
    else this.socket.resume();
  }

  get relays(): boolean { return this.mode === "chain"; }

  get peerAddress(): string {
    return this.socket.remoteAddress ?? "unknown";
  }

  private onData(chunk: Buffer): void {
    if (this.mode === "pending") {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 4) return;
      chunk = this.head;
      if (BRIDGE_PREAMBLE.every((b, i) => chunk[i] === b)) {
        this.mode = "chain";
        chunk = Buffer.concat([TCP_PREAMBLE, chunk.subarray(4)]); // the rest is iotfw framing
      } else {
        this.mode = TCP_PREAMBLE.every((b, i) => chunk[i] === b) ? "iotfw" : "json";
      }
    }
    let count = 0;
    let valid = false;
    let reported = 0;
    const refusalsBefore = this.ingest.refusals();
    // Garbage is labelled "tcp", not by connection: a label per peer port would grow without bound.
    for (const m of this.reader.push(chunk)) {
      count++;
      if (m.kind === "error") { reported += m.bytes; this.ingest.garbage("tcp", m.bytes, m.error); continue; }
      valid = true;
      if (m.kind === "frame") this.ingest.frame(this, m.bytes, m.frame);
      else this.ingest.json(this, m.kind, m.value);
    }
    // Errors reported their own bytes; the rest of what the reader discarded is an oversize
    // message's body, skipped as it arrived: counted as bytes only.
    const discarded = this.reader.discardedBytes - this.discardedSeen;
    this.discardedSeen = this.reader.discardedBytes;
    if (discarded > reported) this.ingest.garbage("tcp", discarded - reported);
    // TCP cannot resynchronise (no delimiter): after a bad length the stream is noise, or the peer
    // is no device. A budget of garbage since the last valid message keeps flaky devices and closes
    // the rest (to a read's granularity: a read with a valid message resets it).
    this.garbageRun = valid ? 0 : this.garbageRun + discarded;
    const budget = this.limits?.settings.maxGarbageBytes ?? 0;
    if (budget > 0 && this.garbageRun > budget) {
      this.limits!.once("garbage", `${this.id}: closed after ${this.garbageRun} bytes of garbage without a valid message (--max-garbage ${budget})`);
      this.closeFor("garbage");
      return;
    }
    if (count === 0) return;
    // Fairness: a burst (a HELLO flood, a bridge below replaying its backlog) arrives as several 64 KiB
    // reads in one turn of the event loop; after a read with many messages, let the other connections
    // and the HTTP API have a turn before the next one (issue 11: /health within 100 ms during a flood).
    if (count >= YIELD_AFTER_MESSAGES && !this.yielding) {
      this.yielding = true;
      this.socket.pause();
      setImmediate(() => { this.yielding = false; this.gateChanged(); });
    }
    // Backpressure: past the bound on frames waiting for the disk, over all connections, every
    // connection stops reading (intake.ts); the kernel's TCP window pushes back on the senders.
    this.gate.add(count);
    // Commits complete in order, so this read's frames are on disk when both it and the reads before are.
    const onDisk = this.ingest.settled();
    this.tail = this.tail.then(() => onDisk).then(() => {
      this.gate.done(count);
      this.processed += count;
      if (this.mode === "chain" && this.open) {
        // Frames were refused since this read began (ours among them, perhaps: the disk was full when they
        // came, or their commit failed; a commit's outcome is counted before settled() resolves): no ack,
        // and the connection goes, so the bridge below sends everything unacknowledged again once
        // it reconnects (what did reach our disk is then dropped as a duplicate). Nothing is lost.
        if (this.ingest.refusals() !== refusalsBefore) { this.socket.destroy(); return; }
        // Everything up to here is on disk: the bridge below may forget it.
        const ack = Buffer.alloc(5);
        ack[0] = ChainMessage.ACK;
        ack.writeUInt32BE(this.processed >>> 0, 1);
        this.socket.write(ack);
      }
    });
  }

  sendControl(_device: number, frame: Uint8Array, command: ControlCommand, commandId: number): void {
    if (!this.open) throw new Error("connection closed");
    if (this.mode === "json") {
      const { op, ...args } = command;
      this.socket.write(jsonMessage({ op, id: commandId, ...args }));
    } else if (this.mode === "chain") {
      const out = Buffer.alloc(3 + frame.length);
      out[0] = ChainMessage.CONTROL;
      out.writeUInt16BE(frame.length, 1);
      out.set(frame, 3);
      this.socket.write(out);
    } else {
      this.socket.write(tcpFrame(frame));
    }
  }
}

export class TcpInput {
  private server: Server | null = null;
  private readonly connections = new Set<TcpConnection>();
  /** Frames of all connections waiting for their commit (the iotfw_bridge_intake_* metrics). */
  readonly gate: IntakeGate;

  constructor(private readonly ingest: Ingest, private readonly limits?: Limits) {
    this.gate = new IntakeGate(limits?.settings.maxPendingFrames ?? LIMIT_DEFAULTS.maxPendingFrames);
  }

  /** Open connections now (the iotfw_bridge_tcp_connections gauge). */
  get size(): number { return this.connections.size; }

  /** Listen; resolves with the bound address (port 0 picks a free one). */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((socket) => {
      const c = new TcpConnection(socket, this.ingest, this.limits, this.gate);
      this.connections.add(c);
      socket.on("close", () => this.connections.delete(c));
    });
    const limits = this.limits;
    if (limits) {
      // Node closes a connection past maxConnections as soon as it is accepted, and says so with "drop".
      server.maxConnections = limits.settings.maxConnections;
      server.on("drop", (d) => {
        limits.refused("connection_limit");
        limits.once("connections", `connection from ${d?.remoteAddress ?? "?"} closed: ${limits.settings.maxConnections} connections open (--max-connections)`);
      });
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => { server.off("error", reject); resolve(); });
    });
    // Once listening, an accept that fails (EMFILE: out of descriptors) must not end the bridge:
    // libuv has already closed the pending connection; count it and go on.
    server.on("error", (e: NodeJS.ErrnoException) => {
      limits?.refused("accept_failed");
      if (limits) limits.once("accept", `accepting a TCP connection failed: ${e.code ?? e.message}`);
      else this.ingest.log(`accepting a TCP connection failed: ${e.code ?? e.message}`);
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
