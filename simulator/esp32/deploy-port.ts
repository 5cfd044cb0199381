// `iotfw emulate --deploy-port P`: the virtual ESP32's runtime takes `iotfw deploy` and `iotfw ctl
// --device` on a TCP port, as the C runtime's deploy receiver does on a board's Wi-Fi
// (docs/runtime.md "Deploy protocol"; simulator/device/deploy-server.ts speaks the protocol and checks
// the image). Only while the app runs: in download mode (or when the app could not boot) there is no
// runtime to answer, and a deploy is refused saying so. An accepted image is written as the ESP32 port
// writes it: staged in the upper half of the `wasm` partition, then copied to the partition's start
// (where `iotfw flash` puts it and the next boot reads it), and the module restarts with reset_info
// reason RESET_REMOTE, keeping the device id and wiring.
// May touch: the emulator's flash (the wasm partition) and app runner; one listening socket.
import { encodeWasmImage } from "../../host/build/wasm-image.js";
import { ControlStatus, type ControlAnswer } from "../../host/deploy/protocol.js";
import { decodeFrame } from "../../host/protocol/index.js";
import { HAL_VERSION } from "../hal/abi.generated.js";
import { checkDeployModule, ModuleRejected, startDeployServer, type DeployServer, type ModuleInstaller } from "../device/deploy-server.js";
import { findApp } from "./app-runner.js";
import type { Esp32Emulator } from "./emulator.js";

/** The flash erase unit (a 4 KiB sector, the smallest erase of the W25Q32JV that flash-timing.ts models). */
const SECTOR = 4096;

export class EmulatorDeployInstaller implements ModuleInstaller {
  constructor(private readonly emu: Esp32Emulator) {}

  /** Largest image the board takes (header included): half of its wasm partition. */
  capacity(): number {
    try { return Math.floor(findApp(this.emu.options.board, this.emu.flash).partitionSize / 2); } catch { return 0x20000; }
  }

  async accept(module: Uint8Array, sha256: Uint8Array): Promise<void> {
    const app = this.emu.app;
    if (!app) throw new ModuleRejected(`the board is not running the app (${this.emu.state === "app" ? "it could not boot" : "it is in download mode"}): flash it, or reset it into the app`);
    await checkDeployModule(module); // refused before the flash is touched: the old app runs on
    const { partitionOffset, partitionSize } = findApp(this.emu.options.board, this.emu.flash);
    const image = encodeWasmImage(module, HAL_VERSION);
    const half = partitionSize / 2;
    if (image.length > half) throw new ModuleRejected(`the image (${image.length} bytes) is larger than the staging half of the wasm partition (${half} bytes)`);
    const span = Math.ceil(image.length / SECTOR) * SECTOR;
    const flash = this.emu.flash;
    flash.erase(partitionOffset + half, span);
    flash.write(partitionOffset + half, image);
    flash.erase(partitionOffset, span);
    flash.write(partitionOffset, image);
    await app.install(module, sha256);
  }

  /** An "IOTC" request: the CONTROL frame to the running module, its ACK back. */
  async control(frame: Uint8Array): Promise<ControlAnswer> {
    const decoded = decodeFrame(frame);
    if (!decoded.ok || decoded.frame.type !== "control") return { status: ControlStatus.BAD_REQUEST };
    const { device, seq } = decoded.frame;
    const app = this.emu.app;
    if (!app || device !== app.options.deviceId) return { status: ControlStatus.UNKNOWN_DEVICE };
    const ack = app.controlNow(frame).find((bytes) => {
      const f = decodeFrame(bytes);
      return f.ok && f.frame.type === "ack" && f.frame.ackedSeq === seq;
    });
    return { status: ControlStatus.OK, ack };
  }
}

/** The emulator's deploy port: it listens on host:port while the app runs and is closed otherwise (in
 *  download mode a board's runtime is not running: a deploy finds nobody, ECONNREFUSED). Port 0 takes a
 *  free port once; the same number is used at every boot after. */
export class EmulatorDeployPort {
  private server: DeployServer | null = null;
  private opening: Promise<void> | null = null;
  private closed = false;
  private readonly installer: EmulatorDeployInstaller;

  private constructor(private readonly emu: Esp32Emulator, readonly host: string, public port: number,
    private readonly log: (line: string) => void) {
    this.installer = new EmulatorDeployInstaller(emu);
    emu.on("boot", (ok: boolean) => { if (ok) void this.open(); });
    emu.on("state", (state: string) => { if (state !== "app") void this.shut(); });
  }

  /** Take the port now (a free one for 0), so it can be printed; listening starts when the app runs. */
  static async start(emu: Esp32Emulator, host: string, port: number, log: (line: string) => void): Promise<EmulatorDeployPort> {
    const probe = await startDeployServer({ runtime: { accept: async () => undefined }, host, port });
    await probe.close();
    const p = new EmulatorDeployPort(emu, host, probe.port, log);
    if (emu.app) await p.open();
    return p;
  }

  get address(): string { return `${this.host}:${this.port}`; }

  private open(): Promise<void> {
    if (this.server || this.closed) return Promise.resolve();
    this.opening ??= startDeployServer({
      runtime: this.installer, host: this.host, port: this.port, capacity: this.installer.capacity(),
      control: (frame) => this.installer.control(frame),
      onDeploy: (answer, why) => this.log(`deploy: ${answer.status === 0 ? "installed the module" : `refused (status ${answer.status}${why ? `: ${why}` : ""})`}`),
    }).then((server) => {
      this.server = server;
      if (this.closed || !this.emu.app) void this.shut();
    }, (e: Error) => this.log(`deploy port ${this.address}: ${e.message}`)).finally(() => { this.opening = null; });
    return this.opening;
  }

  private async shut(): Promise<void> {
    await this.opening;
    const s = this.server;
    this.server = null;
    await s?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.shut();
  }
}
