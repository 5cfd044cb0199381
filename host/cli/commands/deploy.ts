// `iotfw deploy <device-address> [--app <dir>] [--board <b>] [--image <file>]`: build an app (or take a
// built wasm-partition.bin) and send the image straight to a device's deploy port; the device checks
// it, installs it and restarts the module without reflashing the runtime (docs/runtime.md "Deploy").
// May touch: the build out folder, one TCP connection.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { join } from "node:path";
import { boardFor, loadApp, resolveAppDir } from "../../build/app.js";
import { buildApp } from "../../build/build.js";
import { BuildError } from "../../build/errors.js";
import { listBoards } from "../../build/boards.js";
import { parseWasmImage } from "../../build/wasm-image.js";
import { DeployError, deployImage, parseDeployAddress } from "../../deploy/client.js";
import { DEFAULT_DEPLOY_PORT } from "../../deploy/protocol.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

interface DeployOptions { app?: string; board?: string; out?: string; image?: string; timeout: string }

/** Where `iotfw deploy --app` builds by default: build/deploy/<board>, not build/<board>, which is
 *  `iotfw flash`'s plan (issue 13: deploying another app silently replaced what the next flash wrote). */
function deployOutDirFor(board: string): string { return join("build", "deploy", board); }

export function register(program: Command): void {
  program
    .command("deploy")
    .description(COMMAND_SUMMARIES.deploy.summary)
    .argument("<device>", `the device's deploy address, host:port (the runtime listens on ${DEFAULT_DEPLOY_PORT} by default)`)
    .option("-a, --app <dir>", "app folder (index.ts + app.json); default: the app in this folder, else the example env-station")
    .option("-b, --board <board>", `board the app is built for (${listBoards().join(", ")}; default: the app's app.json "board", else esp32)`)
    .option("-o, --out <dir>", "build output folder (default: build/deploy/<board>, apart from build/<board> so that a deploy never changes what iotfw flash writes)")
    .option("--image <file>", "send this wasm-partition.bin as it is instead of building")
    .option("--timeout <ms>", "how long to wait for the device's answer", "15000")
    .action(async (device: string, opts: DeployOptions) => {
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout must be a positive number of milliseconds, not "${opts.timeout}"`);
      if (opts.image && opts.app) throw new CliError("give either --app (build and deploy) or --image (deploy a built image), not both");
      try {
        const target = parseDeployAddress(device);
        let image: Uint8Array;
        let what: string;
        if (opts.image) {
          try { image = readFileSync(opts.image); } catch (e) { throw new CliError(`cannot read ${opts.image}: ${(e as Error).message}`); }
          try { parseWasmImage(image); } catch (e) { throw new CliError(`${opts.image} is not a Wasm partition image: ${(e as Error).message}`); }
          what = opts.image;
        } else {
          const where = resolveAppDir(opts.app);
          if (where.warning) process.stderr.write(`iotfw: warning: ${where.warning}\n`);
          const board = boardFor(loadApp(where.dir, { label: where.label }), opts.board);
          const built = await buildApp({ board, appDir: where.dir, outDir: opts.out ?? deployOutDirFor(board), reuse: true });
          for (const w of built.warnings) process.stderr.write(`iotfw: warning: ${w}\n`);
          image = readFileSync(built.files.image);
          what = `${built.manifest.app.name} ${built.manifest.app.version} (sha256 ${built.manifest.sha256.slice(0, 16)}...)`;
        }
        const r = await deployImage(target, image, { timeoutMs });
        process.stdout.write(`deployed ${what} to ${target.host}:${target.port}: ${r.bytes} bytes in ${Math.round(r.ms)} ms; the device restarted the module\n`);
      } catch (e) {
        if (e instanceof BuildError || e instanceof DeployError) throw new CliError(e.message);
        throw e;
      }
    });
}
