// `iotfw simulate --deploy-port`: a running simulated fleet takes `iotfw deploy` as a board does, through
// the real CLI on both sides: the module goes to every device, which restart with it keeping their ids;
// a corrupt image is refused and the old app keeps running; the deploy's build leaves build/<board> (the
// flash plan) alone. May touch: temp folders, loopback ports and
// the CLI processes it starts.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { startDeployFleet } from "./testing.js";
import { REPO_ROOT } from "../repo-root.js";
import { waitFor } from "../bridge/testing.js";

interface Line { type: string; device: number; firmware?: string }

describe("simulate --deploy-port", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("iotfw deploy reaches every simulated device; a corrupt image is refused and the fleet runs on", async () => {
    const fleet = await startDeployFleet<Line>(3);
    const { address, lines, dir } = fleet;
    try {
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
      expect(fleet.exitCode()).toBeNull(); // the fleet runs on
    } finally {
      expect(await fleet.stop()).toBe(130);
    }
  }, 180_000);
});
