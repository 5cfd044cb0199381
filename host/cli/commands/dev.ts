// `iotfw dev`: edit-and-see. Runs the app on a small simulated fleet, prints every frame as a readable
// line (or NDJSON with --json), and on each save rebuilds the app and hot-deploys the new module into
// every device (or the --only ones), ids kept (host/simulate/app-watch.ts). With --device host:port it
// deploys each rebuilt module to those deploy ports instead (with -n: as well), through the deploy
// client of `iotfw deploy` (a board's runtime, `iotfw simulate --deploy-port`). A compile error deploys
// nothing, keeps the old module running everywhere and shows the compiler's file:line. Ctrl-C ends it
// (exit 130). May touch: the app's build folder, one TCP connection per deploy.
import type { Command } from "commander";
import { join, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { boardFor, loadApp, resolveAppDir } from "../../build/app.js";
import { BuildError } from "../../build/errors.js";
import { parseSpeed } from "../../../simulator/fleet/run.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";
import type { Rebuild, WatchTarget } from "../../simulate/app-watch.js";
import type { DeployTarget } from "../../deploy/client.js";

interface DevFlags {
  app?: string; board?: string; sensors?: string; speed: string; seed: string; json?: boolean;
  device?: string[]; only?: string; timeout: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...previous ?? [], ...value.split(",").map((s) => s.trim()).filter(Boolean)];

/** --only: device numbers as dev prints them ("dev 2": 2,4 or 2-4), or ids of 8 hex digits as
 *  `iotfw ctl` and the MQTT topics name them (00000002). */
export function parseOnly(text: string): number[] {
  const ids = new Set<number>();
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const range = /^(\d{1,7})(?:-(\d{1,7}))?$/.exec(part);
    if (/^[0-9a-f]{8}$/i.test(part)) ids.add(parseInt(part, 16));
    else if (range) {
      const from = Number(range[1]), to = Number(range[2] ?? range[1]);
      if (to < from) throw new CliError(`--only ${text}: ${part} is an empty range`);
      for (let id = from; id <= to; id++) ids.add(id);
    } else {
      throw new CliError(`--only ${text}: expected device numbers as dev prints them (2,4 or 2-4) or 8-hex-digit ids (00000002)`);
    }
  }
  if (ids.size === 0) throw new CliError(`--only ${JSON.stringify(text)}: no device given`);
  return [...ids].sort((a, b) => a - b);
}

/** One line per target that was sent the module: ok with ms from the save, or why not; never a stack. */
function report(r: Rebuild): string {
  if (!r.ok) return `dev: the app does not build; the old module keeps running (nothing was deployed):\n${r.message}\n`;
  if (r.unchanged) return r.initial ? "" : `dev: saved, module unchanged (${r.message})\n`;
  const when = r.initial ? "after start" : "after the save";
  return r.targets.map((t) => t.ok
    ? `dev: deployed ${r.message} to ${t.target}, ${Math.round(t.ms)} ms ${when}\n`
    : `dev: not deployed to ${t.target} (${r.message}): ${t.error}; the next save sends it again\n`).join("");
}

export function register(program: Command): void {
  program
    .command("dev")
    .description(COMMAND_SUMMARIES.dev.summary)
    .option("-a, --app <dir>", "app folder (default: the app in this folder, else the example env-station)")
    .option("-b, --board <board>", "board (default: the app's app.json \"board\", else esp32)")
    .option("-n, --sensors <n>", "simulated devices running the app (default 3; with --device none unless given)")
    .option("--only <ids>", "deploy each rebuild only into these of the simulated devices, as dev prints them (2,4 or 1-3) or as 8-hex-digit ids (00000002); the others keep the module they run")
    .option("-d, --device <host:port>", "deploy each build to this deploy port too (repeatable or comma-separated; at start, then on every save): " +
      "a board's runtime, or `iotfw simulate --deploy-port P`, whose every device takes it, ids kept (the deploy protocol names no device). " +
      "Its frames show where it sends them (that simulate's output, iotfw monitor, a bridge), not here", collect)
    .option("--timeout <ms>", "with --device: how long to wait for each device's answer", "15000")
    .option("--speed <speed>", "realtime, max, or a speed-up factor", "realtime")
    .option("--seed <n>", "seed of the simulated sensors", "1")
    .option("--json", "frames as NDJSON instead of readable lines")
    .action(async (flags: DevFlags) => {
      const deviceFlags = flags.device ?? [];
      const sensorsText = flags.sensors ?? (deviceFlags.length ? undefined : "3");
      const devices = sensorsText === undefined ? 0 : Number(sensorsText);
      if (sensorsText !== undefined && (!Number.isInteger(devices) || devices <= 0)) throw new CliError(`--sensors takes a positive whole number, not "${sensorsText}"`);
      const only = flags.only === undefined ? undefined : parseOnly(flags.only);
      if (only && devices === 0) throw new CliError("--only chooses among dev's own simulated devices: give -n <count> too (a --device deploy port takes the module for all its devices)");
      if (only && only.some((id) => id > devices)) throw new CliError(`--only ${flags.only}: dev simulates devices 1..${devices}`);
      const timeoutMs = Number(flags.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout must be a positive number of milliseconds, not "${flags.timeout}"`);
      let speed;
      try { speed = parseSpeed(flags.speed); } catch (e) { throw new CliError((e as Error).message); }
      const app = resolveAppDir(flags.app);
      if (app.warning) process.stderr.write(`iotfw: warning: ${app.warning}\n`);
      // Loaded here: `iotfw dev --help` must not pay for the fleet, the bridge and serialport (<= 150 ms).
      const { DeployError, deployImage, parseDeployAddress } = await import("../../deploy/client.js");
      let addresses: DeployTarget[];
      try { addresses = deviceFlags.map((d) => parseDeployAddress(d)); } catch (e) { throw new CliError((e as Error).message); }
      const remote: WatchTarget[] = addresses.map((target) => ({
        name: `${target.host}:${target.port}`,
        deploy: async (built) => { await deployImage(target, readFileSync(built.files.image), { timeoutMs }); },
      }));
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const where = [devices ? (only ? `simulated device(s) ${only.join(", ")} of ${devices}` : `${devices} simulated device(s)`) : "", ...remote.map((t) => t.name)].filter(Boolean).join(" and ");
      process.stderr.write(`dev: watching ${app.label}; save a file to rebuild and redeploy to ${where} (Ctrl-C to stop)\n`);
      const onRebuild = (r: Rebuild) => process.stderr.write(report(r));
      try {
        if (devices === 0) {
          await watchOnly(app.dir, app.label, flags.board, remote, onRebuild, abort.signal);
          throw new CliError("interrupted", 130);
        }
        const [{ simulate }] = await Promise.all([import("../../simulate/session.js")]);
        const result = await simulate({
          devices, board: flags.board, appDir: app.dir, durationMs: Infinity, speed, seed: Number(flags.seed) || 1,
          out: "-", outFormat: flags.json ? "ndjson" : "text", signal: abort.signal,
          onRebuild, rebuildDevices: only, rebuildTargets: remote,
        });
        if (result.interrupted) throw new CliError("interrupted", 130);
      } catch (e) {
        if (e instanceof CliError) throw e;
        const [{ SimulateError }, { FleetError }] = await Promise.all([import("../../simulate/session.js"), import("../../../simulator/fleet/fleet.js")]);
        if (e instanceof BuildError || e instanceof FleetError || e instanceof SimulateError || e instanceof DeployError) throw new CliError(e.message);
        throw e;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}

/** No fleet of its own: watch, rebuild and deploy to the deploy ports until signal. The build goes to
 *  build/deploy/<board>, as `iotfw deploy --app` builds (never build/<board>, what `iotfw flash` writes). */
async function watchOnly(appDir: string, label: string, boardFlag: string | undefined, targets: WatchTarget[],
  onRebuild: (r: Rebuild) => void, signal: AbortSignal): Promise<void> {
  const [{ AppWatch }, { loadBoard }] = await Promise.all([import("../../simulate/app-watch.js"), import("../../build/boards.js")]);
  const board = loadBoard(boardFor(loadApp(appDir, { label }), boardFlag)); // an unknown board fails here, not at the first save
  const watch = new AppWatch(resolve(appDir), { board, appDir, outDir: join("build", "deploy", board.name) }, targets, onRebuild);
  try {
    if (!signal.aborted) await new Promise<void>((done) => signal.addEventListener("abort", () => done(), { once: true }));
  } finally {
    watch.close();
  }
}
