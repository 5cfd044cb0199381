// Builds the sim port of the C runtime (firmware/runtime/ports/sim) with CMake against Wasm3 v0.5.0, once
// per source fingerprint, into build/runtime-sim/<fingerprint>/. Wasm3 comes from IOTFW_WASM3_SRC, else
// the pristine copy beside the repository (../shared/third_party/wasm3-v0.5.0, as on the project's
// offline machines), else CMake's FetchContent fetches tag v0.5.0 (a machine with network access).
// May touch: build/runtime-sim/ under the repository; runs cmake and the C compiler.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { REPO_ROOT } from "../../host/repo-root.js";

export class RuntimeBuildError extends Error {}

const RUNTIME = join(REPO_ROOT, "firmware", "runtime");
/** What the sim port is built from (besides Wasm3). */
const SOURCES = ["core", "engine", "ports/sim", "cmake", "hal_link.generated.h"];

/** Where Wasm3's sources are: a folder holding source/wasm3.h, or undefined (CMake will fetch them). */
export function findWasm3Source(): string | undefined {
  const candidates = [process.env.IOTFW_WASM3_SRC, join(REPO_ROOT, "..", "shared", "third_party", "wasm3-v0.5.0")];
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, "source", "wasm3.h")));
}

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((n) => files(join(path, n)));
}

/** The fingerprint of the runtime's sources and the Wasm3 folder used. */
export function runtimeFingerprint(wasm3: string | undefined, extra = ""): string {
  const h = createHash("sha256").update(`${wasm3 ?? "fetch"}\0${extra}\0`);
  for (const f of SOURCES.flatMap((s) => files(join(RUNTIME, s)))) h.update(relative(RUNTIME, f)).update("\0").update(readFileSync(f));
  return h.digest("hex").slice(0, 16);
}

export interface SimRuntimeBuild { binary: string; wasm3: string | undefined; reused: boolean }

/** build/runtime-sim in the checkout; for an installed iotfw whose folder is not ours to write (npm
 *  install -g as root), the user's cache: $XDG_CACHE_HOME/iotfw/runtime-sim or ~/.cache/iotfw/runtime-sim. */
function defaultBuildRoot(): string {
  try {
    accessSync(REPO_ROOT, constants.W_OK);
    return join(REPO_ROOT, "build", "runtime-sim");
  } catch {
    return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "iotfw", "runtime-sim");
  }
}

/** The iotfw-runtime-sim binary for these sources, built if needed (about 20 s the first time). */
export function buildSimRuntime(options: { buildRoot?: string } = {}): SimRuntimeBuild {
  const wasm3 = findWasm3Source();
  const root = options.buildRoot ?? defaultBuildRoot();
  const dir = join(root, runtimeFingerprint(wasm3));
  const binary = join(dir, "iotfw-runtime-sim");
  if (existsSync(binary)) return { binary, wasm3, reused: true };
  // Build beside, then rename into place: concurrent builders (parallel test files) never see half a build.
  const work = `${dir}.build-${process.pid}`;
  mkdirSync(work, { recursive: true });
  const defines = wasm3 ? [`-DFETCHCONTENT_SOURCE_DIR_WASM3_SRC=${wasm3}`, "-DFETCHCONTENT_FULLY_DISCONNECTED=ON"] : [];
  try {
    execFileSync("cmake", ["-S", join(RUNTIME, "ports", "sim"), "-B", work, "-DCMAKE_BUILD_TYPE=Release", ...defines], { stdio: "pipe" });
    execFileSync("cmake", ["--build", work, "--parallel", "2"], { stdio: "pipe" });
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    const err = e as { code?: string; stderr?: Buffer; stdout?: Buffer };
    if (err.code === "ENOENT") throw new RuntimeBuildError("--engine wasm3 needs cmake and a C compiler (Debian: apt-get install cmake gcc)");
    const out = `${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`.trim().split("\n").slice(-15).join("\n");
    const hint = wasm3 ? "" : "\nWasm3 v0.5.0 could not be fetched: set IOTFW_WASM3_SRC to a Wasm3 checkout (its folder holding source/).";
    throw new RuntimeBuildError(`building the runtime (firmware/runtime/ports/sim) failed:\n${out}${hint}`);
  }
  try { renameSync(join(work), dir); } catch { /* another builder won the race: use its build */ rmSync(work, { recursive: true, force: true }); }
  return { binary, wasm3, reused: false };
}
