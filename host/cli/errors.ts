// The error a command throws to stop with a message for the user: main prints `iotfw: <message>` to
// stderr and exits with exitCode, without a stack trace. Anything else thrown is a bug (stack, exit 2).
// May touch: nothing.
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "CliError";
  }
}
