// The scenarios shipped in scenarios/ (README: `--scenario heat-wave`) run through the real CLI and do
// what scenarios/README.md says; a scenario file that is not JSON is named with line and column.
// May touch: temp folders it creates, the CLI processes it starts.
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../repo-root.js";
import { loadScenarioFile } from "./commands/simulate.js";
import { ensureCliBuilt, runCli } from "./testing.js";

interface Line { type: string; name?: string; kind?: string; t: number }

async function eventsOf(scenario: string, duration: string): Promise<Line[]> {
  const r = await runCli(["simulate", "--sensors", "1", "--duration", duration, "--speed", "max", "--scenario", scenario,
    "--seed", "1", "--boot-id-seed", "1", "--workers", "1", "--out", "-"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Line).filter((l) => l.type === "event");
}
const humidity = (events: Line[]) => events.filter((e) => e.name === "humidity");

describe("shipped scenarios", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("every file in scenarios/ is a valid scenario, loadable by name", () => {
    const names = readdirSync(join(REPO_ROOT, "scenarios")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
    expect(names).toEqual(expect.arrayContaining(["heat-wave", "sensor-faults"]));
    for (const n of names) expect(loadScenarioFile(n).name).toBe(n);
  });

  it("heat-wave: the humidity sensor unplugged at 15 min stays in fault", async () => {
    const h = humidity(await eventsOf("heat-wave", "17m"));
    const last = h.at(-1)!;
    expect(last.kind).toBe("fault");
    expect(last.t).toBeGreaterThanOrEqual(900_000);
  }, 120_000);

  it("sensor-faults: humidity in fault from 5 to 7 min, then back", async () => {
    const h = humidity(await eventsOf("sensor-faults", "9m"));
    const before = h.filter((e) => e.t < 420_000).at(-1)!;
    expect(before.kind).toBe("fault");
    expect(before.t).toBeGreaterThanOrEqual(300_000);
    expect(h.some((e) => e.t >= 420_000 && e.kind === "fault_cleared")).toBe(true);
  }, 120_000);

  it("a scenario that is not JSON: the file, line and column", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "iotfw-scenario-")), "broken.json");
    writeFileSync(file, '{\n  "name": "x",\n  "events": [\n  ]\n  "seed": 1\n}\n');
    const r = await runCli(["simulate", "--sensors", "1", "--duration", "1s", "--scenario", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot read scenario ${file}: line 5, column 3: `));
    const missing = await runCli(["simulate", "--sensors", "1", "--duration", "1s", "--scenario", "heat-wav"]);
    expect(missing.stderr).toMatch(/shipped scenarios: .*heat-wave/);
  }, 120_000);
});
