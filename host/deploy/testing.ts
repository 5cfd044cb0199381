// Test support for the deploy protocol (host/deploy/deploy.test.ts, firmware/runtime/tests/linux-deploy.test.ts):
// send raw request bytes to a device's deploy port, bypassing the client's own checks, and read the answer.
// May touch: one TCP connection.
import { connect } from "node:net";
import { DEPLOY_ANSWER_SIZE, parseDeployAnswer, type DeployAnswer } from "./protocol.js";

/** The device's answer to these bytes, or null when it closed without a whole one. With `trickle`, the
 *  bytes go out in that many parts, gapMs apart (a slow link). */
export function sendRawDeploy(port: number, bytes: Uint8Array, trickle?: { parts: number; gapMs: number }): Promise<DeployAnswer | null> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, async () => {
      if (!trickle) return s.end(bytes);
      for (let i = 0; i < trickle.parts; i++) {
        s.write(bytes.subarray(Math.floor((i * bytes.length) / trickle.parts), Math.floor(((i + 1) * bytes.length) / trickle.parts)));
        await new Promise((r) => setTimeout(r, trickle.gapMs));
      }
      s.end();
    });
    let got = Buffer.alloc(0);
    s.on("data", (c: Buffer) => { got = Buffer.concat([got, c]); });
    s.on("error", reject);
    s.on("close", () => resolve(got.length >= DEPLOY_ANSWER_SIZE ? parseDeployAnswer(got) : null));
  });
}
