// One `iotfw simulate` run as a library: build the app for the board, start the fleet with the app's
// hardware wired to models, run it through virtual time, and hand every slice to the sinks (NDJSON out,
// dashboard, live view). The CLI command only parses options and prints; tests drive this directly.
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { buildApp } from "../build/build.js";
import { loadBoard } from "../build/boards.js";
import { boardFor, loadApp, resolveAppDir } from "../build/app.js";
import { Fleet } from "../../simulator/fleet/fleet.js";
import type { Engine } from "../../simulator/fleet/shard-host.js";
import { runFleet, type Speed } from "../../simulator/fleet/run.js";
import { FleetTelemetry } from "../../simulator/fleet/telemetry.js";
import type { FleetWiringSpec, HardwarePart } from "../../simulator/fleet/wiring.js";
import type { ScenarioSpec } from "../../simulator/sensors/scenario.js";
import type { SliceResult } from "../../simulator/fleet/fleet.js";
import { DashboardFeed } from "../../simulator/dashboard/adapter.js";
import { startDashboard } from "../../simulator/dashboard/server.js";
import { frameAt } from "../../simulator/fleet/frame-batch.js";
import { SerialExposure } from "./serial-exposure.js";
import { BridgeLinks } from "./bridge-links.js";
import { DeviceKeys, type DeviceKeyStats } from "./device-keys.js";
import { loadKeys } from "../bridge/keys.js";
import { Bridge } from "../bridge/bridge.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDeployServer, type DeployServer } from "../../simulator/device/deploy-server.js";
import { FleetDeployInstaller } from "./fleet-deploy.js";
import { AppWatch, type Rebuild, type WatchTarget } from "./app-watch.js";
import { describeFrame } from "../protocol/describe.js";
import { shardDevices, type ShardSpec } from "./shard.js";

export interface SimulateOptions {
  /** The fleet's size (with shard: the whole fleet's, of which this run is one slice). */
  devices: number;
  /** Run only slice K of N of the fleet (host/simulate/shard.ts): its devices keep their ids, their
   *  frames are those of the one-machine run. Needs bootIdSeed, the same on every machine. */
  shard?: ShardSpec;
  /** Default: the app's app.json "board", else esp32. */
  board?: string;
  appDir?: string;
  durationMs: number;
  speed: Speed;
  seed: number;
  /** Salt of the devices' boot ids (HAL boot_id, sent in HELLO): default new each run, as a real fleet's
   *  boots are; give one to make a run byte for byte reproducible. */
  bootIdSeed?: number;
  scenario?: ScenarioSpec;
  /** NDJSON destination: a path, "-" for stdout, or undefined for none. */
  out?: string;
  workers?: number;
  inProcess?: boolean;
  /** Serve the dashboard on this port (0 = any free); undefined = no dashboard. */
  dashboardPort?: number;
  /** Listen for `iotfw deploy` on this port (0 = any free): an accepted module goes to every device
   *  (host/simulate/fleet-deploy.ts). */
  deployPort?: number;
  /** Send every device's frames to a bridge over TCP, as devices on Wi-Fi (tcp://host:port). */
  bridgeUrl?: string;
  /** Publish to an MQTT broker (mqtt:// or mqtts://) exactly as `iotfw bridge --upstream` does: an
   *  in-process bridge (its spool in a temporary folder) takes the devices' TCP connections. */
  mqttUrl?: string;
  /** With mqttUrl: publish Home Assistant discovery configs under this prefix, as `iotfw bridge
   *  --ha-discovery` does (the same module, host/bridge/ha-discovery.ts). */
  haDiscovery?: string;
  /** Expose device 1 on a pseudo-terminal linked at this path (as a board on USB). */
  serialPath?: string;
  /** Per-device keys (the bridge's --keys file): keyed devices sign their frames on every link and take
   *  only downlink frames signed with their key (host/simulate/device-keys.ts). */
  keysFile?: string;
  /** What runs the modules: "v8" (default) or "wasm3", the device's C runtime (docs/runtime.md "The sim port"). */
  engine?: Engine;
  /** Where build outputs go (default build/<board>). */
  buildDir?: string;
  cwd?: string;
  signal?: AbortSignal;
  /** Called after every slice (the live view). */
  onProgress?(p: SimulateProgress): void;
  /** Called once the dashboard listens. */
  onDashboard?(url: string): void;
  /** Called once the deploy port listens, with its host:port. */
  onDeployPort?(address: string): void;
  /** `iotfw dev`: rebuild the app on every save and hot-deploy it into every device, or the
   *  rebuildDevices, and to the rebuildTargets (app-watch.ts). */
  onRebuild?(r: Rebuild): void;
  /** With onRebuild: the devices (ids) a rebuilt module goes to; the others keep the module they run.
   *  Default: every device. (A module from the deploy port still goes to every device.) */
  rebuildDevices?: number[];
  /** With onRebuild: more places each rebuilt module goes, beside the fleet (`iotfw dev --device`). */
  rebuildTargets?: WatchTarget[];
  /** How --out writes frames: NDJSON (default) or one readable line per frame (host/protocol/describe.ts). */
  outFormat?: "ndjson" | "text";
}

export interface SimulateProgress {
  deviceMs: number;
  wallMs: number;
  devices: number;
  telemetry: FleetTelemetry;
  watchdogResets: number;
  /** With keysFile: what the devices' runtimes signed and dropped. */
  keys?: DeviceKeyStats;
  /** With shard: which slice, its first device id and the whole fleet's size (devices counts the slice). */
  shard?: ShardSpec & { firstDeviceId: number; fleetDevices: number };
}

export interface SimulateResult extends SimulateProgress {
  /** The run was stopped (options.signal) before its duration. */
  interrupted: boolean;
  /** --out - was closed by its reader (EPIPE): the run ended there, quietly. */
  outputClosed: boolean;
  app: string;
  engine: Engine;
  sha256: string;
  shards: number;
}

export class SimulateError extends Error {}

export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  const cwd = options.cwd ?? process.cwd();
  const where = resolveAppDir(options.appDir, cwd);
  const board = loadBoard(boardFor(loadApp(where.dir, { cwd, label: where.label }), options.board), { cwd });
  const keyFile = options.keysFile ? loadKeys(options.keysFile) : undefined; // a bad file fails before the build
  // A per-run boot-id salt drawn on each machine would give each slice other boot ids than the
  // one-machine run: a sharded run is told its salt.
  if (options.shard && options.bootIdSeed === undefined) throw new SimulateError("--shard needs --boot-id-seed <n>, the same on every machine (boot ids are drawn per run otherwise)");
  const slice = options.shard ? shardDevices(options.devices, options.shard) : { firstDeviceId: 1, devices: options.devices };
  const shardInfo = options.shard ? { ...options.shard, firstDeviceId: slice.firstDeviceId, fleetDevices: options.devices } : undefined;
  const lastId = slice.firstDeviceId + slice.devices - 1;
  const unknown = (options.rebuildDevices ?? []).filter((d) => !(d >= slice.firstDeviceId && d <= lastId));
  if (unknown.length) throw new SimulateError(`no device ${unknown.join(", ")} in this fleet: its devices are ${slice.firstDeviceId}..${lastId}`);
  const built = await buildApp({ board, appDir: where.dir, outDir: options.buildDir, cwd, reuse: true });
  const wiring: FleetWiringSpec = {
    hardware: (built.manifest.app.hardware as HardwarePart[] | undefined) ?? [],
    seed: options.seed,
    adcBits: board.pins.adc.bits,
    chipSensors: board.sysSensors,
    scenario: options.scenario,
  };
  const hash = Buffer.from(built.manifest.sha256, "hex");
  const fleet = await Fleet.start({
    binary: built.binary, appHash: hash, board: board.name, devices: slice.devices, firstDeviceId: slice.firstDeviceId,
    workers: options.workers, inProcess: options.inProcess, wiring, engine: options.engine,
    maxPages: board.memory.maxPages, bootSalt: options.bootIdSeed,
  });

  const telemetry = new FleetTelemetry();
  let out: WriteStream | NodeJS.WriteStream | undefined;
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  let deployServer: DeployServer | undefined;
  const installer = options.deployPort !== undefined ? new FleetDeployInstaller() : undefined;
  // The rebuilt modules of `iotfw dev` have their own queue: they go to the chosen devices only, the
  // deploy port's to every device.
  const rebuildInstaller = options.onRebuild ? new FleetDeployInstaller() : undefined;
  const rebuildDevices = options.rebuildDevices ?? fleet.deviceIds;
  // FleetDeployInstaller installs into every device of the fleet it is given: a view of the fleet that
  // lists only the chosen devices (the same shards and methods) narrows it to them.
  const rebuildFleet: Fleet = options.rebuildDevices ? Object.create(fleet, { deviceIds: { value: rebuildDevices } }) : fleet;
  let appWatch: AppWatch | undefined;
  let serial: SerialExposure | undefined;
  let bridge: BridgeLinks | undefined;
  let mqttBridge: Bridge | undefined;
  let mqttSpool: string | undefined;
  let watchdogResets = 0;
  const keys = keyFile ? new DeviceKeys(keyFile, fleet.deviceIds) : undefined;
  const progress = (deviceMs: number, wallMs: number): SimulateProgress =>
    ({ deviceMs, wallMs, devices: slice.devices, telemetry, watchdogResets, keys: keys?.stats, shard: shardInfo });
  const started = performance.now();
  const exposed = fleet.deviceIds[0];
  // The run stops when the caller says so, or when whoever reads --out - goes away (`| head`): a closed
  // pipe is how a reader says "enough", not a failure.
  const stop = new AbortController();
  const stopNow = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener("abort", stopNow, { once: true });
  let outputClosed = false;
  const onOutError = (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    outputClosed = true;
    out = undefined;
    stop.abort();
  };
  let feed: DashboardFeed | undefined;

  const onSlice = async (slice: SliceResult, nowMs: number): Promise<void> => {
    watchdogResets += slice.resets.length;
    if (bridge || serial) {
      const mine: Uint8Array[] = [];
      for (let i = 0; i < slice.batch.count; i++) {
        const device = slice.batch.device[i];
        if (!bridge && device !== exposed) continue;
        // What the device's runtime puts on its links: signed when the device has a key.
        const frame = keys ? keys.outgoing(device, frameAt(slice.batch, i)) : frameAt(slice.batch, i);
        if (!frame) continue;
        bridge?.send(device, frame);
        if (serial && device === exposed) mine.push(frame);
      }
      serial?.send(mine);
    }
    let text = "";
    for (const d of telemetry.ingest(slice.batch)) { // decoded once, as the module sent it
      if (out) text += (options.outFormat === "text" ? describeFrame(d.frame, d.channels) : JSON.stringify(telemetry.toJson(d))) + "\n";
      feed?.addFrame(d.frame, d.tickMs);
    }
    if (keys) for (let i = 0; i < slice.batch.count; i++) telemetry.counters.linkBytes += keys.overhead(slice.batch.device[i]);
    feed?.endSlice(slice.resets.length, nowMs);
    if (out && text && !out.write(text)) await drained(out);
    options.onProgress?.(progress(nowMs, performance.now() - started));
  };

  try {
    if (options.out === "-") { out = process.stdout; out.on("error", onOutError); }
    else if (options.out) out = createWriteStream(options.out);
    if (rebuildInstaller && options.onRebuild) {
      const all = rebuildDevices.length === fleet.deviceIds.length;
      const local: WatchTarget = {
        name: all ? `${rebuildDevices.length} device(s)` : `device(s) ${rebuildDevices.join(", ")} of ${fleet.deviceIds.length}`,
        current: built.manifest.sha256,
        deploy: (b, sha) => rebuildInstaller.accept(b.binary, sha),
      };
      appWatch = new AppWatch(resolve(cwd, where.dir), { board, appDir: where.dir, outDir: options.buildDir, cwd }, [local, ...(options.rebuildTargets ?? [])], options.onRebuild);
    }
    if (installer && options.deployPort !== undefined) {
      deployServer = await startDeployServer({ runtime: installer, port: options.deployPort, control: (frame) => installer.control(frame) });
      options.onDeployPort?.(deployServer.address);
    }
    if (options.dashboardPort !== undefined) {
      dashboard = await startDashboard({ port: options.dashboardPort });
      feed = new DashboardFeed({ publish: dashboard.publish, devices: slice.devices });
      options.onDashboard?.(dashboard.url);
    }
    if (options.serialPath) serial = await SerialExposure.open(options.serialPath);
    if (options.bridgeUrl && options.mqttUrl) throw new SimulateError("--bridge and --mqtt: choose one (a bridge has its own upstreams)");
    if (options.bridgeUrl) bridge = await BridgeLinks.open(options.bridgeUrl, fleet.deviceIds);
    if (options.mqttUrl) {
      if (!/^mqtts?:\/\//.test(options.mqttUrl)) throw new SimulateError(`--mqtt ${options.mqttUrl}: expected mqtt://host[:port] or mqtts://...`);
      mqttSpool = mkdtempSync(join(tmpdir(), "iotfw-sim-spool-"));
      // With --keys the in-process bridge checks and signs with the same keys, as `iotfw bridge --keys` would.
      mqttBridge = await Bridge.start({ listen: "tcp://127.0.0.1:0", upstreams: [options.mqttUrl], spoolDir: mqttSpool, http: "off", keysFile: options.keysFile, haDiscovery: options.haDiscovery, log: () => undefined });
      bridge = await BridgeLinks.open(`tcp://127.0.0.1:${mqttBridge.tcpAddress!.port}`, fleet.deviceIds);
    }
    const run = await runFleet(fleet, {
      durationMs: options.durationMs,
      speed: options.speed,
      signal: stop.signal,
      onSlice,
      between: async (nowMs: number) => {
        // A module received on the deploy port, into every device; its controls, and the frames they answered.
        for (const batch of await installer?.apply(fleet, nowMs) ?? []) await onSlice({ batch, resets: [], ticks: 0 }, nowMs);
        await rebuildInstaller?.apply(rebuildFleet, nowMs); // `iotfw dev`'s rebuilt module, into the chosen devices
        // Control frames from the exposed device's pty or a device's bridge connection reach it between
        // slices, as on a real link.
        const downlink = [...(serial?.takeDownlink() ?? []).map((frame) => ({ device: exposed, frame })), ...(bridge?.takeDownlink() ?? [])];
        for (const { device, frame: received } of downlink) {
          const frame = keys ? keys.incoming(device, received) : received; // the runtime checks and strips the HMAC
          if (!frame) continue;
          const reply = await fleet.control(device, frame, nowMs);
          await onSlice({ batch: reply.batch, resets: [], ticks: 0 }, nowMs);
        }
      },
    });
    return { ...progress(run.deviceMs, run.wallMs), interrupted: options.signal?.aborted === true && run.deviceMs < options.durationMs, outputClosed, app: `${built.manifest.app.name}@${built.manifest.app.version}`, sha256: built.manifest.sha256, shards: fleet.shardCount, engine: options.engine ?? "v8" };
  } finally {
    appWatch?.close();
    installer?.cancel();
    rebuildInstaller?.cancel();
    await deployServer?.close();
    options.signal?.removeEventListener("abort", stopNow);
    if (options.out === "-") process.stdout.off("error", onOutError);
    await fleet.close();
    await serial?.close();
    bridge?.close();
    await mqttBridge?.stop();
    if (mqttSpool) rmSync(mqttSpool, { recursive: true, force: true });
    if (out && out !== process.stdout) { (out as WriteStream).end(); await once(out, "close"); }
    await dashboard?.close();
  }
}

/** Resolves when stream drains, or errs (the error is the stream's listeners' business). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { stream.off("drain", done); stream.off("error", done); resolve(); };
    stream.once("drain", done);
    stream.once("error", done);
  });
}
