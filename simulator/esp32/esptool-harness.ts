// For tests: where Espressif's pristine esptool v5.3.1 lives (../shared/third_party/esptool-v5.3.1, run with
// Debian's /usr/bin/python3 and its python3-serial & co. on PYTHONPATH), why it cannot run here, and
// running it as a child process exactly as a user does. Same rules as simulator/esp32/esptool.test.ts:
// missing pieces skip a test with the reason, except under CI, where they fail it.
// May touch: nothing but the child process it starts.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../host/repo-root.js";

export const ESPTOOL = join(REPO_ROOT, "..", "shared", "third_party", "esptool-v5.3.1");
export const PYTHON = "/usr/bin/python3";
export const ESPTOOL_ENV = { ...process.env, PYTHONPATH: ESPTOOL, NO_COLOR: "1", PYTHONUNBUFFERED: "1" };

/** Why esptool cannot run here, or undefined. */
export function esptoolMissing(): string | undefined {
  if (!existsSync(join(ESPTOOL, "esptool", "__init__.py"))) return `esptool v5.3.1 not found at ${ESPTOOL}`;
  try {
    execFileSync(PYTHON, ["-c", "import esptool, serial.rfc2217"], { env: ESPTOOL_ENV, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  } catch (e) {
    const err = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split("\n").pop();
    return `${PYTHON} cannot import esptool (${err}); install python3-serial python3-bitstring python3-cryptography python3-ecdsa python3-intelhex python3-yaml python3-click python3-rich-click`;
  }
  return undefined;
}

export interface EsptoolRun { code: number | null; out: string; seconds: number }

/** `python3 -m esptool <args>`; resolves with its exit code, everything it printed and its wall time. */
export function runEsptool(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<EsptoolRun> {
  const t0 = performance.now();
  const child = spawn(PYTHON, ["-m", "esptool", ...args], { env: { ...ESPTOOL_ENV, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.once("exit", (code) => { clearTimeout(timer); resolve({ code, out, seconds: (performance.now() - t0) / 1000 }); });
  });
}
