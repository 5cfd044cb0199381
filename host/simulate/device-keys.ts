// `iotfw simulate --keys <file>`: the device runtime's half of per-device keys (docs/protocol.md "HMAC
// trailer"), played by the simulator exactly where the C runtime does it (firmware/runtime/core/
// frame_auth.c, runtime.c): every frame a keyed device's module hands to frame_out leaves on a link
// signed, and every downlink frame is checked and stripped before the module's control() sees it; one
// with a bad or missing HMAC is dropped and counted. The Wasm module never holds a key. Same keys file as
// `iotfw bridge --keys` (host/bridge/keys.ts). Pure: touches nothing but the keys file when loading.
import { loadKeys } from "../bridge/keys.js";
import { HMAC_SIZE, isSignedFrame, signFrame, unsignFrame, verifyFrameHmac } from "../protocol/index.js";

/** Why a downlink frame for a keyed device was dropped (the C runtime's IOTFW_AUTH_* refusals). */
export type DownlinkRefusal = "unsigned" | "bad_frame" | "bad_hmac";

export interface DeviceKeyStats {
  /** Devices of this fleet that have a key. */
  keyedDevices: number;
  /** Frames signed on their way to a link. */
  signed: number;
  /** Frames a keyed module sent that cannot be signed (over 504 bytes, or not a valid frame): kept off
   *  the links, as the C runtime's frame_out refuses them. */
  unsignable: number;
  /** Downlink frames dropped before the module, by reason. */
  downlinkDropped: Record<DownlinkRefusal, number>;
}

export class DeviceKeys {
  readonly stats: DeviceKeyStats;
  private readonly keys: ReadonlyMap<number, Uint8Array>;

  /** keys: device id -> key bytes (16 to 64, as parseKeys checks); fleet: the simulated device ids. */
  constructor(keys: Map<number, Uint8Array>, fleet: readonly number[]) {
    this.keys = new Map(keys);
    this.stats = { keyedDevices: fleet.filter((d) => this.keys.has(d)).length, signed: 0, unsignable: 0, downlinkDropped: { unsigned: 0, bad_frame: 0, bad_hmac: 0 } };
  }

  /** Read a keys file (`{"00c0ffee": "<hex key>"}`); throws KeysError naming the bad entry. */
  static load(path: string, fleet: readonly number[]): DeviceKeys {
    return new DeviceKeys(loadKeys(path), fleet);
  }

  has(device: number): boolean { return this.keys.has(device); }

  /** Bytes a frame of this device adds on a link (the trailer when it is keyed). */
  overhead(device: number): number { return this.keys.has(device) ? HMAC_SIZE : 0; }

  /** The frame as it leaves the device on a link: signed when the device has a key; null when it cannot
   *  be signed (dropped and counted). */
  outgoing(device: number, frame: Uint8Array): Uint8Array | null {
    const key = this.keys.get(device);
    if (!key) return frame;
    try {
      const signed = signFrame(frame, key);
      this.stats.signed++;
      return signed;
    } catch {
      this.stats.unsignable++;
      return null;
    }
  }

  /** A downlink frame as the device's module gets it: for a keyed device only a frame signed with its
   *  key, without the trailer; anything else is dropped (null) and counted. Others get it unchanged. */
  incoming(device: number, frame: Uint8Array): Uint8Array | null {
    const key = this.keys.get(device);
    if (!key) return frame;
    const refusal = (why: DownlinkRefusal): null => { this.stats.downlinkDropped[why]++; return null; };
    if (!isSignedFrame(frame)) return refusal("unsigned");
    const plain = unsignFrame(frame);
    if (!plain.ok) return refusal("bad_frame");
    if (!verifyFrameHmac(frame, key)) return refusal("bad_hmac");
    return plain.plain;
  }

  /** All downlink frames dropped so far. */
  get dropped(): number {
    const d = this.stats.downlinkDropped;
    return d.unsigned + d.bad_frame + d.bad_hmac;
  }
}
