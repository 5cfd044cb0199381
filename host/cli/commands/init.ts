// `iotfw init <dir>`: scaffold a new app (index.ts, app.json, README.md) that builds with
// `iotfw build --board <board> --app <dir>` from anywhere (host/build/init.ts does the work).
// May touch: the target folder.
import type { Command } from "commander";
import { scaffoldApp } from "../../build/init.js";
import { listBoards, loadBoard } from "../../build/boards.js";
import { BuildError } from "../../build/errors.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

export function register(program: Command): void {
  program
    .command("init")
    .description(COMMAND_SUMMARIES.init.summary)
    .argument("<dir>", "folder to create (may exist; existing scaffold files are kept unless --force)")
    .option("-n, --name <name>", "app name (default: the folder's name)")
    .option("-f, --force", "overwrite existing index.ts, app.json, README.md")
    .option("-b, --board <board>", `the board app.json records (${listBoards().join(", ")})`, "esp32")
    .action((dir: string, opts: { name?: string; force?: boolean; board: string }) => {
      try {
        loadBoard(opts.board); // a board that exists, before anything is written
        const r = scaffoldApp(dir, { name: opts.name, force: opts.force, board: opts.board });
        process.stdout.write(`created app ${r.name} for ${opts.board} in ${r.dir}: ${r.files.join(", ")}\n  build it: cd ${dir} && iotfw build   (or iotfw build --app ${dir})\n`);
      } catch (e) {
        if (e instanceof BuildError) throw new CliError(e.message);
        throw e;
      }
    });
}
