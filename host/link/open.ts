// Opening the link to a device: a serial port by path (the `serialport` package) or a raw TCP socket
// given as socket://host:port (as pyserial understands it). Both come back as a Duplex stream; opening
// errors are turned into messages a user can act on (no such port, busy, refused). Used by flash,
// monitor, bridge and emulate. May touch: the port it opens.
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { SerialPort } from "serialport";

export type LinkSpec =
  | { kind: "serial"; path: string; baudRate: number }
  | { kind: "tcp"; host: string; port: number };

export class LinkError extends Error {}

/** "socket://host:port" or a device path (/dev/ttyUSB0, COM3, a pty). */
export function parseLinkSpec(text: string, baudRate = 115200): LinkSpec {
  if (text.startsWith("socket://")) {
    const u = new URL(text.replace(/^socket:/, "tcp:"));
    const port = Number(u.port);
    if (!u.hostname || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new LinkError(`${text}: expected socket://host:port`);
    }
    return { kind: "tcp", host: u.hostname.replace(/^\[|\]$/g, ""), port };
  }
  if (!text) throw new LinkError("no port given");
  return { kind: "serial", path: text, baudRate };
}

export interface OpenLink {
  spec: LinkSpec;
  stream: Duplex;
  /** The serial port itself (for baud changes and DTR/RTS), when the link is one. */
  serial?: SerialPort;
  close(): Promise<void>;
}

function describe(spec: LinkSpec): string {
  return spec.kind === "serial" ? spec.path : `socket://${spec.host}:${spec.port}`;
}

/** Open a link; rejects with a LinkError naming the port and the reason. */
export async function openLink(spec: LinkSpec, options: { timeoutMs?: number } = {}): Promise<OpenLink> {
  if (spec.kind === "serial") {
    const port = new SerialPort({ path: spec.path, baudRate: spec.baudRate, autoOpen: false, lock: true });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(serialError(spec.path, err)) : resolve())));
    return {
      spec, stream: port, serial: port,
      close: () => new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
    };
  }
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: spec.host, port: spec.port });
    const timer = setTimeout(() => { s.destroy(); reject(new LinkError(`${describe(spec)}: no answer within ${options.timeoutMs ?? 5000} ms`)); },
      options.timeoutMs ?? 5000);
    s.once("connect", () => { clearTimeout(timer); s.setNoDelay(true); resolve(s); });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new LinkError(`${describe(spec)}: ${err.code === "ECONNREFUSED" ? "connection refused (is anything listening there?)" : err.message}`));
    });
  });
  return {
    spec, stream: socket,
    close: () => new Promise((resolve) => { if (socket.destroyed) return resolve(); socket.once("close", () => resolve()); socket.end(); }),
  };
}

function serialError(path: string, err: Error): LinkError {
  const m = err.message;
  if (/No such file|ENOENT|cannot find/i.test(m)) return new LinkError(`${path}: no such port (see \`iotfw ports\`)`);
  if (/lock|busy|EBUSY|Resource temporarily unavailable/i.test(m)) return new LinkError(`${path}: port is busy (another program has it open)`);
  if (/Permission denied|EACCES/i.test(m)) return new LinkError(`${path}: permission denied (on Linux, add yourself to the dialout group)`);
  return new LinkError(`${path}: ${m}`);
}
