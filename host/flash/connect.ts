// The connect phase of `iotfw flash` (before any data moves), built from esptool-js's own pieces with
// three changes that cost nothing on a real board and save the waits it does not need:
// - Reset sequences run only on a port that has modem lines: over a pty (no DTR/RTS) esptool-js's classic
//   reset is a series of no-op signal changes separated by 150 ms (550 ms on retries) of sleeping. On a
//   real adapter the sequence and its delays are esptool-js's, unchanged. Over RFC 2217 the classic
//   reset holds the boot strap low (DTR) after releasing EN until the chip speaks (its ROM banner: the
//   strapping pins are latched by then) or 600 ms: the server applies each line change as it arrives,
//   and a board's EN capacitor can keep the chip in reset longer than esptool-js's 50 ms (docs/flashing.md).
// - Chip detection reads the magic register first and accepts it only for the chips that are identified
//   that way (USES_MAGIC_VALUE: ESP8266, ESP32); every other chip goes on to esptool-js's own
//   GET_SECURITY_INFO detection. The ESP32 ROM does not know GET_SECURITY_INFO, and esptool-js answers
//   its "invalid message" with a 100-400 ms input drain; asking the ESP32 the question it can answer
//   gives the same chip without it.
// - The baud change uses esptool's (Python) timing: CHANGE_BAUDRATE, 50 ms for the chip to switch and
//   the line to settle, the host switches, stale input is dropped, and a register read proves the new
//   speed works. esptool-js adds an input drain that waits for 100 ms of silence (the flush covers it:
//   nothing is sent by the chip after its reply). On failure it falls back to the ROM speed as
//   esptool-js does. May touch: the port behind the loader (signals, baud rate).
import { ClassicReset, ESPLoader, UnexpectedChipMagicError, UnsupportedCommandError, UsbJtagSerialReset, type ROM, type Transport } from "esptool-js";
import type { NodeSerialPort } from "./webserial.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The longest the RFC 2217 classic reset holds the boot strap low waiting for the ROM to speak. */
export const STRAP_HOLD_MAX_MS = 600;

/** esptool's ClassicReset (reset.py) over RFC 2217: EN low for 100 ms, then IO0 low and EN released in
 *  one go (two SET-CONTROLs back to back), IO0 held until the chip prints or STRAP_HOLD_MAX_MS, released. */
async function rfc2217ClassicReset(port: NodeSerialPort, transport: Transport, resetDelay: number): Promise<void> {
  await transport.setSignals(false, true); // DTR off (IO0 high), RTS on (EN low): chip held in reset
  await sleep(100);
  const heard = port.counters.bytesRead;
  await transport.setSignals(true, false); // DTR on (IO0 low), RTS off (EN released)
  const until = performance.now() + Math.max(resetDelay, STRAP_HOLD_MAX_MS);
  while (port.counters.bytesRead === heard && performance.now() < until) await sleep(5);
  await sleep(Math.min(resetDelay, 20)); // let the banner in, for esptool-js's boot-mode check
  await transport.setSignals(false, false); // IO0 high again
}

/** esptool's HardReset (reset.py, no USB): EN low for 100 ms with IO0 high, then released: the app boots.
 *  (esptool-js 0.7's HardReset only releases RTS, so it is not used.) */
export async function hardResetByLines(transport: Transport): Promise<void> {
  await transport.setSignals(false, true);
  await sleep(100);
  await transport.setSignals(false, false);
}

/** esptool-js's reset strategies, skipped (no sleeps) when the port has no modem lines to reset with. */
export function resetConstructorsFor(port: NodeSerialPort) {
  class LineClassicReset extends ClassicReset {
    override async reset(): Promise<void> {
      if (port.rfc2217) await rfc2217ClassicReset(port, this.transport, this.resetDelay);
      else if (port.modemLines) await super.reset();
    }
  }
  class LineUsbJtagSerialReset extends UsbJtagSerialReset {
    override async reset(): Promise<void> { if (port.modemLines) await super.reset(); }
  }
  return {
    classicReset: (transport: Transport, resetDelay: number) => new LineClassicReset(transport, resetDelay),
    usbJTAGSerialReset: (transport: Transport) => new LineUsbJtagSerialReset(transport),
  };
}

/** The private esptool-js steps reused here (plain methods at run time; private only in its typings). */
interface LoaderInternals {
  identifyChip(): Promise<ROM>;
  chipFromMagicValue(): Promise<ROM>;
}

/** Make the loader's chip detection ask the magic register first (see the header comment). */
export function detectByMagicFirst(loader: ESPLoader): void {
  const internals = loader as unknown as LoaderInternals;
  const bySecurityInfo = internals.identifyChip.bind(loader);
  internals.identifyChip = async () => {
    try {
      const chip = await internals.chipFromMagicValue.call(loader);
      if (chip.USES_MAGIC_VALUE) return chip;
    } catch (e) {
      // Unknown magic (newer chips), or READ_REG refused (secure download mode): esptool-js's own way.
      if (!(e instanceof UnexpectedChipMagicError || e instanceof UnsupportedCommandError)) throw e;
    }
    return bySecurityInfo();
  };
}

/** CHANGE_BAUDRATE to `baud` with esptool's timing; false when it fell back to the ROM speed. */
export async function changeBaud(loader: ESPLoader, baud: number, romBaud: number, reconnect: () => Promise<void>): Promise<boolean> {
  const word = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const pkt = new Uint8Array(8);
  pkt.set(word(baud), 0);
  pkt.set(word(loader.IS_STUB ? romBaud : 0), 4); // the stub computes its divider from the old speed
  await loader.command(loader.ESP_CHANGE_BAUDRATE, pkt);
  await sleep(50); // esptool: "get rid of crap sent during baud rate change"
  try {
    await loader.transport.changeBaudrate(baud);
    loader.transport.flushInput();
    for (let attempt = 0; attempt < 2; attempt++) {
      try { await loader.readReg(loader.CHIP_DETECT_MAGIC_REG_ADDR, 500); return true; } catch { loader.transport.flushInput(); }
    }
  } catch (e) {
    loader.debug(`host baud-rate change failed: ${(e as Error).message}`);
  }
  loader.info(`The chip did not answer at ${baud} baud. Continuing at ${romBaud} baud.`);
  await reconnect();
  return false;
}
