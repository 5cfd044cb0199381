// The simulated device's end of `iotfw deploy` (docs/runtime.md "Deploy protocol"): a TCP deploy port
// that receives a Wasm partition image, checks it in the same order and with the same answers as the C
// receiver (firmware/runtime/core/deploy.c), and installs it into a ModuleInstaller, such as a
// SimulatedRuntime (here): one VirtualDevice
// run in real time whose module is replaced, keeping its id, wiring and clock, and restarted with
// reset_info reason RESET_REMOTE. The old module keeps running when anything is refused.
// May touch: one listening socket on the given host (default loopback) and its connections.
import { createHash } from "node:crypto";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { CONTROL_FRAME_MAX, CONTROL_HEADER, ControlStatus, DeployStatus, encodeControlAnswer, encodeDeployAnswer, type ControlAnswer, type DeployAnswer } from "../../host/deploy/protocol.js";
import { HAL_IMPORT_NAMES, HAL_MODULE, HAL_VERSION, HalConst } from "../hal/abi.generated.js";
import type { DeviceWiring } from "../hal/buses.js";
import { FUEL_EXPORT, instrumentFuel } from "./fuel.js";
import { randomBootSalt } from "./boot-id.js";
import { VirtualDevice } from "./virtual-device.js";
import { memoryRefusal } from "./module-limits.js";
import { DEFAULT_MAX_PAGES } from "../fleet/shard-host.js";

const HEADER = 64; // docs/wasm-partition.md "Layout"
const WASM_MAGIC = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
/** Image status details of BAD_IMAGE, as firmware/runtime/core/image.h (negated). */
const IMAGE = { BAD_MAGIC: 3, BAD_VERSION: 4, LENGTH: 7, NOT_WASM: 8, EMPTY: 2 } as const;

/** The module cannot run here (does not compile, imports outside the HAL, wrong abi_version). */
export class ModuleRejected extends Error {}

/** What a deploy port installs a received module into: one SimulatedRuntime, or a whole simulated fleet
 *  (host/simulate/fleet-deploy.ts). accept() rejects with ModuleRejected when the module cannot run;
 *  the deploy answer (OK or REJECTED) waits for it. */
export interface ModuleInstaller {
  accept(module: Uint8Array, sha256: Uint8Array): Promise<void>;
}

/** Check a module the way the runtime's engine would: it fits the board's memory, compiles, links
 *  against the HAL only, and its abi_version() is HAL_VERSION. Throws ModuleRejected. */
export async function checkDeployModule(binary: Uint8Array): Promise<void> {
  const refusal = memoryRefusal(binary, DEFAULT_MAX_PAGES);
  if (refusal) throw new ModuleRejected(refusal);
  let plain: WebAssembly.Module;
  try { plain = await WebAssembly.compile(new Uint8Array(binary)); } catch (e) { throw new ModuleRejected(`module does not compile: ${(e as Error).message}`); }
  const known = new Set<string>(HAL_IMPORT_NAMES);
  for (const imp of WebAssembly.Module.imports(plain)) {
    if (imp.module !== HAL_MODULE || imp.kind !== "function" || !known.has(imp.name)) throw new ModuleRejected(`module imports ${imp.module}.${imp.name}, which is not in HAL ABI v${HAL_VERSION}`);
  }
  const stub = Object.fromEntries(HAL_IMPORT_NAMES.map((n) => [n, () => 0]));
  let version: number;
  try {
    const probe = new WebAssembly.Instance(plain, { [HAL_MODULE]: stub });
    version = (probe.exports.abi_version as () => number)() >>> 0;
  } catch (e) { throw new ModuleRejected(`module does not start or has no abi_version(): ${(e as Error).message}`); }
  if (version !== HAL_VERSION) throw new ModuleRejected(`module's abi_version() is ${version}, this runtime implements ${HAL_VERSION}`);
}

export interface SimulatedRuntimeOptions {
  id: number;
  board: string;
  wiring: DeviceWiring;
  fuelPerCall?: number;
  onFrame(frame: Uint8Array): void;
  onLog?(level: number, text: string): void;
}

/** A VirtualDevice driven by the wall clock (device ms = ms since start), as a runtime on a board would
 *  run it, whose module a deploy can replace. */
export class SimulatedRuntime implements ModuleInstaller {
  device?: VirtualDevice;
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private running = false;
  private readonly bootSalt = randomBootSalt();

  constructor(readonly options: SimulatedRuntimeOptions) {}

  /** Device milliseconds since start. */
  nowMs(): number { return Math.floor(performance.now() - this.startedAt); }

  /** Check a module the way the runtime's engine would (checkDeployModule) and prepare the
   *  simulator's fuel-instrumented copy. */
  async prepare(binary: Uint8Array): Promise<WebAssembly.Module> {
    await checkDeployModule(binary);
    return WebAssembly.compile(new Uint8Array(await instrumentFuel(binary)));
  }

  /** ModuleInstaller: check, prepare and install; resolves once the new module runs. */
  async accept(module: Uint8Array, sha256: Uint8Array): Promise<void> {
    this.install(await this.prepare(module), sha256);
  }

  /** Run `binary` (already prepared): at power-on the first time, else as a remote restart. */
  install(module: WebAssembly.Module, sha256: Uint8Array): VirtualDevice {
    const old = this.device;
    const device = new VirtualDevice({
      id: this.options.id, board: this.options.board, appHash: sha256, module, wiring: this.options.wiring,
      fuelPerCall: this.options.fuelPerCall ?? 2_000_000,
      bootSalt: this.bootSalt, // one per power-on of this device; the instance number tells deploys apart
      onFrame: (frame) => this.options.onFrame(frame),
      onLog: this.options.onLog ? (level, text) => this.options.onLog!(level, text) : undefined,
    });
    if (old) {
      // reset_info of the new instance: one more restart, reason RESET_REMOTE (VirtualDevice derives it
      // from these two fields when it creates the instance).
      device.resets = old.resets + 1;
      device.lastResetReason = HalConst.RESET_REMOTE;
    }
    if (!WebAssembly.Module.exports(module).some((e) => e.name === FUEL_EXPORT)) {
      throw new ModuleRejected("module was not prepared with prepare() (no fuel counter)");
    }
    this.device = device;
    if (!this.running) { this.running = true; this.startedAt = performance.now(); }
    device.boot(this.nowMs());
    this.schedule();
    return device;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const device = this.device;
    if (!device || !this.running) return;
    this.timer = setTimeout(() => {
      if (device !== this.device) return; // replaced by a deploy meanwhile
      device.runTick();
      this.schedule();
    }, Math.max(0, device.nextTickMs - this.nowMs()));
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }
}

export interface DeployServerOptions {
  /** Where a received module goes: a SimulatedRuntime, or a fleet (host/simulate/fleet-deploy.ts). */
  runtime: ModuleInstaller;
  /** Largest image accepted, header included (the ESP32 port: half of the wasm partition). */
  capacity?: number;
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Every answer given, after it was sent. */
  onDeploy?(answer: DeployAnswer, detail: string): void;
  /** Takes control requests ("IOTC", host/deploy/protocol.ts) too: a CONTROL frame in, the device's
   *  answer (its ACK) out. Without it an IOTC request is a BAD_REQUEST, as on a runtime that lacks it. */
  control?(frame: Uint8Array): Promise<ControlAnswer>;
}

export interface DeployServer {
  port: number;
  address: string;
  close(): Promise<void>;
}

export async function startDeployServer(options: DeployServerOptions): Promise<DeployServer> {
  const capacity = options.capacity ?? 0x20000;
  let busy = false;
  const sockets = new Set<Socket>();

  const handle = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buf = Buffer.alloc(0);
    let imageLen = -1;
    let done = false; // no more bytes are looked at
    let answered = false;
    const mine = !busy;
    if (mine) busy = true;
    const answer = (status: number, detail = 0, why = "") => {
      done = true;
      if (answered) return;
      answered = true;
      if (mine) busy = false;
      const a = { status, detail };
      socket.end(encodeDeployAnswer(a)); // half-close; further bytes are read and dropped, never reset
      options.onDeploy?.(a, why);
    };
    if (!mine) { answer(DeployStatus.BUSY); return; }

    socket.on("data", (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      if (options.control && imageLen < 0 && buf.length >= 4 && buf.subarray(0, 4).toString("latin1") === "IOTC") {
        if (buf.length < CONTROL_HEADER) return;
        const length = buf.readUInt32BE(4);
        const valid = length > 0 && length <= CONTROL_FRAME_MAX;
        if (valid && buf.length < CONTROL_HEADER + length) return; // the rest of the frame is on its way
        const reply = (a: ControlAnswer) => { socket.end(encodeControlAnswer(a)); };
        // A control is not a deploy: it leaves the port free for one (and is not reported as one).
        done = answered = true;
        if (mine) busy = false;
        if (!valid) return reply({ status: ControlStatus.BAD_REQUEST });
        options.control(new Uint8Array(buf.subarray(CONTROL_HEADER, CONTROL_HEADER + length)))
          .then(reply, () => reply({ status: ControlStatus.BAD_REQUEST }));
        return;
      }
      if (imageLen < 0 && buf.length >= 8) {
        if (buf.subarray(0, 4).toString("latin1") !== "IOTD") return answer(DeployStatus.BAD_REQUEST, 0, "not IOTD");
        imageLen = buf.readUInt32BE(4);
        if (imageLen < HEADER + 8) return answer(DeployStatus.BAD_REQUEST, 0, "image length too small");
        if (imageLen > capacity) return answer(DeployStatus.TOO_LARGE, capacity, `${imageLen} bytes`);
      }
      if (imageLen < 0 || buf.length < 8 + HEADER) return;
      const image = buf.subarray(8);
      const magic = image.subarray(0, 4);
      if (magic.equals(Buffer.from([0xff, 0xff, 0xff, 0xff]))) return answer(DeployStatus.BAD_IMAGE, IMAGE.EMPTY);
      if (magic.toString("latin1") !== "IOTW") return answer(DeployStatus.BAD_IMAGE, IMAGE.BAD_MAGIC, "image magic");
      if (image.readUInt16LE(4) !== 1) return answer(DeployStatus.BAD_IMAGE, IMAGE.BAD_VERSION, "header version");
      const abi = image.readUInt16LE(6);
      if (abi !== HAL_VERSION) return answer(DeployStatus.BAD_ABI, HAL_VERSION, `image ABI v${abi}`);
      const moduleLen = image.readUInt32LE(8);
      if (HEADER + moduleLen > capacity) return answer(DeployStatus.TOO_LARGE, capacity);
      if (HEADER + moduleLen !== imageLen) return answer(DeployStatus.BAD_IMAGE, IMAGE.LENGTH, "length field");
      if (image.length >= HEADER + 8 && !image.subarray(HEADER, HEADER + 8).equals(WASM_MAGIC)) return answer(DeployStatus.BAD_IMAGE, IMAGE.NOT_WASM, "not wasm");
      if (image.length < imageLen) return;
      const module = new Uint8Array(image.subarray(HEADER, imageLen));
      const sha = createHash("sha256").update(module).digest();
      if (!sha.equals(image.subarray(12, 44))) return answer(DeployStatus.BAD_HASH, 0, "sha-256");
      done = true; // from here on the answer waits for the engine
      options.runtime.accept(module, new Uint8Array(sha)).then(
        () => answer(DeployStatus.OK, 0, `installed ${sha.toString("hex").slice(0, 16)}`),
        (err: Error) => answer(DeployStatus.REJECTED, 0, err.message),
      );
    });
    socket.on("end", () => {
      if (done) return;
      done = answered = true;
      if (mine) busy = false;
      options.onDeploy?.({ status: DeployStatus.TRUNCATED, detail: 0 }, "closed before the whole image arrived");
      socket.end();
    });
  };

  // allowHalfOpen: the client half-closes after its request; the answer goes out after that.
  const server: Server = createServer({ allowHalfOpen: true }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `${options.host ?? "127.0.0.1"}:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
