// `iotfw completion bash|zsh`: print a completion script for the shell (host/cli/completion.ts). It
// loads every command module to list their options, which only this command needs. Touches stdout.
import type { Command } from "commander";
import { bashCompletion, zshCompletion } from "../completion.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

export function register(program: Command): void {
  program
    .command("completion")
    .description(COMMAND_SUMMARIES.completion.summary)
    .argument("<shell>", "bash or zsh")
    .action(async (shell: string) => {
      if (shell !== "bash" && shell !== "zsh") throw new CliError(`completion: bash or zsh, not "${shell}"`);
      const { createProgram } = await import("../main.js"); // every command, with its options
      const full = await createProgram();
      process.stdout.write(shell === "bash" ? bashCompletion(full) : zshCompletion(full));
    });
}
