// Test helper: `iotfw simulate --deploy-port 0` as a child process, the way a user runs a fleet that
// takes `iotfw deploy` and `iotfw ctl --device`: its deploy address (from its stderr), its frames as
// they are written (NDJSON in a temp folder), and a stop by Ctrl-C that must end it with 130.
// May touch: a temp folder and the process it starts.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../cli/testing.js";
import { waitFor } from "../bridge/testing.js";

export interface DeployFleet<L> {
  /** host:port of the fleet's deploy port. */
  address: string;
  /** A temp folder of the fleet's own (its frames are in it). */
  dir: string;
  /** Every frame written so far. */
  lines(): L[];
  exitCode(): number | null;
  /** SIGINT, as Ctrl-C; resolves with the exit code (130 when it ended cleanly). */
  stop(): Promise<number | null>;
}

/** `iotfw simulate --sensors <devices> --speed 20 --deploy-port 0 ...extra`, waited for until it listens. */
export async function startDeployFleet<L = Record<string, unknown>>(devices: number, extra: string[] = []): Promise<DeployFleet<L>> {
  const dir = mkdtempSync(join(tmpdir(), "iotfw-deploy-fleet-"));
  const out = join(dir, "frames.ndjson");
  const sim = spawn(process.execPath, [CLI, "simulate", "--sensors", String(devices), "--speed", "20", "--deploy-port", "0", "--out", out, "--workers", "1", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  sim.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((resolve) => sim.once("close", (code) => resolve(code)));
  const stop = () => { sim.kill("SIGINT"); return exited; };
  try {
    const address: string = await waitFor(() => /deploy port: (\S+)/.exec(stderr)?.[1], "the deploy port", 60_000) as string;
    return {
      address, dir, stop, exitCode: () => sim.exitCode,
      lines: () => { try { return readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as L); } catch { return []; } },
    };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}; simulate said: ${stderr}`);
  }
}
