// `iotfw simulate --sensors <N> ...`: N virtual devices running the app's real app.wasm against bus-level
// sensor models (host/simulate/session.ts does the work). Prints a live view on a terminal (stderr) and a
// summary at the end (stdout, or stderr when frames go to stdout). May touch: the build folder, --out.
import type { Command } from "commander";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../repo-root.js";
import { BuildError } from "../../build/errors.js";
import { parseSpeed } from "../../../simulator/fleet/run.js";
import { parseDuration } from "../duration.js";
import { parseScenario, ScenarioError, type ScenarioSpec } from "../../../simulator/sensors/scenario.js";
import type { SimulateResult } from "../../simulate/session.js";
import { CliError } from "../errors.js";
import { portOption } from "../port-option.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";
import { parseJsonText } from "../../json-text.js";
import { clock, LiveView } from "../live-view.js";
import { resolveAppDir } from "../../build/app.js";
import { once } from "node:events";

interface SimulateFlags {
  sensors?: string;
  shard?: string;
  merge?: string[];
  app?: string;
  board?: string;
  duration?: string;
  speed: string;
  seed: string;
  bootIdSeed?: string;
  scenario?: string;
  out?: string;
  workers?: string;
  dashboard?: string | boolean;
  deployPort?: string;
  serial?: string;
  bridge?: string;
  mqtt?: string;
  haDiscovery?: string | boolean;
  keys?: string;
  engine: string;
}

/** --ha-discovery [prefix]: the prefix (homeassistant when given bare); only with --mqtt, where there is a broker. */
function haDiscoveryPrefix(flags: { mqtt?: string; haDiscovery?: string | boolean }): string | undefined {
  if (flags.haDiscovery === undefined || flags.haDiscovery === false) return undefined;
  if (!flags.mqtt) throw new CliError("--ha-discovery needs --mqtt <url> (the broker Home Assistant reads)");
  return flags.haDiscovery === true ? "homeassistant" : flags.haDiscovery;
}

const positiveInt = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name} takes a positive whole number, not "${text}"`);
  return n;
};

/** The scenarios shipped with iotfw (scenarios/*.json), by name. */
const SHIPPED_SCENARIOS = join(REPO_ROOT, "scenarios");


/** A scenario file, or the name of a shipped one (`--scenario heat-wave`). */
export function loadScenarioFile(pathOrName: string): ScenarioSpec {
  const shipped = join(SHIPPED_SCENARIOS, `${pathOrName}.json`);
  const path = !existsSync(pathOrName) && /^[\w-]+$/.test(pathOrName) && existsSync(shipped) ? shipped : pathOrName;
  let raw: unknown;
  try {
    raw = parseJsonText(readFileSync(path, "utf8"));
  } catch (e) {
    const known = existsSync(SHIPPED_SCENARIOS) ? readdirSync(SHIPPED_SCENARIOS).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)) : [];
    const hint = (e as NodeJS.ErrnoException).code === "ENOENT" && known.length ? ` (shipped scenarios: ${known.join(", ")})` : "";
    throw new CliError(`cannot read scenario ${path}: ${(e as Error).message}${hint}`);
  }
  return parseScenario(raw, path);
}

export function register(program: Command): void {
  program
    .command("simulate")
    .description(COMMAND_SUMMARIES.simulate.summary)
    .option("-n, --sensors <n>", "number of virtual devices (each with the sensors its app reads); required but with --merge")
    .option("-a, --app <dir>", "app folder (default firmware/apps/env-station)")
    .option("-b, --board <board>", "board the devices are (default: the app's app.json \"board\", else esp32)")
    .option("-d, --duration <time>", "device time to run, e.g. 30s, 10m, 2h (default: until Ctrl-C)")
    .option("--speed <speed>", "realtime, max, or a speed-up factor", "realtime")
    .option("--seed <n>", "seed of every random stream: same seed, same readings", "1")
    .option("--boot-id-seed <n>", "derive the devices' boot ids (sent in HELLO) from n: byte-identical re-runs (default: new ids each run, so a bridge sees new boots)")
    .option("--scenario <file>", "scenario JSON (heat wave, unplugged sensor, stuck value, noisy bus), or a shipped one by name: heat-wave, sensor-faults")
    .option("-o, --out <file>", "write decoded frames as NDJSON to a file, or - for stdout")
    .option("--workers <n>", "processes to spread devices over (default: one per core)")
    .option("--dashboard [port]", "serve a live dashboard on localhost (default port 8080)")
    .option("--deploy-port <port>", "take `iotfw deploy 127.0.0.1:<port>` as a board would: the module goes to every device (0: any free port)")
    .option("--bridge <url>", "send every device's frames to a bridge as devices on Wi-Fi (tcp://host:port)")
    .option("--mqtt <url>", "publish to an MQTT broker as `iotfw bridge --upstream <url>` would (topics: docs/mqtt.md)")
    .option("--ha-discovery [prefix]", "with --mqtt: publish Home Assistant MQTT discovery configs, as `iotfw bridge --ha-discovery` (prefix default homeassistant)")
    .option("--serial <path>", "expose device 1 on a pseudo-terminal linked at <path>, as a board on USB (needs socat)")
    .option("--engine <engine>", "what runs the module: v8 (Node's engine) or wasm3 (the device's C runtime with Wasm3, built with cmake)", "v8")
    .option("--keys <file>", "per-device HMAC keys (the bridge's --keys file): keyed devices sign frames on their links and drop unsigned control")
    .option("--shard <K/N>", "run only slice K of N of the fleet (contiguous device ids, as in the one-machine run); needs --boot-id-seed, the same on every machine")
    .option("--merge <files...>", "merge the slices' --out NDJSON files into the one-machine run's (to --out, default stdout); runs nothing")
    .action(async (flags: SimulateFlags) => {
      if (flags.merge) return mergeSlices(flags.merge, flags.out);
      if (flags.sensors === undefined) throw new CliError("required option '-n, --sensors <n>' not specified");
      // Loaded here, not at the top: `iotfw simulate --help` must not pay for the fleet (wabt), the bridge
      // (mqtt, aedes, pg) and serialport before it prints (issue 13: <= 150 ms).
      const [{ simulate, SimulateError }, { FleetError }, { BridgeError }, { SerialExposureError }, { LinkError }, { parseShard, ShardError }] = await Promise.all([
        import("../../simulate/session.js"), import("../../../simulator/fleet/fleet.js"), import("../../bridge/bridge.js"),
        import("../../simulate/serial-exposure.js"), import("../../link/open.js"), import("../../simulate/shard.js"),
      ]);
      const [{ WiringError }, { BridgeLinkError }, { KeysError }, { PtyError }, { RuntimeBuildError }, { RuntimeProcessError }] = await Promise.all([
        import("../../../simulator/fleet/wiring.js"), import("../../simulate/bridge-links.js"), import("../../bridge/keys.js"),
        import("../../link/pty.js"), import("../../../simulator/wasm3/runtime-build.js"), import("../../../simulator/wasm3/runtime-process.js"),
      ]);
      const devices = positiveInt("--sensors", flags.sensors);
      let shard;
      try {
        shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (shard && flags.bootIdSeed === undefined) {
        throw new CliError("--shard needs --boot-id-seed <n>, the same on every machine: without it each run draws new boot ids, so the slices would not be one fleet");
      }
      if (flags.engine !== "v8" && flags.engine !== "wasm3") throw new CliError(`--engine takes v8 or wasm3, not "${flags.engine}"`);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new CliError(`--seed takes a whole number, not "${flags.seed}"`);
      const bootIdSeed = flags.bootIdSeed === undefined ? undefined : Number(flags.bootIdSeed);
      if (bootIdSeed !== undefined && !(Number.isInteger(bootIdSeed) && bootIdSeed >= 0 && bootIdSeed <= 0xffffffff)) {
        throw new CliError(`--boot-id-seed takes a whole number from 0 to 4294967295, not "${flags.bootIdSeed}"`);
      }
      let durationMs = Infinity;
      let speed;
      try {
        if (flags.duration) durationMs = parseDuration(flags.duration, "--duration");
        speed = parseSpeed(flags.speed);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const dashboardPort = flags.dashboard === undefined ? undefined
        : flags.dashboard === true ? 8080 : positiveInt("--dashboard", String(flags.dashboard));
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const summaryTo = flags.out === "-" ? process.stderr : process.stdout;
      const app = resolveAppDir(flags.app);
      if (app.warning) process.stderr.write(`iotfw: warning: ${app.warning}\n`);
      const live = process.stderr.isTTY ? new LiveView(durationMs) : undefined;
      try {
        const result = await simulate({
          devices, shard, board: flags.board, appDir: app.dir, durationMs, speed, seed, bootIdSeed,
          scenario: flags.scenario ? loadScenarioFile(flags.scenario) : undefined,
          out: flags.out, workers: flags.workers ? positiveInt("--workers", flags.workers) : undefined,
          dashboardPort, serialPath: flags.serial, bridgeUrl: flags.bridge, mqttUrl: flags.mqtt, haDiscovery: haDiscoveryPrefix(flags), keysFile: flags.keys, engine: flags.engine, signal: abort.signal,
          onProgress: (p) => live?.update(p),
          onDashboard: (url) => process.stderr.write(`dashboard: ${url}\n`),
          deployPort: flags.deployPort === undefined ? undefined : portOption("--deploy-port", flags.deployPort),
          onDeployPort: (address) => process.stderr.write(`deploy port: ${address} (iotfw deploy ${address} --app <dir>)\n`),
        });
        live?.clear();
        if (result.outputClosed) return; // `| head` had what it wanted: end as quietly as `yes | head`
        summaryTo.write(summary(result));
        // Ctrl-C is an ordinary way to end a run: the summary, then the shell's convention for SIGINT.
        if (result.interrupted) throw new CliError("interrupted", 130);
      } catch (e) {
        live?.clear();
        if (e instanceof BuildError || e instanceof FleetError || e instanceof WiringError || e instanceof ScenarioError ||
            e instanceof SerialExposureError || e instanceof PtyError || e instanceof LinkError || e instanceof BridgeLinkError || e instanceof SimulateError || e instanceof BridgeError ||
            e instanceof KeysError || e instanceof RuntimeBuildError || e instanceof RuntimeProcessError || e instanceof ShardError) {
          throw new CliError(e.message);
        }
        throw e;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}

/** --merge: the slices' NDJSON, merged into the one-machine run's bytes (host/simulate/shard.ts). */
async function mergeSlices(files: string[], outPath: string | undefined): Promise<void> {
  const { mergeShardOutputs, ShardError } = await import("../../simulate/shard.js"); // see the action
  const out = outPath && outPath !== "-" ? createWriteStream(outPath) : process.stdout;
  try {
    await mergeShardOutputs(files, async (text) => { if (!out.write(text)) await once(out, "drain"); });
  } catch (e) {
    if (e instanceof ShardError) throw new CliError(e.message);
    throw e;
  } finally {
    if (out !== process.stdout) { out.end(); await once(out, "close"); }
  }
}

function summary(r: SimulateResult): string {
  const c = r.telemetry.counters;
  const speedUp = r.wallMs > 0 ? r.deviceMs / r.wallMs : 0;
  const types = Object.entries(c.byType).map(([t, n]) => `${t} ${n}`).join(", ");
  return [
    `simulated ${r.devices} devices${r.shard ? ` (slice ${r.shard.index}/${r.shard.count} of ${r.shard.fleetDevices}: devices ${r.shard.firstDeviceId}-${r.shard.firstDeviceId + r.devices - 1})` : ""} running ${r.app} (sha256 ${r.sha256.slice(0, 12)}) for ${clock(r.deviceMs)} of device time${r.interrupted ? " (interrupted)" : ""} ` +
      `in ${(r.wallMs / 1000).toFixed(1)} s (${speedUp.toFixed(1)}x real time, ${r.shards} process${r.shards === 1 ? "" : "es"}, engine ${r.engine})`,
    `  frames  ${c.frames} (${types || "none"}), ${c.linkBytes} bytes on the link`,
    c.samples === 0
      ? "  samples none summarised yet: no window closed in this run (run longer than the app's windows)"
      : `  samples ${c.samples} summarised; as one JSON object per reading they would be ${c.jsonBytes} bytes: ` +
        `${r.telemetry.edgeReduction.toFixed(1)}x fewer bytes at the edge`,
    `  alerts  ${c.alerts}, faults ${c.faults}, watchdog resets ${r.watchdogResets}` + (c.undecodable ? `, undecodable frames ${c.undecodable}` : ""),
    ...(r.keys ? [keysLine(r.keys)] : []),
    "",
  ].join("\n");
}

function keysLine(k: NonNullable<SimulateResult["keys"]>): string {
  const d = k.downlinkDropped;
  const dropped = d.unsigned + d.bad_frame + d.bad_hmac;
  return `  keys    ${k.keyedDevices} of the devices keyed, ${k.signed} frames signed on links` +
    (k.unsignable ? `, ${k.unsignable} too long to sign (not sent)` : "") +
    `, ${dropped} downlink frames dropped` + (dropped ? ` (unsigned ${d.unsigned}, bad HMAC ${d.bad_hmac}, corrupt ${d.bad_frame})` : "");
}
