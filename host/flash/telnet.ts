// The Telnet wire format that RFC 2217 (Telnet Com Port Control Option) rides on, for both ends: the
// RFC 2217 client of `iotfw flash rfc2217://...` (host/flash/rfc2217.ts) and the emulator's RFC 2217
// server (simulator/esp32/rfc2217-server.ts). RFC 854: IAC (255) starts a command, a data byte 255 is
// sent doubled (IAC IAC); RFC 855: option negotiation (WILL/WONT/DO/DONT <option>) and subnegotiation
// (IAC SB <option> ... IAC SE, where a 255 inside is doubled too); RFC 856: BINARY (option 0), the 8-bit
// path a serial line needs; RFC 858: SUPPRESS-GO-AHEAD (3). RFC 2217 section 1-5: COM-PORT-OPTION (44)
// and its commands, client to server 0..12, the server's answers and notifications the same plus 100.
// Pure functions and a byte-at-a-time parser: touches nothing.

export const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
/** Telnet options used here (RFC 856, 857, 858, 2217). */
export const OPT = { BINARY: 0, ECHO: 1, SGA: 3, COM_PORT: 44 } as const;

/** RFC 2217 COM-PORT-OPTION commands, as the client sends them; the server answers with code + 100. */
export const CPC = {
  SIGNATURE: 0, SET_BAUDRATE: 1, SET_DATASIZE: 2, SET_PARITY: 3, SET_STOPSIZE: 4, SET_CONTROL: 5,
  NOTIFY_LINESTATE: 6, NOTIFY_MODEMSTATE: 7, FLOWCONTROL_SUSPEND: 8, FLOWCONTROL_RESUME: 9,
  SET_LINESTATE_MASK: 10, SET_MODEMSTATE_MASK: 11, PURGE_DATA: 12,
} as const;
export const SERVER = 100;

/** SET-CONTROL values (RFC 2217 section 3). */
export const CONTROL = {
  REQ_FLOW: 0, NO_FLOW: 1, XONXOFF: 2, HW_FLOW: 3, REQ_BREAK: 4, BREAK_ON: 5, BREAK_OFF: 6,
  REQ_DTR: 7, DTR_ON: 8, DTR_OFF: 9, REQ_RTS: 10, RTS_ON: 11, RTS_OFF: 12,
  REQ_FLOW_IN: 13, NO_FLOW_IN: 14, XONXOFF_IN: 15, HW_FLOW_IN: 16, DCD_FLOW: 17, DTR_FLOW_IN: 18, DSR_FLOW: 19,
} as const;

/** PURGE-DATA values (RFC 2217 section 3): the access server's receive buffer (data from the serial
 *  device, bound for the client), its transmit buffer (data from the client, bound for the device), both. */
export const PURGE = { RECEIVE: 1, TRANSMIT: 2, BOTH: 3 } as const;

/** SET-PARITY values (RFC 2217 section 2); 0 asks for the current one. */
export const PARITY = { NONE: 1, ODD: 2, EVEN: 3, MARK: 4, SPACE: 5 } as const;

/** Double every 255 (RFC 854: "data byte 255 ... must be doubled"). */
export function escapeIac(data: Uint8Array): Uint8Array {
  let n = 0;
  for (const b of data) if (b === IAC) n++;
  if (n === 0) return data;
  const out = new Uint8Array(data.length + n);
  let j = 0;
  for (const b of data) { out[j++] = b; if (b === IAC) out[j++] = IAC; }
  return out;
}

export function negotiation(command: number, option: number): Uint8Array {
  return Uint8Array.of(IAC, command, option);
}

/** IAC SB COM-PORT-OPTION <code> <value, 255s doubled> IAC SE. */
export function comPort(code: number, value: Uint8Array | number[] = []): Uint8Array {
  const body = escapeIac(Uint8Array.from(value));
  const out = new Uint8Array(body.length + 6);
  out.set([IAC, SB, OPT.COM_PORT, code]);
  out.set(body, 4);
  out.set([IAC, SE], 4 + body.length);
  return out;
}

export const u32be = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
export const readU32be = (b: Uint8Array, at = 0): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

export type TelnetEvent =
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "option"; command: number; option: number }
  | { kind: "sb"; option: number; body: Uint8Array }
  | { kind: "command"; command: number };

/** Splits a Telnet byte stream into data runs, negotiations, subnegotiations and other commands;
 *  state carries over between chunks (a command may be split across TCP segments). */
export class TelnetParser {
  private state: "data" | "iac" | "option" | "sb" | "sb-iac" = "data";
  private command = 0;
  private sb: number[] = [];

  push(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    let data: number[] = [];
    const flush = () => { if (data.length) { events.push({ kind: "data", bytes: Uint8Array.from(data) }); data = []; } };
    for (const b of chunk) {
      switch (this.state) {
        case "data":
          if (b === IAC) this.state = "iac"; else data.push(b);
          break;
        case "iac":
          if (b === IAC) { data.push(IAC); this.state = "data"; }
          else if (b === SB) { flush(); this.sb = []; this.state = "sb"; }
          else if (b === WILL || b === WONT || b === DO || b === DONT) { flush(); this.command = b; this.state = "option"; }
          else { flush(); events.push({ kind: "command", command: b }); this.state = "data"; }
          break;
        case "option":
          events.push({ kind: "option", command: this.command, option: b });
          this.state = "data";
          break;
        case "sb":
          if (b === IAC) this.state = "sb-iac"; else this.sb.push(b);
          break;
        case "sb-iac":
          if (b === IAC) { this.sb.push(IAC); this.state = "sb"; }
          else if (b === SE) {
            if (this.sb.length) events.push({ kind: "sb", option: this.sb[0], body: Uint8Array.from(this.sb.slice(1)) });
            this.state = "data";
          } else { this.sb.push(b); this.state = "sb"; } // not allowed by RFC 855; keep the byte, stay inside
          break;
      }
    }
    flush();
    return events;
  }
}

/** One side's view of an option, after RFC 1143's simplification of RFC 854's rules: answer a request
 *  only when it changes the state, so two ends never loop acknowledging each other. */
export class OptionState {
  /** Options this end has agreed to perform (WILL), and those the peer performs (DO). */
  readonly us = new Map<number, "yes" | "want">();
  readonly him = new Map<number, "yes" | "want">();

  constructor(private readonly supported: { us: readonly number[]; him: readonly number[] }, private readonly send: (bytes: Uint8Array) => void) {}

  /** Ask to perform an option ourselves (WILL) or that the peer does (DO). */
  request(side: "us" | "him", option: number): void {
    const map = side === "us" ? this.us : this.him;
    if (map.has(option)) return;
    map.set(option, "want");
    this.send(negotiation(side === "us" ? WILL : DO, option));
  }

  isOn(side: "us" | "him", option: number): boolean { return (side === "us" ? this.us : this.him).get(option) === "yes"; }

  /** A WILL/WONT/DO/DONT from the peer. */
  receive(command: number, option: number): void {
    const peerSide = command === WILL || command === WONT; // WILL/WONT: about what the peer does
    const map = peerSide ? this.him : this.us;
    const ok = (peerSide ? this.supported.him : this.supported.us).includes(option);
    const positive = command === WILL || command === DO;
    const state = map.get(option);
    if (positive) {
      if (state === "yes") return;
      if (state === "want") { map.set(option, "yes"); return; }
      if (ok) { map.set(option, "yes"); this.send(negotiation(peerSide ? DO : WILL, option)); }
      else this.send(negotiation(peerSide ? DONT : WONT, option));
    } else {
      if (state === undefined) return;
      map.delete(option);
      if (state === "yes") this.send(negotiation(peerSide ? DONT : WONT, option));
    }
  }
}
