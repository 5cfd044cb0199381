// iotfw usable anywhere (issue 13): the tarball `npm pack` makes, installed with `npm install -g` into
// a temporary prefix, gives an `iotfw` that works outside the repository: --version, init, build of
// the new app, simulate of it, and a type-check of it with the TypeScript compiler against the tsconfig
// init wrote (what an editor does): clean as scaffolded, and file:line for a deliberate type error. Packs with --ignore-scripts (dist/ is already built: `npm test`'s
// pretest, or ensureCliBuilt) so that no tsc runs under the other tests' feet.
// May touch: temp folders it creates; npm's cache (the dependencies come from it or the registry).
import { execFile, execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../repo-root.js";
import { ensureCliBuilt } from "./testing.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-package-"));
const prefix = join(tmp, "prefix");
const work = join(tmp, "work");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, PATH: `${join(prefix, "bin")}${delimiter}${process.env.PATH}` };
  return new Promise((resolve) => execFile(cmd, args, { cwd, env, encoding: "utf8", timeout: 240_000 }, (e, stdout, stderr) =>
    resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr })));
}

describe("the npm package", () => {
  beforeAll(async () => {
    ensureCliBuilt();
    execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", tmp], { cwd: REPO_ROOT, stdio: "ignore" });
    const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"))!;
    const r = await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", join(tmp, tarball)], tmp);
    expect(r.code, r.stderr).toBe(0);
    execFileSync("mkdir", ["-p", work]);
  }, 300_000);

  it("installed globally: iotfw --version, init, build and simulate an app outside the repository", async () => {
    const iotfw = join(prefix, "bin", "iotfw");
    const version = await run(iotfw, ["--version"], work);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await run(iotfw, ["init", "garden"], work)).code).toBe(0);
    const build = await run(iotfw, ["build", "--board", "esp32", "--app", "garden"], work);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^built garden 0\.1\.0 for esp32/);
    expect(build.stdout).toContain(join(work, "build", "esp32")); // written where the user is, not into the installation
    const sim = await run(iotfw, ["simulate", "--app", "garden", "--sensors", "2", "--duration", "2m", "--speed", "max", "--out", "-"], work);
    expect(sim.code, sim.stderr).toBe(0);
    const frames = sim.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; firmware?: string });
    expect(frames.filter((f) => f.type === "hello").map((f) => f.firmware)).toEqual(["garden@0.1.0", "garden@0.1.0"]);

    // The editor's view: the repository's own tsc on the app's tsconfig (its paths point into the
    // installation: AssemblyScript's std types, the firmware library, the generated ./hardware).
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const app = join(work, "garden");
    expect(readFileSync(join(app, "tsconfig.json"), "utf8")).toContain(join(prefix, "lib", "node_modules", "iotfw")); // not the checkout's
    const clean = await run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
    expect(clean.stdout + clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    const lines = readFileSync(join(app, "index.ts"), "utf8").split("\n").length;
    appendFileSync(join(app, "index.ts"), "const broken: i32 = \"twenty\";\n");
    const broken = await run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
    expect(broken.code).not.toBe(0);
    expect(broken.stdout).toMatch(new RegExp(`^index\\.ts\\(${lines},7\\): error TS2322: Type 'string' is not assignable to type 'number'`, "m"));
  }, 300_000);
});
