// `iotfw dev`: edit-and-see. Runs the app on a small simulated fleet, prints every frame as a readable
// line (or NDJSON with --json), and on each save rebuilds the app and hot-deploys the new module into
// every device, ids kept (host/simulate/app-watch.ts); a compile error keeps the old module running
// and shows the compiler's file:line. Ctrl-C ends it (exit 130). May touch: the app's build folder.
import type { Command } from "commander";
import { resolveAppDir } from "../../build/app.js";
import { BuildError } from "../../build/errors.js";
import { parseSpeed } from "../../../simulator/fleet/run.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

export function register(program: Command): void {
  program
    .command("dev")
    .description(COMMAND_SUMMARIES.dev.summary)
    .option("-a, --app <dir>", "app folder (default: the app in this folder, else the example env-station)")
    .option("-b, --board <board>", "board (default: the app's app.json \"board\", else esp32)")
    .option("-n, --sensors <n>", "simulated devices running the app", "3")
    .option("--speed <speed>", "realtime, max, or a speed-up factor", "realtime")
    .option("--seed <n>", "seed of the simulated sensors", "1")
    .option("--json", "frames as NDJSON instead of readable lines")
    .action(async (flags: { app?: string; board?: string; sensors: string; speed: string; seed: string; json?: boolean }) => {
      const devices = Number(flags.sensors);
      if (!Number.isInteger(devices) || devices <= 0) throw new CliError(`--sensors takes a positive whole number, not "${flags.sensors}"`);
      let speed;
      try { speed = parseSpeed(flags.speed); } catch (e) { throw new CliError((e as Error).message); }
      const app = resolveAppDir(flags.app);
      if (app.warning) process.stderr.write(`iotfw: warning: ${app.warning}\n`);
      // Loaded here: `iotfw dev --help` must not pay for the fleet, the bridge and serialport (<= 150 ms).
      const [{ simulate, SimulateError }, { FleetError }] = await Promise.all([import("../../simulate/session.js"), import("../../../simulator/fleet/fleet.js")]);
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      process.stderr.write(`dev: watching ${app.label}; save a file to rebuild and redeploy (Ctrl-C to stop)\n`);
      try {
        const result = await simulate({
          devices, board: flags.board, appDir: app.dir, durationMs: Infinity, speed, seed: Number(flags.seed) || 1,
          out: "-", outFormat: flags.json ? "ndjson" : "text", signal: abort.signal,
          onRebuild: (r) => process.stderr.write(r.ok
            ? r.unchanged ? `dev: saved, module unchanged (${r.message})\n` : `dev: deployed ${r.message} to ${devices} device(s), ${Math.round(r.ms)} ms after the save\n`
            : `dev: the app does not build; the old module keeps running:\n${r.message}\n`),
        });
        if (result.interrupted) throw new CliError("interrupted", 130);
      } catch (e) {
        if (e instanceof BuildError || e instanceof FleetError || e instanceof SimulateError) throw new CliError(e.message);
        throw e;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
