// `iotfw simulate` as a library, with the real app.wasm of the example apps: determinism across
// processes, hellos, the watchdog on a buggy app, a control frame changing a window, a scripted
// scenario's alert on time, and the dashboard showing that alert in a real browser.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chromium } from "playwright-core";
import { buildApp } from "../build/build.js";
import { REPO_ROOT } from "../repo-root.js";
import { encodeFrame, type Frame } from "../protocol/index.js";
import { Fleet } from "../../simulator/fleet/fleet.js";
import { FleetTelemetry } from "../../simulator/fleet/telemetry.js";
import type { ScenarioSpec } from "../../simulator/sensors/scenario.js";
import { simulate } from "./session.js";

const ENV_STATION = join(REPO_ROOT, "firmware", "apps", "env-station");
const CHROMIUM = "/usr/bin/chromium";
const tmp = () => mkdtempSync(join(tmpdir(), "iotfw-sim-"));

/** Every frame of a run as decoded objects, via the NDJSON the command writes. */
async function framesOf(options: Parameters<typeof simulate>[0]) {
  const out = join(tmp(), "frames.ndjson");
  const result = await simulate({ ...options, out, buildDir: tmp() });
  const lines = readFileSync(out, "utf8").trim().split("\n");
  return { result, raw: lines, frames: lines.map((l) => JSON.parse(l) as Record<string, unknown> & { type: string; device: number; t: number; seq: number }) };
}

describe("iotfw simulate", () => {
  it("same seed and boot-id seed: the same frames, byte for byte, with one process and with two", async () => {
    const base = { devices: 6, board: "esp32", durationMs: 180_000, speed: "max" as const, seed: 42, bootIdSeed: 7 };
    const one = await framesOf({ ...base, workers: 1, inProcess: true });
    const two = await framesOf({ ...base, workers: 2 });
    expect(two.result.shards).toBe(2);
    expect(one.raw.length).toBeGreaterThan(30);
    expect(two.raw).toEqual(one.raw);
    const other = await framesOf({ ...base, seed: 43, workers: 1, inProcess: true });
    expect(other.raw).not.toEqual(one.raw); // the seed matters
  });

  it("N devices send N hellos, then summaries with every env-station channel", async () => {
    const { frames, result } = await framesOf({ devices: 7, board: "esp32", durationMs: 61_000, speed: "max", seed: 1, inProcess: true, workers: 1 });
    const hellos = frames.filter((f) => f.type === "hello");
    expect(hellos.map((h) => h.device).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const channels = (hellos[0].channels as Array<{ name: string }>).map((c) => c.name);
    expect(channels).toEqual(["temperature", "humidity", "pressure", "temperature", "humidity", "illuminance", "co2", "noise"]);
    const summaries = frames.filter((f) => f.type === "summary");
    expect(summaries).toHaveLength(7); // one frame per device for the 60 s window
    expect((summaries[0].channels as unknown[]).length).toBe(8);
    expect(result.telemetry.counters.faults).toBe(0);
    expect(result.watchdogResets).toBe(0);
  });

  it("the watchdog resets a device that loops forever and one that traps; the others keep sending", async () => {
    const { frames, result } = await framesOf({
      devices: 5, board: "esp32", appDir: join(REPO_ROOT, "firmware", "apps", "_fixtures", "buggy"),
      durationMs: 30_000, speed: "max", seed: 1, inProcess: true, workers: 1,
    });
    expect(result.watchdogResets).toBe(2);
    const resets = frames.filter((f) => f.type === "event" && f.kind === "reset");
    // Each restarted device says why: code = reason (2 watchdog, 1 trap), right after its new hello.
    expect(resets.map((e) => [e.device, e.code])).toEqual([[3, 2], [4, 1]]);
    for (const id of [1, 2, 5]) {
      const sums = frames.filter((f) => f.type === "summary" && f.device === id);
      expect(sums.map((s) => s.t)).toEqual([10_000, 20_000, 30_000].slice(0, sums.length));
      expect(sums.length).toBeGreaterThanOrEqual(2);
    }
    // The restarted devices run on: hello again from seq 0, then summaries.
    for (const id of [3, 4]) {
      const mine = frames.filter((f) => f.device === id);
      expect(mine.filter((f) => f.type === "hello").length).toBe(2);
      expect(mine.filter((f) => f.type === "summary" && f.t > 10_000).length).toBeGreaterThanOrEqual(1);
    }
  });

  it("a control frame changes one device's window, mid-run, and the device acknowledges it", async () => {
    const built = await buildApp({ board: "esp32", appDir: ENV_STATION, outDir: tmp() });
    const hardware = built.manifest.app.hardware as never;
    const fleet = await Fleet.start({
      binary: built.binary, appHash: Buffer.from(built.manifest.sha256, "hex"), board: "esp32", devices: 3, inProcess: true,
      workers: 1, wiring: { hardware, seed: 5, adcBits: 12 },
    });
    const telemetry = new FleetTelemetry();
    const seen: Frame[] = [];
    const take = (batch: Parameters<FleetTelemetry["ingest"]>[0]) => { for (const d of telemetry.ingest(batch)) seen.push(d.frame); };
    try {
      take((await fleet.runUntil(30_000)).batch);
      const cmd = encodeFrame({ type: "control", device: 2, seq: 77, t: 0, op: "set_window", channel: 0xff, ms: 10_000, count: 0 });
      const reply = await fleet.control(2, cmd, 30_000);
      expect(reply.status).toBe(0);
      take(reply.batch);
      expect(seen.filter((f) => f.type === "ack")).toMatchObject([{ device: 2, ackedSeq: 77, result: 0 }]);
      take((await fleet.runUntil(125_000)).batch);
      const windows = (id: number) => seen.filter((f) => f.type === "summary" && f.device === id && f.t > 30_000).map((f) => (f as { windowMs: number }).windowMs);
      expect(windows(1)).toEqual([60_000, 60_000]); // untouched: 60 s windows at 60 s and 120 s
      expect(windows(2).length).toBeGreaterThanOrEqual(8); // 10 s windows from 30 s on
      expect(windows(2).slice(1).every((ms) => ms === 10_000)).toBe(true);
    } finally {
      await fleet.close();
    }
  });

  it("a scripted heat wave's alert arrives within one sample period of the crossing", async () => {
    // env-station alerts above 30 degC; the scenario lifts temperature by 15 degC in 1 ms at 90 s.
    const scenario: ScenarioSpec = { name: "step", seed: 3, events: [{ type: "ramp", metric: "temperature", atMs: 90_000, rampMs: 1, delta: 15 }] };
    const { frames } = await framesOf({ devices: 3, board: "esp32", durationMs: 120_000, speed: "max", seed: 9, scenario, inProcess: true, workers: 1 });
    for (const id of [1, 2, 3]) {
      const alert = frames.find((f) => f.device === id && f.type === "event" && f.kind === "alert_high" && f.t >= 90_000);
      expect(alert, `device ${id}`).toBeDefined();
      expect(alert!.t - 90_000).toBeLessThanOrEqual(1000 + 20); // one 1 s sample period (+ the BME280's conversion)
    }
  });

  it("a sensor unplugged by a scenario becomes fault events (never readings), cleared when it comes back", async () => {
    // Temperature is unplugged from 30 s to 90 s: the BME280 and SHT31 stop answering (NACK).
    const scenario: ScenarioSpec = { name: "unplug", seed: 3, events: [{ type: "unplug", metric: "temperature", atMs: 30_000, untilMs: 90_000 }] };
    const { frames } = await framesOf({ devices: 1, board: "esp32", durationMs: 121_000, speed: "max", seed: 9, scenario, inProcess: true, workers: 1 });
    const events = frames.filter((f) => f.type === "event");
    const faults = events.filter((e) => e.kind === "fault");
    expect(faults.map((e) => e.name).sort()).toEqual(["humidity", "humidity", "pressure", "temperature", "temperature"]);
    expect(faults.every((e) => e.code === -1 && e.t >= 30_000 && e.t <= 31_100)).toBe(true); // ERR_NACK, within a sample period
    expect(events.filter((e) => e.kind === "fault_cleared").length).toBe(5);
    // The window spanning the outage holds only the readings from before and after it.
    const second = frames.find((f) => f.type === "summary" && f.t === 120_000) as unknown as { channels: Array<{ name: string; count: number }> };
    expect(second.channels.find((c) => c.name === "temperature")!.count).toBe(30);
  });

  it("the dashboard shows a running fleet in a real browser, with the scenario's alert", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Debian's chromium at ${CHROMIUM}: apt-get install chromium`);
    const scenario: ScenarioSpec = { name: "step", seed: 3, events: [{ type: "ramp", metric: "temperature", atMs: 20_000, rampMs: 1, delta: 15 }] };
    const abort = new AbortController();
    let url!: (u: string) => void;
    const dashboardUrl = new Promise<string>((resolve) => (url = resolve));
    const running = simulate({
      devices: 4, board: "esp32", durationMs: Infinity, speed: 20, seed: 2, scenario, inProcess: true, workers: 1,
      dashboardPort: 0, buildDir: tmp(), signal: abort.signal, onDashboard: (u) => url(u),
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
    try {
      const page = await browser.newPage();
      await page.goto(await dashboardUrl);
      await page.locator('[data-testid=device-row][data-device="4"]').waitFor({ timeout: 30_000 });
      await page.locator('[data-testid=alert-row][data-kind="ALERT_HIGH"]').first().waitFor({ timeout: 30_000 });
      expect(await page.locator('[data-testid=alert-row][data-kind="ALERT_HIGH"]').first().getAttribute("data-channel-name")).toBe("temperature");
      await page.locator("[data-testid=chart][data-points]").first().waitFor({ timeout: 30_000 });
    } finally {
      await browser.close();
      abort.abort();
      await running;
    }
  });
});
