// The iotfw command line: builds the commander program from every module in ./commands (each exports
// `register(program)`; drop a file there to add a command), runs it, and turns errors into exit codes:
// CliError -> `iotfw: <message>` and its code (1 by default), anything else -> stack trace and 2.
// May touch: process stdout/stderr and exit code; commands touch what they document.
import { Command } from "commander";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { REPO_ROOT } from "../repo-root.js";
import { CliError } from "./errors.js";
import { COMMAND_SUMMARIES, type CommandSummary } from "./command-summaries.js";

export interface CommandModule {
  register(program: Command): void;
}

const COMMANDS_DIR = join(dirname(fileURLToPath(import.meta.url)), "commands");

/** Command modules in ./commands, sorted by file name (tests and type declarations skipped); only
 *  `only`'s module when there is one by that name. */
async function commandModules(only?: string): Promise<CommandModule[]> {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js"; // source under vitest, dist from bin/
  let files = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith(ext) && !f.endsWith(`.test${ext}`) && !f.endsWith(".d.ts")).sort();
  if (only && files.includes(`${only}${ext}`)) files = [`${only}${ext}`];
  return Promise.all(files.map(async (f) => (await import(pathToFileURL(join(COMMANDS_DIR, f)).href)) as CommandModule));
}

/** The program with every command, or with only `command`'s (each module registers the command it is
 *  named after): `iotfw bridge` runs for days, and the build and simulate commands' imports (the
 *  AssemblyScript compiler, wabt) would cost it ~70 MiB of RSS it never uses. */
export async function createProgram(command?: string): Promise<Command> {
  const program = baseProgram();
  for (const mod of await commandModules(command)) if (typeof mod.register === "function") mod.register(program);
  return program;
}

/** The program for `iotfw`, `--help` and `--version`: every command by its name, usage and summary
 *  (command-summaries.ts), none of their modules loaded. */
export function createSummaryProgram(): Command {
  const program = baseProgram();
  for (const [name, c] of Object.entries(COMMAND_SUMMARIES) as Array<[string, CommandSummary]>) {
    const cmd = program.command(c.args ? `${name} ${c.args}` : name).description(c.summary);
    if (c.options !== false) cmd.option("-h, --help", "display help for command"); // the listing then reads "[options]", as the full one does
  }
  return program;
}

function baseProgram(): Command {
  const version = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version as string;
  return new Command("iotfw")
    .description("Firmware toolchain and simulator for sensor nodes")
    .version(version)
    .showHelpAfterError();
}

/** Run the CLI with node-style argv; resolves to the exit code (commander exits itself on usage errors). */
export async function main(argv: string[] = process.argv): Promise<number> {
  const first = argv[2];
  // `iotfw help simulate` is `iotfw simulate --help`: only that module loads.
  if (first === "help" && argv[3] !== undefined && argv[3] in COMMAND_SUMMARIES) argv = [argv[0], argv[1], argv[3], "--help"];
  let program: Command;
  try {
    program = argv[2] === undefined || ["-h", "--help", "-V", "--version", "help"].includes(argv[2])
      ? createSummaryProgram()
      : await createProgram(argv[2]);
  } catch (e) {
    return report(e);
  }
  return run(program, argv);
}

/** Parse argv with `program` and map what its action throws to an exit code. */
export async function run(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof CliError) {
    process.stderr.write(`iotfw: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`iotfw: unexpected error\n${(e as Error)?.stack ?? String(e)}\n`);
  return 2;
}
