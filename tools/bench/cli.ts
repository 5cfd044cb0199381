// CLI start-up (issue 13: `iotfw --help`, `--version` and `iotfw <cmd> --help` <= 150 ms; an unchanged app builds in
// <= 200 ms): the median wall time of the real
// command, `node bin/iotfw.js ...`, over several runs, against a bare `node -e 0` measured in the same
// run (Node's own start-up, which no CLI can beat). Spawns processes only.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../host/repo-root.js";
import type { BenchResult } from "./result.js";

const RUNS = 9;

function medianMs(args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    execFileSync(process.execPath, args, { cwd: REPO_ROOT, stdio: "ignore" });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[RUNS >> 1];
}

/** `iotfw dev` on a fresh `iotfw init` app: the median "ms after the save" it reports over five saves
 *  (save -> rebuilt -> installed in every device, whose hello is the next frame). */
async function devSaveToDeploy(cli: string): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "iotfw-bench-dev-"));
  const app = join(dir, "app");
  execFileSync(process.execPath, [cli, "init", app], { stdio: "ignore" });
  const dev = spawn(process.execPath, [cli, "dev", "--sensors", "2", "--speed", "5"], { cwd: app, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  dev.stderr.on("data", (c: Buffer) => { err += c.toString(); });
  const deployed = () => [...err.matchAll(/(\d+) ms after the save/g)].map((m) => Number(m[1]));
  const until = async (ok: () => boolean) => { for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 50)); };
  try {
    await until(() => err.includes("dev: watching"));
    await new Promise((r) => setTimeout(r, 6000)); // the fleet's boot and the warm-up compile (app-watch.ts)
    const index = join(app, "index.ts");
    for (let i = 1; i <= 5; i++) {
      writeFileSync(index, readFileSync(index, "utf8").replace(/setSamplePeriod\(\d+\)/, `setSamplePeriod(${1000 + i})`));
      await until(() => deployed().length >= i);
    }
    return deployed();
  } finally {
    dev.kill("SIGINT");
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchCli(): Promise<BenchResult[]> {
  const cli = join(REPO_ROOT, "bin", "iotfw.js");
  const node = medianMs(["-e", "0"]);
  const result = (what: string, args: string[], target: string): BenchResult => {
    const ms = medianMs([cli, ...args]);
    return { name: `iotfw ${what} wall time`, value: ms, unit: "ms", baseline: node, ratio: ms / node, note: `median of ${RUNS}; baseline: node -e 0; ${target}` };
  };
  const out = mkdtempSync(join(tmpdir(), "iotfw-bench-build-"));
  try {
    execFileSync(process.execPath, [cli, "build", "--board", "esp32", "--out", out], { cwd: REPO_ROOT, stdio: "ignore" }); // the build to reuse
    return [
      result("--help", ["--help"], "target <= 150 ms"), result("--version", ["--version"], "target <= 150 ms"),
      // A command's own help loads its module but not what its action needs (the fleet, the bridge's
      // mqtt/aedes/pg, serialport): the two heaviest commands, same target as the top-level help.
      result("simulate --help", ["simulate", "--help"], "target <= 150 ms"),
      result("bridge --help", ["bridge", "--help"], "target <= 150 ms"),
      result("build, app unchanged", ["build", "--board", "esp32", "--out", out], "target <= 200 ms"),
      await devFigure(cli),
    ];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function devFigure(cli: string): Promise<BenchResult> {
  const times = (await devSaveToDeploy(cli)).sort((a, b) => a - b);
  const median = times[times.length >> 1] ?? NaN;
  return { name: "iotfw dev: save to the new module running in every device", value: median, unit: "ms",
    note: `median of ${times.length} saves (${times.join(", ")} ms), a fresh iotfw init app, 2 devices; target <= 1000 ms` };
}
