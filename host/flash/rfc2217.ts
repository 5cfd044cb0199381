// An RFC 2217 client (Telnet Com Port Control Option) for `iotfw flash rfc2217://host:port`: a serial
// port on another machine (esptool's esp_rfc2217_server, ser2net, `iotfw emulate --rfc2217`) with its
// baud rate and DTR/RTS lines, so the reset sequences are real. It negotiates as pyserial's client does
// (WILL COM-PORT-OPTION, BINARY both ways, SGA; RFC 2217 section 1, RFC 856, RFC 858), sets 8N1, the
// baud rate and no flow control, and asserts DTR and RTS as pyserial's open does (on an ESP auto-reset
// circuit both asserted is the "run" state). Each SET-* waits for the server's answer (code + 100, RFC
// 2217 sections 2-3) within 3 s, as pyserial does; a refused value is an error. URL options as
// pyserial's: `?ign_set_control` does not wait for SET-CONTROL answers (esptool's esp_rfc2217_server
// answers none for DTR/RTS: it runs the reset sequences itself), `?timeout=<s>` changes the 3 s. Data:
// 255 doubled both ways (RFC 854). The session's data is a Duplex stream for NodeSerialPort.
// May touch: the TCP connection it opens.
import { connect, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { LinkError } from "../link/open.js";
import { comPort, CONTROL, CPC, escapeIac, OptionState, OPT, PARITY, readU32be, SERVER, TelnetParser, u32be } from "./telnet.js";

export interface Rfc2217Spec {
  kind: "rfc2217"; host: string; port: number;
  /** pyserial's ign_set_control: SET-CONTROL answers are not waited for. */
  ignoreSetControl?: boolean;
  /** How long to wait for an answer (pyserial's timeout option; default 3 s). */
  answerTimeoutMs?: number;
}

/** "rfc2217://host:port[?ign_set_control][&timeout=<s>]" (pyserial's URL), or null for another scheme. */
export function parseRfc2217Url(text: string): Rfc2217Spec | null {
  if (!text.startsWith("rfc2217://")) return null;
  let u: URL;
  try { u = new URL(text.replace(/^rfc2217:/, "tcp:")); } catch { throw new LinkError(`${text}: expected rfc2217://host:port`); }
  const port = Number(u.port);
  if (!u.hostname || !Number.isInteger(port) || port <= 0 || port > 65535) throw new LinkError(`${text}: expected rfc2217://host:port`);
  const spec: Rfc2217Spec = { kind: "rfc2217", host: u.hostname.replace(/^\[|\]$/g, ""), port };
  for (const [key, value] of u.searchParams) {
    if (key === "ign_set_control") spec.ignoreSetControl = true;
    else if (key === "timeout" && Number(value) > 0) spec.answerTimeoutMs = Number(value) * 1000;
    else throw new LinkError(`${text}: unknown option "${key}${value ? `=${value}` : ""}" (known: ign_set_control, timeout=<seconds>)`);
  }
  return spec;
}

class DataStream extends Duplex {
  constructor(private readonly socket: Socket) { super(); }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.socket.write(escapeIac(new Uint8Array(chunk)), cb);
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void { this.socket.destroy(); cb(err); }
}

export class Rfc2217Client {
  readonly stream: DataStream;
  private readonly parser = new TelnetParser();
  private readonly options: OptionState;
  private readonly waiting = new Map<number, Array<(value: Uint8Array) => void>>();
  private negotiated: (() => void) | null = null;
  dtr = true;
  rts = true;
  baud = 0;

  private readonly answerTimeoutMs: number;

  private constructor(readonly socket: Socket, readonly where: string, readonly spec: Rfc2217Spec) {
    this.answerTimeoutMs = spec.answerTimeoutMs ?? 3000;
    this.stream = new DataStream(socket);
    this.options = new OptionState({ us: [OPT.BINARY, OPT.SGA, OPT.COM_PORT], him: [OPT.BINARY, OPT.SGA, OPT.COM_PORT] }, (b) => socket.write(b));
    socket.on("data", (chunk: Buffer) => {
      for (const ev of this.parser.push(chunk)) {
        if (ev.kind === "data") this.stream.push(Buffer.from(ev.bytes));
        else if (ev.kind === "option") { this.options.receive(ev.command, ev.option); if (this.options.isOn("us", OPT.COM_PORT)) this.negotiated?.(); }
        else if (ev.kind === "sb" && ev.option === OPT.COM_PORT && ev.body.length) this.answer(ev.body[0], ev.body.subarray(1));
      }
    });
    socket.once("close", () => { this.stream.push(null); this.stream.destroy(); });
  }

  /** Connect, negotiate, and set up the port at `baud`, 8N1, no flow control, DTR and RTS asserted. */
  static async open(spec: Rfc2217Spec, baud: number, timeoutMs = 5000): Promise<Rfc2217Client> {
    const where = `rfc2217://${spec.host}:${spec.port}`;
    const socket: Socket = await new Promise((resolve, reject) => {
      const s = connect({ host: spec.host, port: spec.port });
      const timer = setTimeout(() => { s.destroy(); reject(new LinkError(`${where}: no answer within ${timeoutMs} ms`)); }, timeoutMs);
      s.once("connect", () => { clearTimeout(timer); s.setNoDelay(true); resolve(s); });
      s.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new LinkError(`${where}: ${err.code === "ECONNREFUSED" ? "connection refused (is an RFC 2217 server listening there?)" : err.message}`));
      });
    });
    const client = new Rfc2217Client(socket, where, spec);
    try {
      await client.negotiate();
      await client.setBaudRate(baud);
      await Promise.all([
        client.command(CPC.SET_DATASIZE, [8]), client.command(CPC.SET_PARITY, [PARITY.NONE]), client.command(CPC.SET_STOPSIZE, [1]),
        client.setControl(CONTROL.NO_FLOW), client.setControl(CONTROL.DTR_ON), client.setControl(CONTROL.RTS_ON),
      ]);
      await client.command(CPC.PURGE_DATA, [3]);
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return client;
  }

  private async negotiate(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LinkError(`${this.where}: the server does not accept the Com Port Control Option (no DO COM-PORT-OPTION within ${this.answerTimeoutMs} ms): not an RFC 2217 server?`)), this.answerTimeoutMs);
      this.negotiated = () => { clearTimeout(timer); this.negotiated = null; resolve(); };
    });
    this.options.request("us", OPT.COM_PORT);
    this.options.request("us", OPT.BINARY);
    this.options.request("him", OPT.BINARY);
    this.options.request("us", OPT.SGA);
    this.options.request("him", OPT.SGA);
    await done;
  }

  private answer(code: number, value: Uint8Array): void {
    const queue = this.waiting.get(code - SERVER);
    const resolve = queue?.shift();
    resolve?.(value); // notifications nobody asked for (NOTIFY-LINESTATE/MODEMSTATE) are not needed here
  }

  /** Send a COM-PORT-OPTION command and wait for its answer; rejects when the answer differs. */
  command(code: number, value: number[]): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(code) ?? [];
      this.waiting.set(code, queue);
      const timer = setTimeout(() => {
        const i = queue.indexOf(done);
        if (i >= 0) queue.splice(i, 1);
        reject(new LinkError(`${this.where}: no answer to COM-PORT-OPTION command ${code} [${value.join(" ")}] within ${this.answerTimeoutMs} ms` +
          (code === CPC.SET_CONTROL ? " (for a server that does not answer SET-CONTROL, such as esptool's esp_rfc2217_server, add ?ign_set_control to the URL)" : "")));
      }, this.answerTimeoutMs);
      const done = (answer: Uint8Array) => {
        clearTimeout(timer);
        if (value.length && !value.every((b, i) => answer[i] === b)) {
          reject(new LinkError(`${this.where}: the server refused COM-PORT-OPTION command ${code} [${value.join(" ")}] (it answered [${[...answer].join(" ")}])`));
        } else resolve(answer);
      };
      queue.push(done);
      this.socket.write(comPort(code, value));
    });
  }

  /** SET-CONTROL, waiting for its answer unless ign_set_control. */
  async setControl(value: number): Promise<void> {
    if (!this.spec.ignoreSetControl) { await this.command(CPC.SET_CONTROL, [value]); return; }
    this.socket.write(comPort(CPC.SET_CONTROL, [value]));
  }

  async setBaudRate(baud: number): Promise<void> {
    const got = await this.command(CPC.SET_BAUDRATE, u32be(baud));
    this.baud = readU32be(got);
  }

  /** Change DTR and/or RTS; both commands go out back to back (one TCP write each, no wait between). */
  async setLines(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    const sent: Array<Promise<void>> = [];
    if (lines.dtr !== undefined && lines.dtr !== this.dtr) { this.dtr = lines.dtr; sent.push(this.setControl(lines.dtr ? CONTROL.DTR_ON : CONTROL.DTR_OFF)); }
    if (lines.rts !== undefined && lines.rts !== this.rts) { this.rts = lines.rts; sent.push(this.setControl(lines.rts ? CONTROL.RTS_ON : CONTROL.RTS_OFF)); }
    await Promise.all(sent);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }
}
