// How the CLI turns what a command throws into output and exit codes: CliError -> `iotfw: <message>`
// and its code, no stack; anything else -> the stack and exit 2. Also that every command registers, and
// that `iotfw --help` built from command-summaries.ts alone (no command module loaded) is the help the
// full program prints.
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CliError } from "./errors.js";
import { createProgram, createSummaryProgram, run } from "./main.js";
import { ensureCliBuilt, runCli } from "./testing.js";

const captureStderr = () => {
  let text = "";
  vi.spyOn(process.stderr, "write").mockImplementation(((s: string) => { text += s; return true; }) as never);
  return () => text;
};
const programThrowing = (error: unknown) => {
  const program = new Command("iotfw").exitOverride();
  program.command("boom").action(() => { throw error; });
  return program;
};

afterEach(() => vi.restoreAllMocks());

describe("iotfw main", () => {
  it("prints a CliError's message without a stack and exits with its code", async () => {
    const stderr = captureStderr();
    expect(await run(programThrowing(new CliError("the board is on fire")), ["node", "iotfw", "boom"])).toBe(1);
    expect(await run(programThrowing(new CliError("later", 3)), ["node", "iotfw", "boom"])).toBe(3);
    expect(stderr()).toBe("iotfw: the board is on fire\niotfw: later\n");
  });

  it("prints the stack of an unexpected error and exits 2", async () => {
    const stderr = captureStderr();
    expect(await run(programThrowing(new TypeError("x is undefined")), ["node", "iotfw", "boom"])).toBe(2);
    expect(stderr()).toMatch(/^iotfw: unexpected error\nTypeError: x is undefined\n\s+at /);
  });

  it("registers build and init from ./commands", async () => {
    const names = (await createProgram()).commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(["build", "init"]));
  });

  it("the top-level help from the summaries table is the full program's, word for word", async () => {
    const full = await createProgram();
    expect(createSummaryProgram().helpInformation()).toBe(full.helpInformation());
    expect(createSummaryProgram().commands.map((c) => c.name()).sort()).toEqual(full.commands.map((c) => c.name()).sort());
  });

  it("the bridge defaults `bridge --help` and `ctl --help` print without loading the bridge are the bridge's", async () => {
    const [light, bridge] = await Promise.all([import("./bridge-defaults.js"), import("../bridge/bridge.js")]);
    expect(light.DEFAULT_SPOOL_DIR).toBe(bridge.DEFAULT_SPOOL_DIR);
    expect(light.DEFAULT_HTTP).toBe(bridge.DEFAULT_HTTP);
  });

  it("--help and --version answer from the table; `help <command>` shows that command's own options", async () => {
    ensureCliBuilt();
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/simulate \[options\]\s+run N virtual devices/);
    const version = await runCli(["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const one = await runCli(["help", "simulate"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/--engine <engine>/); // the command's own options: its module was loaded
  }, 120_000);
});
