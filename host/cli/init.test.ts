// `iotfw init <dir>` scaffolds an app outside the repository that builds with
// `iotfw build --board <board> --app <dir>` from any working directory.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../repo-root.js";
import { parseWasmImage } from "../build/wasm-image.js";
import { ensureCliBuilt, runCli } from "./testing.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-init-"));

beforeAll(() => ensureCliBuilt(), 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("iotfw init", () => {
  const appDir = join(tmp, "projects", "Garden Probe");

  it("scaffolds index.ts, app.json and README.md", async () => {
    expect(relative(REPO_ROOT, appDir).startsWith("..")).toBe(true); // really outside the repository
    const r = await runCli(["init", appDir], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(appDir, "app.json"), "utf8"))).toEqual({ name: "garden-probe", version: "0.1.0", board: "esp32", hardware: [{ part: "bme280", bus: 0, address: 0x76 }] });
    const index = readFileSync(join(appDir, "index.ts"), "utf8");
    expect(index).toMatch(/^\/\/ garden-probe: /);
    expect(index).toContain(`export * from "iotfw/core/entry";`);
    expect(readFileSync(join(appDir, "README.md"), "utf8")).toContain("iotfw build ");
  });

  it("builds from an unrelated working directory, by absolute and by relative path", async () => {
    const elsewhere = join(tmp, "elsewhere");
    mkdirSync(elsewhere, { recursive: true });
    const byAbs = await runCli(["build", "--board", "esp32", "--app", appDir, "--out", join(tmp, "out-abs")], elsewhere);
    expect(byAbs.stderr).toMatch(/^compiling garden-probe \S+ for esp32\.\.\.\n$/); // the progress line, and no warning
    expect(byAbs.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(tmp, "out-abs", "manifest.json"), "utf8"));
    expect(manifest.app).toEqual({ name: "garden-probe", version: "0.1.0", board: "esp32", hardware: [{ part: "bme280", bus: 0, address: 0x76 }] });
    parseWasmImage(readFileSync(join(tmp, "out-abs", "wasm-partition.bin")));

    const byRel = await runCli(["build", "--board", "esp32s3", "--app", "Garden Probe"], join(tmp, "projects"));
    expect(byRel.code).toBe(0);
    expect(existsSync(join(tmp, "projects", "build", "esp32s3", "app.wasm"))).toBe(true); // default out: ./build/<board>
  });

  it("inside the app folder, commands act on it and its app.json board, never on the example", async () => {
    const app = join(tmp, "projects", "c3-node");
    expect((await runCli(["init", app, "--board", "esp32c3"], tmp)).code).toBe(0);
    const build = await runCli(["build"], app);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^built c3-node 0\.1\.0 for esp32c3/);
    expect(existsSync(join(app, "build", "esp32c3", "app.wasm"))).toBe(true);
    const sim = await runCli(["simulate", "--sensors", "1", "--duration", "10s", "--speed", "max", "--out", "-"], app);
    expect(sim.code, sim.stderr).toBe(0);
    expect(JSON.parse(sim.stdout.split("\n")[0])).toMatchObject({ type: "hello", firmware: "c3-node@0.1.0", board: "esp32c3" });
    // Outside any app and outside the checkout: the example, and a warning saying so.
    const empty = join(tmp, "no-app-here");
    mkdirSync(empty, { recursive: true });
    const fallback = await runCli(["build"], empty);
    expect(fallback.code).toBe(0);
    expect(fallback.stderr).toMatch(/warning: no app in .*no-app-here .*using the example app env-station/);
    expect((await runCli(["init", join(tmp, "x"), "--board", "esp99"], tmp)).stderr).toMatch(/unknown board "esp99"/);
  }, 120_000);

  it("names the app's own files in compile errors, as the user gave the folder", async () => {
    const broken = join(tmp, "broken");
    await runCli(["init", broken], tmp);
    const source = readFileSync(join(broken, "index.ts"), "utf8");
    writeFileSync(join(broken, "index.ts"), source.replace("setSamplePeriod(1000);", "setSamplePeriod(notDefined);"));
    const line = source.split("\n").findIndex((l) => l.startsWith("setSamplePeriod(1000);")) + 1;
    const r = await runCli(["build", "--board", "esp32", "--app", "broken", "--out", join(tmp, "out-broken")], tmp);
    expect(r.stderr).toMatch(new RegExp(`^broken/index\\.ts:${line}:17: error TS2304: Cannot find name 'notDefined'\\.$`, "m"));
    expect(r.code).toBe(1);
  });

  it("keeps existing files unless --force", async () => {
    const r = await runCli(["init", appDir], tmp);
    expect(r.stderr).toMatch(/^iotfw: .* already has index\.ts, app\.json, tsconfig\.json, \.iotfw\/hardware\.ts, README\.md; use --force to overwrite$/m);
    expect(r.code).toBe(1);
    const forced = await runCli(["init", appDir, "--force", "--name", "probe2"], tmp);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(appDir, "app.json"), "utf8")).name).toBe("probe2");
  });

  it("the editor's copy of ./hardware (.iotfw/hardware.ts) follows app.json at the next build", async () => {
    const dir = join(tmp, "rewired");
    expect((await runCli(["init", dir], tmp)).code).toBe(0);
    const copy = join(dir, ".iotfw", "hardware.ts");
    expect(readFileSync(copy, "utf8")).toContain("BME280_ADDRESS: i32 = 0x76;");
    const json = JSON.parse(readFileSync(join(dir, "app.json"), "utf8"));
    json.hardware[0].address = 0x77;
    writeFileSync(join(dir, "app.json"), JSON.stringify(json));
    const built = await runCli(["build", "--app", dir, "--out", join(dir, "build")], tmp);
    expect(built.code, built.stderr).toBe(0);
    expect(readFileSync(copy, "utf8")).toContain("BME280_ADDRESS: i32 = 0x77;");
    const again = await runCli(["build", "--app", dir, "--out", join(dir, "build")], tmp);
    expect(again.stdout).toMatch(/^up to date rewired /); // the refresh does not defeat the build cache
  }, 120_000);
});
