// CLI start-up (issue 13: `iotfw --help` and `--version` <= 150 ms; an unchanged app builds in
// <= 200 ms): the median wall time of the real
// command, `node bin/iotfw.js ...`, over several runs, against a bare `node -e 0` measured in the same
// run (Node's own start-up, which no CLI can beat). Spawns processes only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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
      result("simulate --help", ["simulate", "--help"], "loads the simulate command (no target)"),
      result("build, app unchanged", ["build", "--board", "esp32", "--out", out], "target <= 200 ms"),
    ];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
