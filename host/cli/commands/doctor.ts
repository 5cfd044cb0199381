// `iotfw doctor`: which tools this machine has for which iotfw feature, and how to get the missing
// ones (host/cli/doctor.ts). Exit 1 only when a required check fails (Node itself). Touches nothing.
import type { Command } from "commander";
import { formatChecks, runChecks } from "../doctor.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

export function register(program: Command): void {
  program
    .command("doctor")
    .description(COMMAND_SUMMARIES.doctor.summary)
    .option("--json", "the checks as one JSON array")
    .action((opts: { json?: boolean }) => {
      const checks = runChecks();
      process.stdout.write(opts.json ? JSON.stringify(checks, null, 2) + "\n" : formatChecks(checks));
      if (checks.some((c) => c.required && !c.ok)) process.exitCode = 1;
    });
}
