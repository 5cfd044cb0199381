// `iotfw simulate --serial <path>`: one simulated device seen exactly as a board on USB would be: its
// frames leave on a pseudo-terminal with the serial framing (COBS + 0x00, docs/protocol.md), and control
// frames written to that pty reach the device. <path> becomes a symlink to the pty's free end, so
// `iotfw monitor <path>` and `iotfw bridge --serial <path>` work against it unchanged. Frames go out and
// come in as the session gives and takes them (signed ones for a keyed device, see device-keys.ts).
// May touch: the socat process of the pty pair, the symlink at <path>.
import { existsSync, lstatSync, symlinkSync, unlinkSync } from "node:fs";
import { resolve } from "node:path";
import { decodeFrameAllowingHmac, SerialReader, serialFrame } from "../protocol/index.js";
import { openLink, type OpenLink } from "../link/open.js";
import { createPtyPair, type PtyPair } from "../link/pty.js";

export class SerialExposureError extends Error {}

export class SerialExposure {
  // Signed frames pass through (flags 0x01): the device's keys, if any, decide (host/simulate/device-keys.ts).
  private readonly reader = new SerialReader(undefined, { decode: decodeFrameAllowingHmac });
  private readonly downlink: Uint8Array[] = [];

  private constructor(readonly path: string, private readonly pty: PtyPair, private readonly link: OpenLink) {
    link.stream.on("data", (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) this.downlink.push(f.bytes);
    });
  }

  /** Create the pty pair and the symlink at path (which must not exist yet). */
  static async open(path: string): Promise<SerialExposure> {
    const at = resolve(path);
    if (existsSync(at) || isDanglingLink(at)) throw new SerialExposureError(`--serial ${path}: something already exists there; give a new path`);
    const pty = await createPtyPair();
    try {
      symlinkSync(pty.b, at);
    } catch (e) {
      await pty.close();
      throw new SerialExposureError(`--serial ${path}: cannot create the link: ${(e as Error).message}`);
    }
    const link = await openLink({ kind: "serial", path: pty.a, baudRate: 115200 });
    return new SerialExposure(at, pty, link);
  }

  /** Send frames of the exposed device, in order. */
  send(frames: Uint8Array[]): void {
    for (const f of frames) this.link.stream.write(serialFrame(f, true));
  }

  /** Control frames received since the last call. */
  takeDownlink(): Uint8Array[] { return this.downlink.splice(0, this.downlink.length); }

  async close(): Promise<void> {
    await this.link.close();
    await this.pty.close();
    if (isDanglingLink(this.path) || existsSync(this.path)) unlinkSync(this.path);
  }
}

function isDanglingLink(path: string): boolean {
  try { return lstatSync(path).isSymbolicLink(); } catch { return false; }
}
