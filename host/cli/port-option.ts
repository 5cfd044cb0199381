// A TCP port given on the command line (`--deploy-port 0` of simulate and emulate): checked once, the
// same message everywhere. May touch: nothing.
import { CliError } from "./errors.js";

/** A TCP port number, 0 meaning any free one; CliError naming the option otherwise. */
export function portOption(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`${name} takes a port number from 0 to 65535, not "${text}"`);
  return n;
}
