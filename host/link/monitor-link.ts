// The link `iotfw monitor` reads: a serial port, socket://host:port (host/link/open.ts) or
// rfc2217://host:port (an RFC 2217 session, host/flash/rfc2217.ts: the baud rate goes to the remote port
// as SET-BAUDRATE; `iotfw emulate --rfc2217`, esptool's esp_rfc2217_server, ser2net). On an ESP dev
// board's auto-reset circuit (docs/flashing.md) the lines are left so the app keeps running: the session
// opens with DTR and RTS asserted (pyserial's state, "run" on the circuit) and releases RTS first, then
// DTR (releasing DTR first would pass through "RTS only", which pulls EN low and resets the chip).
// `reset`: esptool's HardReset by the lines (reset.py: RTS asserted with DTR released, EN low with IO0
// high, 100 ms, then released), so the chip restarts into its app; refused on a link without lines (a
// socket; a pty, whose modem-line ioctl fails). May touch: the port or connection it opens, its DTR/RTS.
import { parseRfc2217Url, Rfc2217Client } from "../flash/rfc2217.js";
import { LinkError, openLink, parseLinkSpec, type OpenLink } from "./open.js";

/** How long EN is held low by a hard reset (esptool reset.py HardReset). */
export const HARD_RESET_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface MonitorLink extends OpenLink {
  /** "rfc2217" when the lines are an RFC 2217 session's. */
  via: "serial" | "socket" | "rfc2217";
}

/** Open `text` at `baud`; with `reset`, hard-reset the chip into its app by DTR/RTS first. */
export async function openMonitorLink(text: string, baud: number, opts: { reset?: boolean } = {}): Promise<MonitorLink> {
  const rfc = parseRfc2217Url(text);
  if (rfc) {
    const client = await Rfc2217Client.open(rfc, baud);
    const close = () => client.close();
    try {
      await client.setLines({ rts: false }); // DTR asserted, RTS released: runs (IO0 low matters only at EN's rise)
      await client.setLines({ dtr: false }); // both released: runs, IO0 high
      if (opts.reset) {
        await client.setLines({ rts: true }); // EN low, IO0 high
        await sleep(HARD_RESET_MS);
        await client.setLines({ rts: false }); // EN released with IO0 high: the app boots
      }
    } catch (e) {
      await close();
      throw e;
    }
    return { spec: { kind: "tcp", host: rfc.host, port: rfc.port }, stream: client.stream, close, via: "rfc2217" };
  }
  const spec = parseLinkSpec(text, baud);
  if (opts.reset && spec.kind === "tcp") throw new LinkError(`${text}: --reset needs DTR/RTS lines, which a raw socket:// has not (use rfc2217://)`);
  const link = await openLink(spec);
  if (opts.reset && link.serial) {
    const port = link.serial;
    const set = (dtr: boolean, rts: boolean) => new Promise<void>((resolve, reject) => port.set({ dtr, rts }, (e) => (e ? reject(e) : resolve())));
    try {
      await set(true, false);
      await set(false, false);
      await set(false, true);
      await sleep(HARD_RESET_MS);
      await set(false, false);
    } catch (e) {
      await link.close();
      throw new LinkError(`${text}: --reset: the port has no DTR/RTS lines to reset with (${(e as Error).message})`);
    }
  }
  return { ...link, via: spec.kind === "tcp" ? "socket" : "serial" };
}
