// Test support for CLI tests: run `node bin/iotfw.js ...` as a user would, after making sure dist/ is
// current (bin/ runs the compiled CLI; `npm test` builds it in pretest, a bare `npx vitest run` may
// not have). May touch: dist/ (runs tsc when a host source is newer than its output).
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";

export const CLI = join(REPO_ROOT, "bin", "iotfw.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Newest modification time of the .ts files under `dir` (tests excluded). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Rebuild dist/ with tsc if the CLI's output is missing or older than any host/simulator/tools source. */
export function ensureCliBuilt(): void {
  const main = join(REPO_ROOT, "dist", "host", "cli", "main.js");
  const stale = () => !existsSync(main) ||
    statSync(main).mtimeMs < Math.max(...["host", "simulator", "tools"].map((d) => newestSource(join(REPO_ROOT, d))));
  if (!stale()) return;
  // One tsc at a time across parallel test workers: mkdir is atomic.
  const lock = join(REPO_ROOT, "dist", ".tsc-lock");
  mkdirSync(join(REPO_ROOT, "dist"), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try { mkdirSync(lock); break; } catch { if (waited > 120_000) throw new Error(`${lock} held for 2 minutes`); sleepSync(100); }
  }
  try {
    // Other helpers' half-written files may not type-check; tsc still emits, so only the output matters.
    if (stale()) {
      try { execFileSync(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(REPO_ROOT, "tsconfig.json")], { stdio: "pipe" }); } catch { /* see above */ }
    }
  } finally {
    rmdirSync(lock);
  }
  if (!existsSync(main)) throw new Error("tsc did not produce dist/host/cli/main.js");
}

/** Run the CLI with `args` in `cwd`; never rejects (the exit code is part of the result). */
export function runCli(args: string[], cwd = REPO_ROOT): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
