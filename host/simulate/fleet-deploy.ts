// `iotfw simulate --deploy-port P`: the simulated fleet takes `iotfw deploy 127.0.0.1:P` as a board
// takes it on its deploy port (simulator/device/deploy-server.ts speaks the protocol and checks the
// image). An accepted module is queued and installed into every device between two slices, at the
// fleet's device time: each restarts with it (RESET_REMOTE), keeping its id and wiring; the deploy's
// answer (OK, or REJECTED when the module cannot run) is sent once they all run it. `iotfw ctl --device
// 127.0.0.1:P` hands a CONTROL frame to the same port: it reaches its device between two slices, as a
// frame from a bridge does, and the device's ACK goes back as the answer.
// May touch: the fleet (deploy and control requests to its shards).
import type { Fleet } from "../../simulator/fleet/fleet.js";
import { checkDeployModule, type ModuleInstaller } from "../../simulator/device/deploy-server.js";
import { frameAt, type FrameBatch } from "../../simulator/fleet/frame-batch.js";
import { ControlStatus, type ControlAnswer } from "../deploy/protocol.js";
import { decodeFrame } from "../protocol/index.js";

interface Pending { module: Uint8Array; sha256: Uint8Array; done(error?: Error): void }
interface PendingControl { frame: Uint8Array; done(answer: ControlAnswer): void }

export class FleetDeployInstaller implements ModuleInstaller {
  private readonly pending: Pending[] = [];
  private readonly controls: PendingControl[] = [];
  /** Modules installed so far (each into every device). */
  installed = 0;

  async accept(module: Uint8Array, sha256: Uint8Array): Promise<void> {
    await checkDeployModule(module); // refused before any device is touched: the old app runs on
    return new Promise<void>((resolve, reject) => this.pending.push({ module, sha256, done: (e) => (e ? reject(e) : resolve()) }));
  }

  /** A CONTROL frame from the deploy port; resolves with the device's answer once apply() delivered it. */
  control(frame: Uint8Array): Promise<ControlAnswer> {
    return new Promise((resolve) => this.controls.push({ frame, done: resolve }));
  }

  /** Install what arrived since the last call into every device of `fleet` at device time nowMs, and
   *  deliver the controls; resolves to the frames the devices answered the controls with (the caller
   *  passes them on as any other frames). */
  async apply(fleet: Fleet, nowMs: number): Promise<FrameBatch[]> {
    const replies: FrameBatch[] = [];
    for (const c of this.controls.splice(0)) {
      const decoded = decodeFrame(c.frame);
      if (!decoded.ok || decoded.frame.type !== "control") { c.done({ status: ControlStatus.BAD_REQUEST }); continue; }
      const { device, seq } = decoded.frame;
      if (!fleet.deviceIds.includes(device)) { c.done({ status: ControlStatus.UNKNOWN_DEVICE }); continue; }
      try {
        const { batch } = await fleet.control(device, c.frame, nowMs);
        replies.push(batch);
        let ack: Uint8Array | undefined;
        for (let i = 0; i < batch.count && !ack; i++) {
          if (batch.device[i] !== device) continue;
          const bytes = frameAt(batch, i);
          const f = decodeFrame(bytes);
          if (f.ok && f.frame.type === "ack" && f.frame.ackedSeq === seq) ack = bytes;
        }
        c.done({ status: ControlStatus.OK, ack });
      } catch {
        c.done({ status: ControlStatus.BAD_REQUEST });
      }
    }
    for (const p of this.pending.splice(0)) {
      try {
        await fleet.deploy(fleet.deviceIds, p.module, p.sha256, nowMs);
        this.installed++;
        p.done();
      } catch (e) {
        p.done(e as Error);
      }
    }
    return replies;
  }

  /** The run ended with deploys still queued: they are answered as refused, not left hanging. */
  cancel(): void {
    for (const p of this.pending.splice(0)) p.done(new Error("the simulation ended before the module was installed"));
    for (const c of this.controls.splice(0)) c.done({ status: ControlStatus.UNKNOWN_DEVICE }); // the devices are gone
  }
}
