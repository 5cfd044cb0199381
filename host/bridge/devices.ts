// The bridge's fleet: which devices it knows (their latest hello with the CHANNELS after it, persisted in the spool directory so
// names and units survive a restart), which link each is on now, and control routing: a command is
// encoded as a CONTROL frame (signed when the device has a key), sent down the device's link, and
// answered by the device's ACK frame whose ackedSeq is the command id (docs/protocol.md 0x06).
// Nothing done per frame here grows with the fleet (issue 11): a change is one line appended to the
// device log (device-log.ts) in a batch, and a closing link visits only its own devices.
// May touch: through DeviceLog, <spool dir>/devices.log (and devices.json, migrated once).
import { randomInt } from "node:crypto";
import {
  encodeFrame, helloWithChannels, signFrame, type AckFrame, type ChannelsFrame, type ControlCommand, type ControlFrame, type HelloChannel, type HelloFrame,
} from "../protocol/index.js";
import { DeviceLog, type DeviceLogOptions } from "./device-log.js";
import { deviceName } from "./records.js";

/** A way down to devices: a serial port, a TCP connection, a chained bridge, a MicroPython node. */
export interface DeviceLink {
  readonly id: string;
  readonly open: boolean;
  /** A link from another bridge (a bridge below, a peer's rule): its frames were relayed, not heard from a device. */
  readonly relays?: boolean;
  /** Send a CONTROL to `device`: the frame (already signed if keyed) and the command for JSON nodes. */
  sendControl(device: number, frame: Uint8Array, command: ControlCommand, commandId: number): void;
}

export type ControlFailure = "unknown" | "offline" | "timeout";
export class ControlError extends Error {
  constructor(readonly reason: ControlFailure, message: string) { super(message); }
}

export interface ControlResult {
  device: string;
  commandId: number;
  op: string;
  /** The device's status: 0 ok, or negative (e.g. -4 ERR_INVALID). */
  result: number;
  ms: number;
}

interface Known {
  hello?: HelloFrame;
  link?: DeviceLink;
  lastSeen?: number;
}

export class Devices {
  private readonly known = new Map<number, Known>();
  private readonly waiting = new Map<string, { resolve: (ack: AckFrame) => void }>();
  /** The devices last heard on each link, so that a link closing does not visit the whole fleet. */
  private readonly onLink = new Map<DeviceLink, Set<number>>();
  private nextCommandId = randomInt(1, 0x7fffffff);
  /** The persisted part of `known`: each device's hello (or null before one). */
  readonly store: DeviceLog;

  constructor(dir: string, private readonly keys: Map<number, Buffer> | null,
    private readonly onAvailability?: (device: number, online: boolean) => void, storeOptions?: DeviceLogOptions) {
    this.store = new DeviceLog(dir, storeOptions);
    for (const [device, hello] of this.store.entries()) this.known.set(device, { hello: hello ?? undefined });
  }

  /** How many devices the bridge knows (without building the list). */
  get size(): number { return this.known.size; }

  /** Resolves when every change so far is on disk. */
  flush(): Promise<void> { return this.store.flush(); }
  close(): Promise<void> { return this.store.close(); }

  /** The device's latest hello (its channel table merged in), kept across restarts. */
  helloOf(device: number): HelloFrame | undefined {
    return this.known.get(device)?.hello;
  }

  channels(device: number): readonly HelloChannel[] | undefined {
    return this.known.get(device)?.hello?.channels;
  }

  /** A frame from `device` passed the checks on `link`: it is there now. */
  seen(device: number, link: DeviceLink, now = Date.now()): void {
    let k = this.known.get(device);
    if (!k) {
      this.known.set(device, (k = {}));
      this.store.set(device, null);
    }
    const wasOnline = k.link?.open === true;
    if (k.link && k.link !== link) this.onLink.get(k.link)?.delete(device);
    let onThis = this.onLink.get(link); // added every time: a closed link's set is gone, yet a serial port reopens as the same link
    if (!onThis) this.onLink.set(link, (onThis = new Set()));
    onThis.add(device);
    k.link = link;
    k.lastSeen = now;
    if (!wasOnline) this.onAvailability?.(device, true);
  }

  hello(frame: HelloFrame): void {
    const k = this.known.get(frame.device) ?? {};
    k.hello = frame;
    this.known.set(frame.device, k);
    this.store.set(frame.device, frame);
  }

  /** The rest of the channel table after a HELLO (0x07): added to the hello by id and persisted. A
   *  CHANNELS frame without a known hello has nothing to add to (the table starts at a HELLO). */
  channelsFrame(frame: ChannelsFrame): void {
    const k = this.known.get(frame.device);
    if (!k?.hello) return;
    k.hello = helloWithChannels(k.hello, frame);
    this.store.set(frame.device, k.hello);
  }

  /** A link closed: its devices are offline until they are heard again. */
  linkClosed(link: DeviceLink): void {
    const devices = this.onLink.get(link);
    this.onLink.delete(link);
    for (const device of devices ?? []) if (this.known.get(device)?.link === link) this.onAvailability?.(device, false);
  }

  ack(frame: AckFrame): void {
    this.waiting.get(`${frame.device}:${frame.ackedSeq}`)?.resolve(frame);
  }

  list(): Array<{ device: string; online: boolean; link: string | null; lastSeen: number | null; firmware: string | null; bootId: string | null }> {
    return [...this.known].map(([device, k]) => ({
      device: deviceName(device), online: k.link?.open === true, link: k.link?.id ?? null,
      lastSeen: k.lastSeen ?? null, firmware: k.hello?.firmware ?? null, bootId: k.hello?.bootId ?? null,
    }));
  }

  /** Send a command and wait for the device's ACK. Throws ControlError (unknown, offline, timeout). */
  async control(device: number, command: ControlCommand, timeoutMs = 5000): Promise<ControlResult> {
    const k = this.known.get(device);
    const name = deviceName(device);
    if (!k) throw new ControlError("unknown", `device ${name} is unknown to this bridge (never heard from)`);
    if (!k.link?.open) throw new ControlError("offline", `device ${name} is offline (its link ${k.link?.id ?? "(none)"} is closed)`);
    const commandId = this.nextCommandId;
    this.nextCommandId = (this.nextCommandId + 1) >>> 0 || 1;
    let frame = encodeFrame({ type: "control", device, seq: commandId, t: 0, ...command });
    const key = this.keys?.get(device);
    if (key) frame = signFrame(frame, key);
    const started = Date.now();
    const waitKey = `${device}:${commandId}`;
    const ack = new Promise<AckFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(waitKey);
        reject(new ControlError("timeout", `device ${name} did not acknowledge ${command.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(waitKey, { resolve: (a) => { clearTimeout(timer); this.waiting.delete(waitKey); resolve(a); } });
    });
    try {
      k.link.sendControl(device, frame, command, commandId);
    } catch (e) {
      this.waiting.get(waitKey)?.resolve({ type: "ack", device, seq: 0, t: 0, ackedSeq: commandId, op: 0, result: -1 });
      throw new ControlError("offline", `device ${name}: sending on ${k.link.id} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const a = await ack;
    return { device: name, commandId, op: command.op, result: a.result, ms: Date.now() - started };
  }

  /** Pass a CONTROL frame from a bridge above down to `device` as it is (its ACK goes up as data). */
  forward(device: number, frame: Uint8Array, control: ControlFrame): void {
    const k = this.known.get(device);
    if (!k?.link?.open) throw new ControlError(k ? "offline" : "unknown", `device ${deviceName(device)} is ${k ? "offline" : "unknown here"}`);
    const { type: _t, device: _d, seq, t: _time, ...command } = control;
    k.link.sendControl(device, frame, command as ControlCommand, seq);
  }
}
