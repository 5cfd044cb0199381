// Hardware declared once (host/build/hardware-module.ts): app.json "hardware" becomes the app's
// "./hardware" module, so moving a part in app.json moves it for the firmware and the simulator alike.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../repo-root.js";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { hardwareModule } from "./hardware-module.js";

describe("the generated hardware module", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("one constant per bus, address, pin, role pin and numeric option; repeated parts numbered", () => {
    const text = hardwareModule([
      { part: "bme280", bus: 0, address: 0x76 }, { part: "bme280", bus: 1, address: 0x77 },
      { part: "hcsr04", pins: { trigger: 5, echo: 18 } }, { part: "mhz19b", pin: 25, options: { rangePpm: 5000, gain: 1.5, label: "x" } }, { part: "chip" },
    ]);
    expect(text).toContain("export const BME280_BUS: i32 = 0;\nexport const BME280_ADDRESS: i32 = 0x76;");
    expect(text).toContain("export const BME280_2_BUS: i32 = 1;\nexport const BME280_2_ADDRESS: i32 = 0x77;");
    expect(text).toContain("export const HCSR04_TRIGGER_PIN: i32 = 5;\nexport const HCSR04_ECHO_PIN: i32 = 18;");
    expect(text).toContain("export const MHZ19B_RANGE_PPM: i32 = 5000;\nexport const MHZ19B_GAIN: f64 = 1.5;");
    expect(text).not.toContain("LABEL");
    expect(hardwareModule(undefined)).not.toContain("export");
  });

  it("a part moved in app.json is where the firmware looks for it, in the simulator", async () => {
    const app = join(mkdtempSync(join(tmpdir(), "iotfw-hw-")), "env");
    cpSync(join(REPO_ROOT, "firmware", "apps", "env-station"), app, { recursive: true });
    const json = JSON.parse(readFileSync(join(app, "app.json"), "utf8"));
    json.hardware.find((p: { part: string }) => p.part === "bme280").address = 0x77; // SDO to VDD (datasheet 6.2)
    writeFileSync(join(app, "app.json"), JSON.stringify(json));
    // The copy's index.ts imports "../../core": give the library path the copy can reach.
    writeFileSync(join(app, "index.ts"), readFileSync(join(app, "index.ts"), "utf8").replace(/"\.\.\/\.\.\/(core|drivers)/g, '"iotfw/$1'));
    const r = await runCli(["simulate", "--app", app, "--sensors", "1", "--duration", "70s", "--speed", "max", "--out", "-"]);
    expect(r.code, r.stderr).toBe(0);
    const frames = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; kind?: string; name?: string; channels?: Array<{ name: string; count: number }> });
    expect(frames.filter((f) => f.type === "event" && f.kind === "fault" && f.name === "pressure")).toEqual([]);
    const summary = frames.find((f) => f.type === "summary");
    expect(summary?.channels?.find((c) => c.name === "pressure")?.count).toBeGreaterThan(0);
  }, 120_000);
});
