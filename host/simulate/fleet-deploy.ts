// `iotfw simulate --deploy-port P`: the simulated fleet takes `iotfw deploy 127.0.0.1:P` as a board
// takes it on its deploy port (simulator/device/deploy-server.ts speaks the protocol and checks the
// image). An accepted module is queued and installed into every device between two slices, at the
// fleet's device time: each restarts with it (RESET_REMOTE), keeping its id and wiring; the deploy's
// answer (OK, or REJECTED when the module cannot run) is sent once they all run it.
// May touch: the fleet (deploy requests to its shards).
import type { Fleet } from "../../simulator/fleet/fleet.js";
import { checkDeployModule, type ModuleInstaller } from "../../simulator/device/deploy-server.js";

interface Pending { module: Uint8Array; sha256: Uint8Array; done(error?: Error): void }

export class FleetDeployInstaller implements ModuleInstaller {
  private readonly pending: Pending[] = [];
  /** Modules installed so far (each into every device). */
  installed = 0;

  async accept(module: Uint8Array, sha256: Uint8Array): Promise<void> {
    await checkDeployModule(module); // refused before any device is touched: the old app runs on
    return new Promise<void>((resolve, reject) => this.pending.push({ module, sha256, done: (e) => (e ? reject(e) : resolve()) }));
  }

  /** Install what arrived since the last call into every device of `fleet` at device time nowMs. */
  async apply(fleet: Fleet, nowMs: number): Promise<void> {
    for (const p of this.pending.splice(0)) {
      try {
        await fleet.deploy(fleet.deviceIds, p.module, p.sha256, nowMs);
        this.installed++;
        p.done();
      } catch (e) {
        p.done(e as Error);
      }
    }
  }

  /** The run ended with deploys still queued: they are answered as refused, not left hanging. */
  cancel(): void {
    for (const p of this.pending.splice(0)) p.done(new Error("the simulation ended before the module was installed"));
  }
}
