// `iotfw init <dir>`: scaffold a new app (index.ts, app.json, README.md) that builds with
// `iotfw build --board <board> --app <dir>` from anywhere (host/build/init.ts does the work).
// May touch: the target folder.
import type { Command } from "commander";
import { scaffoldApp } from "../../build/init.js";
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
    .action((dir: string, opts: { name?: string; force?: boolean }) => {
      try {
        const r = scaffoldApp(dir, { name: opts.name, force: opts.force });
        process.stdout.write(`created app ${r.name} in ${r.dir}: ${r.files.join(", ")}\n  build it: iotfw build --board esp32 --app ${dir}\n`);
      } catch (e) {
        if (e instanceof BuildError) throw new CliError(e.message);
        throw e;
      }
    });
}
