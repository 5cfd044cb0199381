// `iotfw dev` through the real CLI: an app made by `iotfw init` runs on simulated devices; saving a
// change hot-deploys it (every device's next hello carries the new firmware string, ids kept); a
// compile error is shown with file:line while the old module keeps running; Ctrl-C exits 130.
// May touch: temp folders, the CLI processes it starts.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../bridge/testing.js";
import { CLI, ensureCliBuilt, runCli } from "./testing.js";

describe("iotfw dev", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("save -> rebuild -> every device runs the new module; a compile error keeps the old one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-dev-"));
    const app = join(dir, "garden");
    expect((await runCli(["init", app], dir)).code).toBe(0);
    const dev = spawn(process.execPath, [CLI, "dev", "--sensors", "2", "--speed", "20"], { cwd: app, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    dev.stdout.on("data", (c: Buffer) => { out += c.toString(); });
    dev.stderr.on("data", (c: Buffer) => { err += c.toString(); });
    const exited = new Promise<number | null>((resolve) => dev.once("close", (code) => resolve(code)));
    const hellos = (firmware: string) => out.split("\n").filter((l) => l.includes(` hello ${firmware} on esp32`));
    try {
      await waitFor(() => hellos("garden@0.1.0").length >= 2, "both devices' first hello", 120_000);
      expect(err).toMatch(/dev: watching garden; save a file/);

      const index = join(app, "index.ts");
      const source = readFileSync(index, "utf8");
      writeFileSync(index, source.replace(`setFirmware("garden", "0.1.0")`, `setFirmware("garden", "0.2.0")`));
      await waitFor(() => hellos("garden@0.2.0").length >= 2, "the new module's hello from both devices", 120_000);
      expect(err).toMatch(/dev: deployed garden 0\.1\.0 \(sha256 [0-9a-f]{16}\.\.\.\) to 2 device\(s\), \d+ ms after the save/);
      expect(hellos("garden@0.2.0").map((l) => /^dev (\d+) /.exec(l)?.[1]).sort()).toEqual(["1", "2"]);

      writeFileSync(index, source.replace(`setSamplePeriod(1000);`, `setSamplePeriod(notDefined);`));
      await waitFor(() => /does not build; the old module keeps running/.test(err), "the compile error", 120_000);
      expect(err).toMatch(/index\.ts:\d+:\d+: error TS2304: Cannot find name 'notDefined'/);
      const before = out.length;
      await waitFor(() => out.length > before, "frames from the old module still coming", 60_000);
      expect(hellos("garden@0.2.0").length).toBeGreaterThanOrEqual(2);
    } finally {
      dev.kill("SIGINT");
    }
    expect(await exited).toBe(130);
  }, 300_000);
});
