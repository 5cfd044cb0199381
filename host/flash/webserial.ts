// A Node stand-in for the Web Serial API's SerialPort, which is what esptool-js 0.7's Transport wraps:
// open/close, readable/writable web streams, setSignals, getInfo, and setBaudRate (esptool-js uses it to
// change speed in place instead of reopening). Backed by the `serialport` package for device paths, by
// a TCP socket for socket://host:port (via host/link/open.ts), and by an RFC 2217 session for
// rfc2217://host:port (host/flash/rfc2217.ts: baud rate and DTR/RTS travel as SET-BAUDRATE and
// SET-CONTROL). Pitfalls handled here: serialport's set() asserts any modem line left out, so DTR and RTS
// are tracked and always sent together; baud changes go through port.update(); a pty or a socket has no
// modem lines, so signal changes there are no-ops.
// May touch: the port or socket it opens.
import { SerialPort } from "serialport";
import { openLink, type LinkSpec, type OpenLink } from "../link/open.js";
import { Rfc2217Client, type Rfc2217Spec } from "./rfc2217.js";

/** What a flash port can be: a device path, socket://, or rfc2217://. */
export type FlashPortSpec = LinkSpec | Rfc2217Spec;

export interface WebSerialInfo {
  usbVendorId?: number;
  usbProductId?: number;
}

export interface SerialCounters {
  bytesWritten: number;
  bytesRead: number;
}

export class NodeSerialPort {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  readonly counters: SerialCounters = { bytesWritten: 0, bytesRead: 0 };
  /** False for a socket, and for a port that refused a modem-status read or a modem-line change (a pty). */
  modemLines: boolean;
  private link: OpenLink | null = null;
  /** The RFC 2217 session, for rfc2217:// (then `link` is its data stream). */
  rfc2217: Rfc2217Client | null = null;
  private dtr = false;
  private rts = false;
  private info: WebSerialInfo = {};

  constructor(readonly spec: FlashPortSpec) {
    this.modemLines = spec.kind === "serial" || spec.kind === "rfc2217";
  }

  /** Web Serial open(); baudRate from the options (the spec's own baud rate for a socket is unused). */
  async open(options: { baudRate: number }): Promise<void> {
    if (this.link) throw new Error("port already open");
    let link: OpenLink;
    if (this.spec.kind === "rfc2217") {
      const client = this.rfc2217 = await Rfc2217Client.open(this.spec, options.baudRate);
      link = { spec: { kind: "tcp", host: this.spec.host, port: this.spec.port }, stream: client.stream, close: () => client.close() };
    } else {
      link = await openLink(this.spec.kind === "serial" ? { ...this.spec, baudRate: options.baudRate } : this.spec);
    }
    this.link = link;
    if (link.serial) {
      // Known before the first reset, so a port without modem lines (a pty) skips the reset's sleeps;
      // only a port with modem lines can be a USB bridge worth looking up (a udev scan, 100-250 ms).
      this.modemLines = await hasModemLines(link.serial);
      if (this.modemLines) this.info = await usbInfo(this.spec.kind === "serial" ? this.spec.path : "");
    }
    const stream = link.stream;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const onData = (chunk: Buffer) => {
          this.counters.bytesRead += chunk.length;
          try { controller.enqueue(new Uint8Array(chunk)); } catch { /* closed */ }
        };
        stream.on("data", onData);
        stream.once("close", () => { stream.off("data", onData); try { controller.close(); } catch { /* already */ } });
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => new Promise<void>((resolve, reject) => {
        this.counters.bytesWritten += chunk.length;
        stream.write(chunk, (err) => (err ? reject(err) : resolve()));
      }),
    });
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = null;
    this.rfc2217 = null;
    this.readable = null;
    this.writable = null;
    await link?.close();
  }

  getInfo(): WebSerialInfo {
    return this.info;
  }

  /** Web Serial setSignals: only the lines given change; both DTR and RTS always go to the driver. */
  async setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    if (signals.dataTerminalReady !== undefined) this.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.rts = signals.requestToSend;
    if (this.rfc2217) return this.rfc2217.setLines({ dtr: signals.dataTerminalReady, rts: signals.requestToSend });
    const port = this.link?.serial;
    if (!port || !this.modemLines) return;
    try {
      await new Promise<void>((resolve, reject) => port.set({ dtr: this.dtr, rts: this.rts, brk: signals.break ?? false }, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      // A pty has no modem lines (ioctl TIOCMSET fails with ENOTTY): nothing to reset with, not an error.
      if (/Inappropriate ioctl|ENOTTY|EINVAL|Invalid argument/i.test((e as Error).message)) { this.modemLines = false; return; }
      throw e;
    }
  }

  /** Change speed in place (esptool-js Transport.changeBaudrate prefers this to a reopen). */
  async setBaudRate(baudRate: number): Promise<void> {
    if (this.rfc2217) return this.rfc2217.setBaudRate(baudRate);
    const port = this.link?.serial;
    if (!port) return; // a raw socket has no baud rate
    await new Promise<void>((resolve, reject) => port.update({ baudRate }, (e) => (e ? reject(e) : resolve())));
  }
}

/** Whether the port answers a modem-status read (TIOCMGET); a pty answers ENOTTY. */
function hasModemLines(port: SerialPort): Promise<boolean> {
  return new Promise((resolve) => port.get((err) => resolve(!err)));
}

async function usbInfo(path: string): Promise<WebSerialInfo> {
  try {
    const ports = await SerialPort.list();
    const p = ports.find((x) => x.path === path);
    if (!p?.vendorId || !p.productId) return {};
    return { usbVendorId: parseInt(p.vendorId, 16), usbProductId: parseInt(p.productId, 16) };
  } catch {
    return {};
  }
}
