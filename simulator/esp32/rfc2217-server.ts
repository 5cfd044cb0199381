// The emulator's RFC 2217 access server: one Telnet connection (RFC 854/855, BINARY RFC 856, SGA RFC 858)
// carrying the virtual ESP32's UART and the Com Port Control Option (RFC 2217), as a USB-UART behind
// esptool's esp_rfc2217_server or ser2net would be seen by `rfc2217://host:port` clients (pyserial's
// serial_for_url, esptool, `iotfw flash`). What it does per RFC 2217 section:
// - 1 negotiation: it asks DO/WILL BINARY, accepts WILL/DO COM-PORT-OPTION and SGA, refuses the rest
//   (ECHO included: it does not echo); every answer changes a state, so no option loops (RFC 1143).
// - 2 configuration: SIGNATURE (empty: answered with ours), SET-BAUDRATE, -DATASIZE, -PARITY, -STOPSIZE
//   set the adapter side of the line (0 asks); each is answered with code+100 and the value in effect.
// - 3 SET-CONTROL: flow control (outbound and inbound), BREAK, DTR and RTS, and the requests for each;
//   answered with code+100 and the state now in effect. DTR and RTS drive the board's reset circuit.
// - 4 NOTIFY-LINESTATE / NOTIFY-MODEMSTATE (a poll: answered with the state), SET-LINESTATE-MASK /
//   -MODEMSTATE-MASK (answered with the mask), PURGE-DATA (answered with the value).
// - 5 FLOWCONTROL-SUSPEND / -RESUME from the client: nothing, data or commands, is sent while suspended.
// Data: 255 doubled both ways. The line is only as good as its two ends agree: a chunk the chip sent at
// one baud rate while the adapter is set to another (more than 5 % apart), or a frame other than 8N1,
// is lost as a real UART would lose it to framing errors (counted, logged, framing-error bit in the
// line state). A new connection starts with DTR and RTS asserted (pyserial's defaults after open);
// when it closes both are released, as a closed port's lines are. May touch: the socket it is given.
import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import {
  comPort, CONTROL, CPC, escapeIac, OptionState, OPT, PARITY, PURGE, readU32be, SERVER, TelnetParser, u32be,
} from "../../host/flash/telnet.js";
import type { Esp32Emulator, UartPeer } from "./emulator.js";

const LINESTATE_FRAMING_ERROR = 0x08;
const LINESTATE_THRE_TSRE = 0x60; // transfer holding and shift registers empty: nothing waits to go out
const MAX_ADAPTER_BAUD = 5_000_000;

export class Rfc2217Port extends Duplex implements UartPeer {
  readonly parser = new TelnetParser();
  readonly options: OptionState;
  baud = 115200;
  dataSize = 8;
  parity: number = PARITY.NONE;
  stopSize = 1;
  flowOut: number = CONTROL.NO_FLOW;
  flowIn: number = CONTROL.NO_FLOW_IN;
  dtr = true;
  rts = true;
  breakOn = false;
  lineStateMask = 0;
  modemStateMask = 255;
  framingErrors = 0;
  private lineState = LINESTATE_THRE_TSRE;
  private suspended = false;
  private pending: Array<{ data: boolean; bytes: Uint8Array }> = [];

  constructor(readonly socket: Socket, private readonly emu: Esp32Emulator, private readonly logger?: (text: string) => void) {
    super();
    this.options = new OptionState({ us: [OPT.BINARY, OPT.SGA, OPT.COM_PORT], him: [OPT.BINARY, OPT.SGA, OPT.COM_PORT] }, (b) => this.send(b, false));
    socket.on("data", (chunk: Buffer) => this.fromNetwork(chunk));
    const gone = () => {
      if (this.emu.isAttached(this)) this.emu.setLines({ dtr: false, rts: false });
      this.destroy();
    };
    socket.once("close", gone);
    socket.once("error", gone);
  }

  /** After the emulator is attached: open the Telnet session and assert the lines as pyserial's open does. */
  start(): void {
    this.options.request("us", OPT.BINARY);
    this.options.request("him", OPT.BINARY);
    this.emu.setLines({ dtr: this.dtr, rts: this.rts });
  }

  private log(text: string): void { this.logger?.(`rfc2217: ${text}`); }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.fromUart(new Uint8Array(chunk), this.baud);
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** Whether a byte stream at `baud` survives the adapter's current settings (8N1 and within 5 %). */
  private framesMatch(baud: number): boolean {
    return this.dataSize === 8 && this.parity === PARITY.NONE && Math.abs(baud - this.baud) <= 0.05 * baud;
  }

  private framingError(bytes: number, baud: number, dir: string): void {
    if (this.framingErrors === 0) this.log(`${dir}: ${bytes} bytes lost to framing errors (chip UART ${baud} baud, adapter ${this.baud} baud ${this.dataSize}${"?NOEMS"[this.parity]}${this.stopSize})`);
    this.framingErrors += bytes;
    if (!(this.lineState & LINESTATE_FRAMING_ERROR)) {
      this.lineState |= LINESTATE_FRAMING_ERROR;
      if (this.lineStateMask & LINESTATE_FRAMING_ERROR) this.reply(CPC.NOTIFY_LINESTATE, [this.lineState & this.lineStateMask]);
    }
  }

  /** Bytes from the chip's TX pin, sent at `baud`. */
  fromUart(bytes: Uint8Array, baud: number): void {
    if (!this.framesMatch(baud)) return this.framingError(bytes.length, baud, "chip to host");
    this.send(escapeIac(bytes), true);
  }

  private send(bytes: Uint8Array, data: boolean): void {
    if (this.socket.destroyed) return;
    if (this.suspended) { this.pending.push({ data, bytes }); return; }
    this.socket.write(bytes);
  }

  private reply(code: number, value: number[] | Uint8Array): void { this.send(comPort(code + SERVER, value), false); }

  private fromNetwork(chunk: Buffer): void {
    for (const ev of this.parser.push(chunk)) {
      if (ev.kind === "data") {
        if (!this.framesMatch(this.emu.baud)) this.framingError(ev.bytes.length, this.emu.baud, "host to chip");
        else this.push(Buffer.from(ev.bytes));
      } else if (ev.kind === "option") this.options.receive(ev.command, ev.option);
      else if (ev.kind === "sb") {
        if (ev.option === OPT.COM_PORT && ev.body.length) this.comPortCommand(ev.body[0], ev.body.subarray(1));
        else this.log(`ignored subnegotiation for option ${ev.option}`);
      }
      // other commands (NOP, AYT, BRK, ...) have no meaning for a serial line here
    }
  }

  private comPortCommand(code: number, v: Uint8Array): void {
    const byte = v.length ? v[0] : -1;
    switch (code) {
      case CPC.SIGNATURE:
        if (v.length) this.log(`client signature: ${Buffer.from(v).toString("latin1")}`);
        else this.reply(code, [...Buffer.from(`iotfw virtual ${this.emu.chip.name}`, "latin1")]);
        return;
      case CPC.SET_BAUDRATE: {
        if (v.length < 4) return this.log("SET-BAUDRATE without its 4 bytes: ignored");
        const want = readU32be(v);
        if (want > 0 && want <= MAX_ADAPTER_BAUD) {
          if (want !== this.baud) this.log(`SET-BAUDRATE ${want} (was ${this.baud})`);
          this.baud = want;
        } else if (want) this.log(`SET-BAUDRATE ${want} refused: the adapter runs at 1-${MAX_ADAPTER_BAUD} baud`);
        return this.reply(code, u32be(this.baud));
      }
      case CPC.SET_DATASIZE:
        if (byte >= 5 && byte <= 8) this.dataSize = byte;
        return this.reply(code, [this.dataSize]);
      case CPC.SET_PARITY:
        if (byte >= 1 && byte <= 5) this.parity = byte;
        return this.reply(code, [this.parity]);
      case CPC.SET_STOPSIZE:
        if (byte >= 1 && byte <= 3) this.stopSize = byte;
        return this.reply(code, [this.stopSize]);
      case CPC.SET_CONTROL:
        return this.setControl(byte);
      case CPC.NOTIFY_LINESTATE:
        return this.reply(code, [this.lineState]);
      case CPC.NOTIFY_MODEMSTATE:
        return this.reply(code, [0]); // CTS, DSR, RI, CD: not wired on an ESP dev board's bridge
      case CPC.FLOWCONTROL_SUSPEND:
        this.suspended = true;
        return;
      case CPC.FLOWCONTROL_RESUME: {
        this.suspended = false;
        const pending = this.pending;
        this.pending = [];
        for (const p of pending) this.send(p.bytes, p.data);
        return;
      }
      case CPC.SET_LINESTATE_MASK:
        if (byte >= 0) this.lineStateMask = byte;
        return this.reply(code, [this.lineStateMask]);
      case CPC.SET_MODEMSTATE_MASK:
        if (byte >= 0) this.modemStateMask = byte;
        return this.reply(code, [this.modemStateMask]);
      case CPC.PURGE_DATA:
        if (byte !== PURGE.RECEIVE && byte !== PURGE.TRANSMIT && byte !== PURGE.BOTH) return this.log(`PURGE-DATA ${byte}: not a purge value, ignored`);
        if (byte & PURGE.RECEIVE) this.pending = this.pending.filter((p) => !p.data);
        if (byte & PURGE.TRANSMIT) this.emu.purgeFromHost();
        this.lineState &= ~LINESTATE_FRAMING_ERROR;
        return this.reply(code, [byte]);
      default:
        return this.log(`COM-PORT-OPTION command ${code}: unknown, ignored`);
    }
  }

  private setControl(value: number): void {
    const code = CPC.SET_CONTROL;
    switch (value) {
      case CONTROL.REQ_FLOW: return this.reply(code, [this.flowOut]);
      case CONTROL.NO_FLOW: case CONTROL.XONXOFF: case CONTROL.HW_FLOW: case CONTROL.DCD_FLOW: case CONTROL.DSR_FLOW:
        this.flowOut = value;
        return this.reply(code, [value]);
      case CONTROL.REQ_FLOW_IN: return this.reply(code, [this.flowIn]);
      case CONTROL.NO_FLOW_IN: case CONTROL.XONXOFF_IN: case CONTROL.HW_FLOW_IN: case CONTROL.DTR_FLOW_IN:
        this.flowIn = value;
        return this.reply(code, [value]);
      case CONTROL.REQ_BREAK: return this.reply(code, [this.breakOn ? CONTROL.BREAK_ON : CONTROL.BREAK_OFF]);
      case CONTROL.BREAK_ON: case CONTROL.BREAK_OFF:
        this.breakOn = value === CONTROL.BREAK_ON;
        return this.reply(code, [value]);
      case CONTROL.REQ_DTR: return this.reply(code, [this.dtr ? CONTROL.DTR_ON : CONTROL.DTR_OFF]);
      case CONTROL.DTR_ON: case CONTROL.DTR_OFF:
        this.dtr = value === CONTROL.DTR_ON;
        if (this.emu.isAttached(this)) this.emu.setLines({ dtr: this.dtr });
        return this.reply(code, [value]);
      case CONTROL.REQ_RTS: return this.reply(code, [this.rts ? CONTROL.RTS_ON : CONTROL.RTS_OFF]);
      case CONTROL.RTS_ON: case CONTROL.RTS_OFF:
        this.rts = value === CONTROL.RTS_ON;
        if (this.emu.isAttached(this)) this.emu.setLines({ rts: this.rts });
        return this.reply(code, [value]);
      default:
        return this.log(`SET-CONTROL ${value}: unknown, ignored`);
    }
  }
}

/** Serve one RFC 2217 connection as the emulator's UART (replacing any other). */
export function serveRfc2217(emu: Esp32Emulator, socket: Socket, log?: (text: string) => void): Rfc2217Port {
  socket.setNoDelay(true);
  const port = new Rfc2217Port(socket, emu, log);
  emu.attach(port, { lines: true });
  port.start();
  return port;
}
