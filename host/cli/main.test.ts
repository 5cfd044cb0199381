// How the CLI turns what a command throws into output and exit codes: CliError -> `iotfw: <message>`
// and its code, no stack; anything else -> the stack and exit 2. Also that every command registers.
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CliError } from "./errors.js";
import { createProgram, run } from "./main.js";

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
});
