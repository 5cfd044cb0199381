// Sending a Wasm partition image straight to a device's deploy port (docs/runtime.md "Deploy protocol")
// and waiting for its answer, and a control frame to the same port. Used by `iotfw deploy` and `iotfw ctl --device`. May touch: one TCP connection.
import { connect } from "node:net";
import { parseWasmImage } from "../build/wasm-image.js";
import {
  controlRequest, DEPLOY_ANSWER_SIZE, DeployStatus, deployRequest, describeDeployAnswer, parseControlAnswer, parseDeployAnswer,
  type ControlAnswer, type DeployAnswer,
} from "./protocol.js";

export class DeployError extends Error {
  constructor(message: string, readonly answer?: DeployAnswer) {
    super(message);
    this.name = "DeployError";
  }
}

export interface DeployTarget { host: string; port: number }

/** "host:port", "[v6]:port" or "tcp://host:port"; the port is required (a device has no default we could guess safely). */
export function parseDeployAddress(address: string): DeployTarget {
  const m = /^(?:tcp:\/\/)?(?:\[([^\]]+)\]|([^:/\s]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new DeployError(`"${address}" is not a device address: give host:port of the device's deploy port, e.g. 192.168.1.40:7602`);
  }
  return { host: m[1] ?? m[2], port };
}

export interface DeployResult { answer: DeployAnswer; bytes: number; ms: number }

/** Send image (a Wasm partition image) and wait for the device's answer; rejects with DeployError on a
 *  refusal, a connection problem or a timeout. */
export async function deployImage(target: DeployTarget, image: Uint8Array, options: { timeoutMs?: number } = {}): Promise<DeployResult> {
  let parsed: ReturnType<typeof parseWasmImage>;
  try {
    parsed = parseWasmImage(image); // never send what the device would refuse for being malformed
  } catch (e) {
    throw new DeployError(`not a Wasm partition image: ${(e as Error).message}`);
  }
  const request = deployRequest(image);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const started = performance.now();
  const where = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, answer?: DeployAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) return reject(err);
      if (answer!.status !== DeployStatus.OK) {
        return reject(new DeployError(`device ${where} refused the image: ${describeDeployAnswer(answer!, { halAbi: parsed.halAbi, bytes: image.length })} (status ${answer!.status})`, answer));
      }
      resolve({ answer: answer!, bytes: image.length, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(new DeployError(`device ${where} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on("connect", () => socket.end(request)); // half-close: the device answers, then closes
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < DEPLOY_ANSWER_SIZE) return;
      const answer = parseDeployAnswer(received);
      finish(answer ? null : new DeployError(`device ${where} answered with something that is not a deploy answer (${received.subarray(0, 12).toString("hex")})`), answer ?? undefined);
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      const hint = err.code === "ECONNREFUSED" ? " (nothing listens there: is the runtime running and is this its deploy port?)" : "";
      finish(new DeployError(`cannot deploy to ${where}: ${err.message}${hint}`));
    });
    socket.on("close", () => finish(new DeployError(`device ${where} closed the connection without answering`)));
  });
}

/** Hand `frame` (a CONTROL frame) to the device's deploy port and wait for its answer (the ACK). Rejects
 *  with DeployError on a connection problem, a malformed answer or a timeout. */
export async function sendControl(target: DeployTarget, frame: Uint8Array, options: { timeoutMs?: number } = {}): Promise<ControlAnswer> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const where = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, answer?: ControlAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err); else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new DeployError(`device ${where} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on("connect", () => socket.end(controlRequest(frame)));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // A deploy port busy with a deploy answers every connection with a deploy answer, BUSY.
      const busy = received.length >= DEPLOY_ANSWER_SIZE ? parseDeployAnswer(received) : null;
      if (busy?.status === DeployStatus.BUSY) return finish(new DeployError(`device ${where} is busy with a deploy; try again when it is done`));
      const answer = parseControlAnswer(received);
      if (answer === null) return;
      finish(answer === "invalid" ? new DeployError(`device ${where} answered with something that is not a control answer (${received.subarray(0, 12).toString("hex")}): is this a deploy port of a runtime that takes control?`) : null, answer === "invalid" ? undefined : answer);
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      const hint = err.code === "ECONNREFUSED" ? " (nothing listens there: is this the device's deploy port, e.g. iotfw simulate --deploy-port?)" : "";
      finish(new DeployError(`cannot reach ${where}: ${err.message}${hint}`));
    });
    socket.on("close", () => finish(new DeployError(`device ${where} closed the connection without answering (a runtime that takes only deploys on this port?)`)));
  });
}
