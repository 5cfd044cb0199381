// The deploy protocol (docs/runtime.md "Deploy protocol"), host side: the request that carries a Wasm
// partition image to a device's deploy port and the device's 12-byte answer. The C receiver is
// firmware/runtime/core/deploy.c; the simulated device's is simulator/device/deploy-server.ts. Pure.

/** "IOTD": first 4 bytes of a request and of an answer. */
export const DEPLOY_MAGIC = Uint8Array.of(0x49, 0x4f, 0x54, 0x44);
export const DEPLOY_REQUEST_HEADER = 8;
export const DEPLOY_ANSWER_SIZE = 12;
/** The deploy port a device listens on unless configured otherwise (the bridge uses 7600). */
export const DEFAULT_DEPLOY_PORT = 7602; // 7600 is the bridge's device listener, 7601 its HTTP API

/** Answer statuses, as firmware/runtime/core/deploy.h iotfw_deploy_status_t. */
export const DeployStatus = {
  OK: 0,
  BAD_REQUEST: -1,
  TOO_LARGE: -2,
  BAD_IMAGE: -3,
  BAD_ABI: -4,
  BAD_HASH: -5,
  WRITE_FAILED: -6,
  REJECTED: -7,
  BUSY: -8,
  TRUNCATED: -9,
} as const;

/** Image statuses carried as the detail of BAD_IMAGE (firmware/runtime/core/image.h, negated). */
const IMAGE_DETAIL: Record<number, string> = {
  1: "shorter than its 64-byte header",
  2: "an erased partition",
  3: "its magic is not IOTW",
  4: "its header version is not 1",
  7: "its length field does not match the bytes sent",
  8: "the module is not a WebAssembly binary",
};

export interface DeployAnswer {
  status: number;
  detail: number;
}

/** "IOTD" + u32 big-endian image length + the image. */
export function deployRequest(image: Uint8Array): Uint8Array {
  const out = new Uint8Array(DEPLOY_REQUEST_HEADER + image.length);
  out.set(DEPLOY_MAGIC, 0);
  new DataView(out.buffer).setUint32(4, image.length, false);
  out.set(image, DEPLOY_REQUEST_HEADER);
  return out;
}

export function encodeDeployAnswer(answer: DeployAnswer): Uint8Array {
  const out = new Uint8Array(DEPLOY_ANSWER_SIZE);
  out.set(DEPLOY_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setInt32(4, answer.status, false);
  view.setUint32(8, answer.detail >>> 0, false);
  return out;
}

/** null when the bytes are not a deploy answer. */
export function parseDeployAnswer(bytes: Uint8Array): DeployAnswer | null {
  if (bytes.length < DEPLOY_ANSWER_SIZE) return null;
  for (let i = 0; i < 4; i++) if (bytes[i] !== DEPLOY_MAGIC[i]) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, DEPLOY_ANSWER_SIZE);
  return { status: view.getInt32(4, false), detail: view.getUint32(8, false) };
}

/** What a refusal means, for the user. */
export function describeDeployAnswer(a: DeployAnswer, image?: { halAbi: number; bytes: number }): string {
  switch (a.status) {
    case DeployStatus.OK: return "installed; the device restarted the module";
    case DeployStatus.BAD_REQUEST: return "the device did not understand the deploy request (is this its deploy port?)";
    case DeployStatus.TOO_LARGE: return `the image${image ? ` (${image.bytes} bytes)` : ""} is larger than the device accepts (${a.detail} bytes)`;
    case DeployStatus.BAD_IMAGE: return `not a valid Wasm partition image: ${IMAGE_DETAIL[a.detail] ?? `image status -${a.detail}`}`;
    case DeployStatus.BAD_ABI: return `the module was built for HAL ABI v${image?.halAbi ?? "?"}, but the device implements v${a.detail}: rebuild against the device's ABI or update its runtime (iotfw flash --full)`;
    case DeployStatus.BAD_HASH: return "the module's SHA-256 does not match the image header (corrupted in transit or a broken build)";
    case DeployStatus.WRITE_FAILED: return "the device could not store the image (flash write or file error)";
    case DeployStatus.REJECTED: return "the device's interpreter refused the module (it does not parse, link or report the right abi_version)";
    case DeployStatus.BUSY: return "another deploy to this device is in progress";
    case DeployStatus.TRUNCATED: return "the image did not arrive whole";
    default: return `unknown deploy status ${a.status}`;
  }
}

// Control on the deploy port (docs/runtime.md "Deploy protocol"): `iotfw ctl --device host:port` hands a
// device one CONTROL frame (host/protocol, as a bridge would send it on the device's link) and gets the
// device's ACK back, so a device can be driven without a bridge. Request: "IOTC" + u32 big-endian frame
// length + the frame. Answer: "IOTC" + i32 big-endian status + u32 big-endian ACK length + the ACK frame.

/** "IOTC": first 4 bytes of a control request and of its answer. */
export const CONTROL_MAGIC = Uint8Array.of(0x49, 0x4f, 0x54, 0x43);
export const CONTROL_HEADER = 8;
export const CONTROL_ANSWER_HEADER = 12;
/** A control frame is tens of bytes (signed: + 32); anything longer is not one. */
export const CONTROL_FRAME_MAX = 512;

export const ControlStatus = {
  /** Delivered; the ACK follows (length 0: the module answered nothing). */
  OK: 0,
  BAD_REQUEST: -1,
  /** The frame names a device this port does not serve. */
  UNKNOWN_DEVICE: -10,
} as const;

export interface ControlAnswer { status: number; ack?: Uint8Array }

export function controlRequest(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(CONTROL_HEADER + frame.length);
  out.set(CONTROL_MAGIC, 0);
  new DataView(out.buffer).setUint32(4, frame.length, false);
  out.set(frame, CONTROL_HEADER);
  return out;
}

export function encodeControlAnswer(answer: ControlAnswer): Uint8Array {
  const ack = answer.ack ?? new Uint8Array(0);
  const out = new Uint8Array(CONTROL_ANSWER_HEADER + ack.length);
  out.set(CONTROL_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setInt32(4, answer.status, false);
  view.setUint32(8, ack.length, false);
  out.set(ack, CONTROL_ANSWER_HEADER);
  return out;
}

/** null while incomplete; "invalid" when the bytes are not a control answer. */
export function parseControlAnswer(bytes: Uint8Array): ControlAnswer | null | "invalid" {
  for (let i = 0; i < Math.min(4, bytes.length); i++) if (bytes[i] !== CONTROL_MAGIC[i]) return "invalid";
  if (bytes.length < CONTROL_ANSWER_HEADER) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const length = view.getUint32(8, false);
  if (length > CONTROL_FRAME_MAX) return "invalid";
  if (bytes.length < CONTROL_ANSWER_HEADER + length) return null;
  const status = view.getInt32(4, false);
  return length ? { status, ack: bytes.slice(CONTROL_ANSWER_HEADER, CONTROL_ANSWER_HEADER + length) } : { status };
}
