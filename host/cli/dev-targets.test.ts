// `iotfw dev` beyond its own fleet, through the real CLI: --device deploys each rebuild to a deploy
// port (here `iotfw simulate --deploy-port`, a fleet in another process), per target ok or the
// connection error, and a compile error deploys nothing; --only deploys into the chosen devices of
// dev's own fleet while the others keep their module. Every wait is on a condition (waitFor).
// May touch: temp folders, the CLI processes it starts.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../bridge/testing.js";
import { CLI, ensureCliBuilt, runCli } from "./testing.js";

interface Child { proc: ChildProcessWithoutNullStreams; out: () => string; err: () => string; exited: Promise<number | null> }

function start(args: string[], cwd: string): Child {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["pipe", "pipe", "pipe"] });
  let out = "", err = "";
  proc.stdout.on("data", (c: Buffer) => { out += c.toString(); });
  proc.stderr.on("data", (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once("close", (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exited };
}

const dirs: string[] = [];
async function newApp(): Promise<{ dir: string; app: string; index: string; source: string }> {
  const dir = mkdtempSync(join(tmpdir(), "iotfw-dev-targets-"));
  dirs.push(dir);
  const app = join(dir, "garden");
  expect((await runCli(["init", app], dir)).code).toBe(0);
  const index = join(app, "index.ts");
  return { dir, app, index, source: readFileSync(index, "utf8") };
}
const firmware = (source: string, version: string) => source.replace(`setFirmware("garden", "0.1.0")`, `setFirmware("garden", "${version}")`);

// One at a time: each test compiles the app in two processes, and on a small machine two tests at once
// take longer than one after the other.
describe("iotfw dev: deploy targets", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it("--device host:port: each save goes to a simulate --deploy-port fleet, ids kept; a compile error deploys nothing", async () => {
    const { dir, app, index, source } = await newApp();
    // Both start at once (each compiles the app first): dev's deploy at start may find the fleet not yet
    // listening, which only makes it a refused target until the save below, asserted either way.
    const address = `127.0.0.1:${await freePort()}`;
    const closed = `127.0.0.1:${await freePort()}`; // nothing listens: its own error, the other target unharmed
    const fleet = start(["simulate", "-n", "3", "--deploy-port", address.split(":")[1], "--speed", "20", "--out", "-", "--app", app], dir);
    const dev = start(["dev", "--device", `${address},${closed}`, "--app", app], dir);
    // The fleet's NDJSON: hellos (device, firmware) in order.
    const hellos = () => fleet.out().split("\n").filter((l) => l.includes('"type":"hello"'))
      .map((l) => JSON.parse(l) as { device: number; firmware: string });
    try {
      await waitFor(() => fleet.err().includes(`deploy port: ${address}`), "the fleet's deploy port", 60_000);
      // Its outcome for the closed port is the last line of the deploy at start (dev watches by then).
      await waitFor(() => dev.err().includes(`not deployed to ${closed}`), "the deploy at start", 60_000);
      expect(dev.err()).toContain(`save a file to rebuild and redeploy to ${address} and ${closed}`);
      expect(dev.err()).toMatch(new RegExp(`dev: not deployed to ${closed} \\(garden 0\\.1\\.0 .*\\): cannot deploy to ${closed}: .*ECONNREFUSED`));
      expect(dev.out()).toBe(""); // the frames are the fleet's output, not dev's

      writeFileSync(index, firmware(source, "0.2.0"));
      await waitFor(() => hellos().filter((h) => h.firmware === "garden@0.2.0").length >= 3, "the new module's hello from all 3 devices", 60_000);
      expect(hellos().filter((h) => h.firmware === "garden@0.2.0").map((h) => h.device).sort()).toEqual([1, 2, 3]);
      await waitFor(() => new RegExp(`dev: deployed garden 0\\.1\\.0 \\(sha256 [0-9a-f]{16}\\.\\.\\.\\) to ${address}, \\d+ ms after the save`).test(dev.err()), "dev's report of the deploy", 10_000);

      const deploys = (dev.err().match(/dev: deployed/g) ?? []).length;
      writeFileSync(index, firmware(source, "0.2.0").replace("setSamplePeriod(1000);", "setSamplePeriod(notDefined);"));
      await waitFor(() => /does not build; the old module keeps running/.test(dev.err()), "the compile error", 60_000);
      expect(dev.err()).toMatch(/index\.ts:\d+:\d+: error TS2304: Cannot find name 'notDefined'/);
      expect((dev.err().match(/dev: deployed/g) ?? []).length).toBe(deploys);
      expect(dev.err()).not.toMatch(/\n\s+at /); // no stack trace
      const frames = fleet.out().length, helloCount = hellos().length;
      await waitFor(() => fleet.out().length > frames + 2000, "frames from the old module still coming", 30_000);
      expect(hellos().length).toBe(helloCount); // no device restarted
      expect(hellos().slice(-3).map((h) => h.firmware)).toEqual(["garden@0.2.0", "garden@0.2.0", "garden@0.2.0"]);
    } finally {
      dev.proc.kill("SIGINT");
      fleet.proc.kill("SIGINT");
    }
    expect(await dev.exited).toBe(130);
    expect(await fleet.exited).toBe(130);
  }, 120_000);

  it("-n 4 --only 2,4: a save goes into devices 2 and 4 only; 1 and 3 keep the old module", async () => {
    const { app, index, source } = await newApp();
    const dev = start(["dev", "-n", "4", "--only", "2,4", "--speed", "20"], app);
    // dev's readable lines: "dev 2 #0 t=0ms hello garden@0.1.0 on esp32, ..."
    const lines = () => dev.out().split("\n");
    const hellos = () => lines().map((l) => /^dev (\d+) #\d+ t=\d+ms hello (\S+) on/.exec(l)).filter((m) => m !== null)
      .map((m) => ({ device: Number(m[1]), firmware: m[2] }));
    try {
      await waitFor(() => hellos().length >= 4, "the 4 devices' first hello", 60_000);
      expect(dev.err()).toContain("redeploy to simulated device(s) 2, 4 of 4");
      writeFileSync(index, firmware(source, "0.3.0"));
      await waitFor(() => hellos().filter((h) => h.firmware === "garden@0.3.0").length >= 2, "the new module's hello from devices 2 and 4", 60_000);
      expect(dev.err()).toMatch(/dev: deployed garden 0\.1\.0 \(sha256 [0-9a-f]{16}\.\.\.\) to device\(s\) 2, 4 of 4, \d+ ms after the save/);
      expect(hellos().filter((h) => h.firmware === "garden@0.3.0").map((h) => h.device).sort()).toEqual([2, 4]);
      // Devices 1 and 3 run on: frames from both after the switch, and no restart (no new hello).
      const after = lines().length;
      await waitFor(() => [1, 3].every((id) => lines().slice(after).some((l) => l.startsWith(`dev ${id} `))), "frames from devices 1 and 3 after the switch", 30_000);
      expect(hellos().filter((h) => h.device === 1 || h.device === 3).map((h) => h.firmware)).toEqual(["garden@0.1.0", "garden@0.1.0"]);
    } finally {
      dev.proc.kill("SIGINT");
    }
    expect(await dev.exited).toBe(130);
  }, 120_000);

  it("--only without a fleet of dev's own, or naming a device it does not have, is a usage error", async () => {
    const { app } = await newApp();
    const [none, outside, bad] = await Promise.all([
      runCli(["dev", "--device", "127.0.0.1:7602", "--only", "2"], app),
      runCli(["dev", "-n", "2", "--only", "00000003"], app),
      runCli(["dev", "--device", "pi.local"], app),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--only chooses among dev's own simulated devices: give -n/);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/--only 00000003: dev simulates devices 1\.\.2/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"pi\.local" is not a device address/);
  });
});
