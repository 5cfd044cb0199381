// Tests of scripted scenarios (scenario.ts): the city-station defaults, each scripted event through the
// signals it produces, the noisy bus through HalHost's I2C path, and the loader's validation messages.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Status } from "../hal/abi.generated.js";
import type { I2cTarget } from "../hal/buses.js";
import { emptyWiring, HalHost, VirtualClock } from "../hal/host.js";
import { CITY_STATION, EXAMPLE_SCENARIOS, loadScenario, parseScenario, Scenario, ScenarioError } from "./scenario.js";

const sample = (s: { at(t: number): number }, from: number, to: number, step = 1000) => {
  const xs: number[] = [];
  for (let t = from; t < to; t += step) xs.push(s.at(t));
  return xs;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => { const m = mean(xs); return Math.sqrt(mean(xs.map((x) => (x - m) ** 2))); };

describe("city-station scenario", () => {
  it("has the documented defaults and every metric runs near its mean +- std", () => {
    expect(CITY_STATION).toMatchObject({
      temperature: { mean: 25, std: 2 }, humidity: { mean: 60, std: 3 }, pressure: { mean: 1013, std: 2 },
      airQuality: { mean: 200, std: 20 }, pm: { mean: 30, std: 2 }, noise: { mean: 50, std: 3 }, illuminance: { mean: 500, std: 50 },
    });
    const scenario = new Scenario(EXAMPLE_SCENARIOS.calm, 1);
    for (const metric of Object.keys(CITY_STATION)) {
      const xs = sample(scenario.signal(metric), 0, 100_000_000);
      expect(Math.abs(mean(xs) - CITY_STATION[metric].mean), metric).toBeLessThan(0.1 * CITY_STATION[metric].std);
      expect(Math.abs(std(xs) / CITY_STATION[metric].std - 1), metric).toBeLessThan(0.05);
    }
  });

  it("is deterministic per (scenario, device) and differs between devices", () => {
    const a = sample(new Scenario(EXAMPLE_SCENARIOS.calm, 7).signal("pressure"), 0, 60_000);
    expect(sample(new Scenario(EXAMPLE_SCENARIOS.calm, 7).signal("pressure"), 0, 60_000)).toEqual(a);
    expect(sample(new Scenario(EXAMPLE_SCENARIOS.calm, 8).signal("pressure"), 0, 60_000)).not.toEqual(a);
    expect(() => new Scenario(EXAMPLE_SCENARIOS.calm).signal("wind")).toThrow(/unknown metric/);
  });
});

describe("scripted events", () => {
  it("heat wave: temperature rises by delta during the hold, then comes back", () => {
    const s = new Scenario(EXAMPLE_SCENARIOS.heatWave, 1).signal("temperature");
    const before = mean(sample(s, 0, 3_600_000));
    const hold = mean(sample(s, 10_800_000, 21_600_000));
    const after = mean(sample(s, 28_800_000, 40_000_000));
    expect(hold - before).toBeGreaterThan(12 - 0.5);
    expect(hold - before).toBeLessThan(12 + 0.5);
    expect(Math.abs(after - 25)).toBeLessThan(0.5);
  });

  it("unplugged: values until atMs, NaN from then on", () => {
    const s = new Scenario(EXAMPLE_SCENARIOS.unplugged, 1).signal("temperature");
    expect(sample(s, 0, 600_000).every((x) => Number.isFinite(x))).toBe(true);
    expect(sample(s, 600_000, 900_000).every((x) => Number.isNaN(x))).toBe(true);
    expect(Number.isFinite(new Scenario(EXAMPLE_SCENARIOS.unplugged, 1).signal("humidity").at(700_000))).toBe(true);
  });

  it("stuck: the value at atMs holds from then on", () => {
    const s = new Scenario(EXAMPLE_SCENARIOS.stuck, 1).signal("humidity");
    const before = sample(s, 0, 600_000);
    expect(new Set(before).size).toBeGreaterThan(100);
    const after = sample(s, 600_000, 900_000);
    expect(new Set(after).size).toBe(1);
  });

  it("noisy bus: fails the set fraction of I2C transactions with ERR_BUS, only inside its window", () => {
    const spec = parseScenario({ name: "bus", events: [{ type: "noisyBus", failRate: 0.25, atMs: 1000, untilMs: 2000, bus: 0 }] });
    const target: I2cTarget = { address: 0x76, present: () => true, write: () => Status.OK, read: () => Status.OK };
    const wiring = emptyWiring();
    wiring.i2c.set(0, [target]);
    wiring.i2c.set(1, [target]);
    wiring.i2cFault = new Scenario(spec, 3).busFault();
    const clock = new VirtualClock();
    const host = new HalHost({ deviceId: 1, board: "esp32", appHash: new Uint8Array(32), clock, wiring, onFrame: () => {} });
    host.bind(new WebAssembly.Memory({ initial: 1 }));
    for (const bus of [0, 1]) expect(host.i2c_setup(bus, 400_000)).toBe(Status.OK); // as a driver opens its bus
    const tally = (fromUs: number, toUs: number, bus: number) => {
      let fails = 0, n = 0;
      const statuses = new Set<number>();
      for (let us = fromUs; us < toUs; us += 50) {
        clock.us = us;
        const s = host.i2c_write(bus, 0x76, 0, 1);
        statuses.add(s);
        if (s === Status.ERR_BUS) fails++;
        n++;
      }
      for (const s of statuses) expect([Status.OK, Status.ERR_BUS]).toContain(s);
      return fails / n;
    };
    expect(tally(0, 1_000_000, 0)).toBe(0);
    expect(Math.abs(tally(1_000_000, 2_000_000, 0) - 0.25)).toBeLessThan(0.015);
    expect(tally(1_000_000, 2_000_000, 1)).toBe(0);
    expect(tally(2_000_000, 3_000_000, 0)).toBe(0);
    expect(new Scenario(EXAMPLE_SCENARIOS.calm).busFault()).toBeUndefined();
  });

  it("outliers example: about 1 % of steps are outliers", () => {
    const xs = sample(new Scenario(EXAMPLE_SCENARIOS.outliers, 1).signal("noise"), 0, 100_000_000);
    const rate = xs.filter((x) => Math.abs(x - 50) > 5.5 * 3).length / xs.length;
    expect(Math.abs(rate - 0.01)).toBeLessThan(0.002);
  });
});

describe("scenario loader", () => {
  it("accepts every example, also after a JSON round trip and from a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-scenario-"));
    for (const [name, spec] of Object.entries(EXAMPLE_SCENARIOS)) {
      expect(parseScenario(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(spec));
      expect(loadScenario(file)).toEqual(spec);
    }
    expect(parseScenario({ name: "co2 room", metrics: { co2: { mean: 600, std: 50, unit: "ppm" } },
      events: [{ type: "ramp", metric: "co2", atMs: 0, rampMs: 1000, delta: 400 }] }).metrics?.co2.mean).toBe(600);
  });

  const problems = (value: unknown): string[] => {
    try { parseScenario(value, "test.json"); } catch (e) { expect(e).toBeInstanceOf(ScenarioError); return (e as ScenarioError).problems; }
    return [];
  };

  it("names every problem with its path", () => {
    expect(problems([])).toEqual(["top level: must be an object"]);
    expect(problems({})).toEqual(["scenario.name: required, a non-empty string"]);
    expect(problems({ name: "x", seeed: 1 })[0]).toMatch(/^scenario\.seeed: unknown field/);
    expect(problems({ name: "x", stepMs: "1000" })).toEqual(['scenario.stepMs: must be a finite number (got "1000")']);
    expect(problems({ name: "x", metrics: { wind: { mean: 5 } } })[0]).toMatch(/^metrics\.wind: not a city-station metric .* mean and std are required/);
    expect(problems({ name: "x", metrics: { temperature: { recalibration: 0 } } })).toEqual(["metrics.temperature: recalibration must be in (0, 1] (got 0)"]);
    const many = problems({ name: "x", events: [
      { type: "heat", metric: "temperature" },
      { type: "ramp", metric: "temp", atMs: 0, rampMs: 10, delta: 1 },
      { type: "unplug", metric: "humidity" },
      { type: "stuck", metric: "pm", atMs: 100, untilMs: 50 },
      { type: "noisyBus", failRate: 2 },
    ] });
    expect(many).toEqual([
      'events[0].type: must be one of ramp, unplug, stuck, noisyBus (got "heat")',
      expect.stringMatching(/^events\[1\]\.metric: unknown metric "temp" \(known: temperature, /),
      "events[2].atMs: required for a unplug event",
      "events[3].untilMs: must be after atMs",
      "events[4].failRate: must be in [0, 1]",
    ]);
  });

  it("file errors name the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-scenario-"));
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ name: ");
    expect(() => loadScenario(bad)).toThrow(/bad\.json: invalid scenario:\n {2}not JSON/);
    expect(() => loadScenario(join(dir, "missing.json"))).toThrow(/missing\.json: invalid scenario:\n {2}cannot read/);
  });
});
