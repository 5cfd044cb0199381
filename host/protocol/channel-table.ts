// A device's channel table on the host: HELLO resets it, each CHANNELS frame (0x07, sent right after a
// HELLO that had no room for the whole table) adds its entries by id (docs/protocol.md). One rule for
// every consumer that names channels (telemetry, dashboard, bridge, monitor). Pure; no I/O.
import type { ChannelsFrame, Frame, HelloChannel, HelloFrame } from "./frame.js";

/** The hello with a CHANNELS frame's entries added by id (an id already there is replaced). A new object
 *  and a new channels array: callers cache by the array, so the old one must stay as it was. */
export function helloWithChannels(hello: HelloFrame, frame: ChannelsFrame): HelloFrame {
  const channels = hello.channels.slice();
  for (const c of frame.channels) {
    const at = channels.findIndex((x) => x.id === c.id);
    if (at >= 0) channels[at] = c;
    else channels.push(c);
  }
  return { ...hello, channels };
}

/** Each device's latest hello with its whole channel table. */
export class ChannelTables {
  private readonly hellos = new Map<number, HelloFrame>();

  /** Take a frame in. For a HELLO or CHANNELS frame, the device's hello with the table as it now is;
   *  undefined otherwise, and for CHANNELS without a HELLO before it (the table starts at a HELLO). */
  update(frame: Frame): HelloFrame | undefined {
    if (frame.type === "hello") {
      this.hellos.set(frame.device, frame);
      return frame;
    }
    if (frame.type !== "channels") return undefined;
    const hello = this.hellos.get(frame.device);
    if (!hello) return undefined;
    const merged = helloWithChannels(hello, frame);
    this.hellos.set(frame.device, merged);
    return merged;
  }

  hello(device: number): HelloFrame | undefined { return this.hellos.get(device); }
  channels(device: number): readonly HelloChannel[] | undefined { return this.hellos.get(device)?.channels; }
}
