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
