// `iotfw build --board <board> [--app <dir>] [--out <dir>]`: compile an app, check it against the
// board and write app.wasm, manifest.json, the Wasm partition image, the partition table and
// flash-plan.json (host/build/build.ts does the work); with --runtime also the C runtime through ESP-IDF
// (host/build/runtime.ts). May touch: the out folder.
import type { Command } from "commander";
import { buildApp } from "../../build/build.js";
import { BuildError } from "../../build/errors.js";
import { listBoards, loadBoard } from "../../build/boards.js";
import { buildRuntime, RuntimeBuildError } from "../../build/runtime.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

export function register(program: Command): void {
  program
    .command("build")
    .description(COMMAND_SUMMARIES.build.summary)
    .option("-b, --board <board>", `board name (${listBoards().join(", ")}) or path of a board JSON file (default: the app's app.json "board", else esp32)`)
    .option("-a, --app <dir>", "app folder (index.ts + app.json); default: the app in this folder, else the example env-station", undefined)
    .option("-o, --out <dir>", "output folder (default: build/<board>)")
    .option("--debug", "compile with asconfig's debug target")
    .option("--runtime", "also build the C runtime with ESP-IDF (idf.py) and add it to the flash plan")
    .option("--force", "compile even when the out folder already holds a build of exactly these inputs")
    .action(async (opts: { board?: string; app?: string; out?: string; debug?: boolean; runtime?: boolean; force?: boolean }) => {
      try {
        const r = await buildApp({
          board: opts.board, appDir: opts.app, outDir: opts.out, target: opts.debug ? "debug" : "release", reuse: !opts.force,
          onCompile: ({ app, board }) => process.stderr.write(`compiling ${app} for ${board}...\n`),
        });
        for (const w of r.warnings) process.stderr.write(`iotfw: warning: ${w}\n`);
        const m = r.manifest;
        process.stdout.write(
          `${r.reused ? "up to date" : "built"} ${m.app.name} ${m.app.version} for ${m.board}: app.wasm ${m.sizeBytes} bytes, sha256 ${m.sha256.slice(0, 16)}..., ` +
          `memory ${m.memory.initialPages}/${m.memory.maximumPages} page(s)\n` +
          `  out: ${r.outDir}\n` +
          Object.entries(r.flashPlan.files).map(([addr, f]) => `  flash ${addr.padEnd(9)} ${f}\n`).join(""),
        );
        if (opts.runtime) {
          const rt = await buildRuntime({ board: loadBoard(opts.board ?? m.board), outDir: r.outDir, log: (l) => process.stderr.write(`  idf.py: ${l}\n`) });
          process.stdout.write(`built the runtime for ${m.board} with ESP-IDF (iotfw flash --full writes it)\n` +
            Object.entries(rt.files).map(([addr, f]) => `  flash ${addr.padEnd(9)} ${f}\n`).join(""));
        }
      } catch (e) {
        if (e instanceof BuildError || e instanceof RuntimeBuildError) throw new CliError(e.message);
        throw e;
      }
    });
}
