// `iotfw simulate --deploy-port`: a running simulated fleet takes `iotfw deploy` as a board does, through
// the real CLI on both sides: the module goes to every device, which restart with it keeping their ids;
// a corrupt image is refused and the old app keeps running; the deploy's build leaves build/<board> (the
// flash plan) alone. May touch: temp folders, loopback ports and
// the CLI processes it starts.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli, CLI } from "../cli/testing.js";
import { REPO_ROOT } from "../repo-root.js";
import { waitFor } from "../bridge/testing.js";

interface Line { type: string; device: number; firmware?: string }

describe("simulate --deploy-port", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("iotfw deploy reaches every simulated device; a corrupt image is refused and the fleet runs on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-deploy-port-"));
    const out = join(dir, "frames.ndjson");
    const sim = spawn(process.execPath, [CLI, "simulate", "--sensors", "3", "--speed", "20", "--deploy-port", "0", "--out", out, "--workers", "1"],
      { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    sim.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
    const exited = new Promise<number | null>((resolve) => sim.once("close", (code) => resolve(code)));
    try {
      const address = await waitFor(() => /deploy port: (\S+)/.exec(stderr)?.[1], "the deploy port", 60_000);
      const lines = () => { try { return readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line); } catch { return []; } };
      await waitFor(() => lines().filter((l) => l.type === "hello").length >= 3, "the fleet's first hellos", 60_000);

      const flashPlan = join(REPO_ROOT, "build", "esp32", "manifest.json");
      const planBefore = existsSync(flashPlan) ? readFileSync(flashPlan, "utf8") : undefined;
      const deployed = await runCli(["deploy", address, "--app", "firmware/apps/motion"]); // cwd: the checkout
      // Built apart from build/esp32 (what iotfw flash writes), which a deploy must not change.
      expect(JSON.parse(readFileSync(join(REPO_ROOT, "build", "deploy", "esp32", "manifest.json"), "utf8")).app.name).toBe("motion");
      expect(existsSync(flashPlan) ? readFileSync(flashPlan, "utf8") : undefined).toBe(planBefore);
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(deployed.stdout).toMatch(/^deployed motion \S+ \(sha256 [0-9a-f]{16}\.\.\.\) to 127\.0\.0\.1:\d+/);
      const motion = await waitFor(() => {
        const h = lines().filter((l) => l.type === "hello" && l.firmware?.startsWith("motion@"));
        return h.length >= 3 ? h : undefined;
      }, "every device's hello from the new module", 60_000);
      expect(motion.map((h) => h.device).sort()).toEqual([1, 2, 3]); // the same ids

      const image = readFileSync(join(REPO_ROOT, "build", "deploy", "esp32", "wasm-partition.bin"));
      image[image.length - 1] ^= 0xff; // the module no longer matches its SHA-256
      writeFileSync(join(dir, "corrupt.bin"), image);
      const refused = await runCli(["deploy", address, "--image", join(dir, "corrupt.bin")]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/SHA-256|hash/i);
      expect(sim.exitCode).toBeNull(); // the fleet runs on
    } finally {
      sim.kill("SIGINT");
      expect(await exited).toBe(130);
    }
  }, 180_000);
});
