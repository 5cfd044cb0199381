// The simulate status line (host/cli/live-view.ts): a true frame rate over the last 10 s, progress and
// time left with --duration, the latest channel values, cut to the terminal's width.
import { describe, expect, it } from "vitest";
import { FleetTelemetry } from "../../simulator/fleet/telemetry.js";
import type { SimulateProgress } from "../simulate/session.js";
import { LiveView } from "./live-view.js";

function progress(deviceMs: number, wallMs: number, frames: number): SimulateProgress {
  const telemetry = new FleetTelemetry();
  telemetry.counters.frames = frames;
  telemetry.latest.set("temperature", { value: 23.4567, unit: "°C" });
  telemetry.latest.set("humidity", { value: 51.25, unit: "%RH" });
  return { deviceMs, wallMs, devices: 50, telemetry, watchdogResets: 0 };
}

describe("simulate's live view", () => {
  it("rate over the last 10 s: frames that come once a minute still read as a rate, not 0/s", () => {
    const view = new LiveView(Infinity, () => 200);
    view.render(progress(0, 0, 0), 0);
    for (let s = 1; s <= 9; s++) view.render(progress(s * 1000, s * 1000, 50), s * 1000); // one burst at the start
    expect(view.render(progress(9_500, 9_500, 50), 9_500)).toMatch(/frames 50 \(5\.3\/s\)/);
    // 30 s later, nothing new for 10 s: the window has moved on, the rate falls to 0
    for (let s = 10; s <= 40; s++) view.render(progress(s * 1000, s * 1000, 50), s * 1000);
    expect(view.render(progress(40_500, 40_500, 50), 40_500)).toMatch(/\(0\.0\/s\)/);
  });

  it("with a duration: progress and the wall time left at the current speed", () => {
    const view = new LiveView(600_000, () => 200);
    // 2 min of device time in 6 s of wall time: 20x, 8 min of device time left = 24 s
    expect(view.render(progress(120_000, 6_000, 10), 6_000)).toMatch(/^device time 0:02:00 \/ 0:10:00 \(20 %, 0:00:24 left\) \| devices 50/);
  });

  it("the latest values, rounded for the line; cut to the terminal's width", () => {
    expect(new LiveView(Infinity, () => 200).render(progress(1000, 1000, 1), 1000)).toMatch(/temperature 23\.5 °C, humidity 51\.3 %RH$/);
    const narrow = new LiveView(Infinity, () => 40).render(progress(1000, 1000, 1), 1000);
    expect(narrow.length).toBe(39);
    expect(narrow.endsWith("…")).toBe(true);
  });
});
