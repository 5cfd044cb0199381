// Browser test of the live dashboard: the real page in Debian's chromium (driven by playwright-core)
// against the real server. Publishes hellos, summaries, statuses and an alert for two devices and checks
// what the page shows; a page opened late must show the same from the server's snapshot. Saves a
// screenshot to /tmp/dashboard.png for a human look. Waits only on DOM conditions, never on time.
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../random.js";
import { startDashboard, type Dashboard, type DashboardEvent } from "./server.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WINDOWS = 30;
const WINDOW_MS = 10_000;

const channels = [
  { id: 0, name: "temperature", unit: "°C", rare: false },
  { id: 1, name: "humidity", unit: "%", rare: false },
  { id: 2, name: "button", unit: "", rare: true },
];

/** Hellos, then WINDOWS summaries per frequent channel for devices 1 and 2, statuses and fleet counters. */
function fleetHistory(): DashboardEvent[] {
  const random = new Random(42);
  const rand = () => random.float();
  const out: DashboardEvent[] = [];
  for (const device of [1, 2]) out.push({ kind: "hello", device, t: 0, firmware: "env-station@0.1.0", board: "esp32", channels });
  for (let w = 1; w <= WINDOWS; w++) {
    const t = w * WINDOW_MS;
    for (const device of [1, 2]) {
      for (const [channel, base, spread] of [[0, 22 + device, 0.6], [1, 55, 3]] as const) {
        const mean = base + Math.sin(w / 5) * spread * 2 + (rand() - 0.5) * spread;
        const half = spread * (0.5 + rand());
        out.push({ kind: "summary", device, t, channel, count: 10, min: mean - half, max: mean + half, mean, std: half / 2, last: mean + (rand() - 0.5) * half });
      }
    }
    out.push({ kind: "fleet", t, devices: 2, framesPerSecond: 40, alerts: 0, faults: 0, resets: 0 });
  }
  for (const device of [1, 2]) {
    out.push({ kind: "status", device, t: WINDOWS * WINDOW_MS, samples: 300, dropped: 0, faults: 0, framesSent: 95 + device, resets: 0, sleeping: false });
  }
  return out;
}

const alertHigh: DashboardEvent = { kind: "event", device: 2, t: WINDOWS * WINDOW_MS + 500, channel: 0, event: "ALERT_HIGH", value: 31.5, code: 0 };

/** Pixels of the canvas that are not transparent, and those close to the mean line's colour. */
async function canvasInk(page: Page, device: number, channel: number): Promise<{ ink: number; mean: number; alert: number; total: number }> {
  return page.locator(`[data-testid=chart][data-device="${device}"][data-channel="${channel}"] canvas`).evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const near = (i: number, rgb: number) =>
      data[i + 3] > 200 && Math.abs(data[i] - (rgb >> 16)) < 40 && Math.abs(data[i + 1] - ((rgb >> 8) & 255)) < 40 && Math.abs(data[i + 2] - (rgb & 255)) < 40;
    let ink = 0, mean = 0, alert = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0) ink++;
      if (near(i, 0x1f5fbf)) mean++; // COLORS.mean in page/chart.js
      if (near(i, 0xc62828)) alert++; // COLORS.alertHigh
    }
    return { ink, mean, alert, total: data.length / 4 };
  });
}

/** Script errors and failed loads of each page opened by openPage. */
const errorsOf = new WeakMap<Page, string[]>();
const pageErrors = (page: Page): string[] => errorsOf.get(page) ?? [];

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  errorsOf.set(page, errors);
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(url);
  await page.locator('[data-testid=connection][data-state="live"]').waitFor();
  return page;
}

describe("dashboard in a real browser", () => {
  let dash: Dashboard;

  let browser: Browser | undefined;
  /** The browser, launched once; without chromium every test FAILS with this message (never skips). */
  const needBrowser = async (): Promise<Browser> => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the dashboard browser test needs Debian's chromium at ${CHROMIUM}: install it (apt-get install chromium)`);
    }
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    return browser;
  };

  beforeAll(async () => {
    dash = await startDashboard({ port: 0, flushMs: 50 });
  });
  afterAll(async () => {
    await browser?.close();
    await dash?.close();
  });

  it("charts summaries, lists an alert with its channel name, and restores both for a late page", async () => {
    const page = await openPage(await needBrowser(), dash.url);
    expect(await page.getByTestId("charts-empty").isVisible()).toBe(true);

    for (const e of fleetHistory()) dash.publish(e);
    // Two devices x two frequent channels (the rare button gets no chart), each with every window.
    for (const device of [1, 2]) {
      for (const channel of [0, 1]) {
        await page.locator(`[data-testid=chart][data-device="${device}"][data-channel="${channel}"][data-points="${WINDOWS}"]`).waitFor();
      }
    }
    expect(await page.getByTestId("chart").count()).toBe(4);
    expect(await page.locator('[data-testid=chart][data-channel="2"]').count()).toBe(0);
    const ink = await canvasInk(page, 1, 0);
    expect(ink.ink).toBeGreaterThan(ink.total * 0.05); // band, grid and labels
    expect(ink.mean).toBeGreaterThan(100); // the mean line itself
    expect(await page.locator('[data-testid=chart][data-device="1"][data-channel="0"]').innerText()).toContain("(°C)");

    dash.publish(alertHigh);
    dash.publish({ kind: "fleet", t: alertHigh.t, devices: 2, framesPerSecond: 41.7, alerts: 1, faults: 0, resets: 0 });
    const row = page.locator('[data-testid=alert-row][data-kind="ALERT_HIGH"][data-device="2"]');
    await row.waitFor();
    expect(await row.getAttribute("data-channel-name")).toBe("temperature");
    expect(await row.innerText()).toMatch(/ALERT_HIGH[\s\S]*#2 temperature[\s\S]*31\.50 °C/);
    await page.locator('[data-testid=device-row][data-device="2"][data-status="alert"]').waitFor();
    expect(await page.locator('[data-testid=device-row][data-device="1"]').getAttribute("data-status")).toBe("ok");
    await page.locator('[data-testid=fleet-alerts]:text-is("1")').waitFor();
    await page.locator('[data-testid=chart][data-device="2"][data-channel="0"].alerting').waitFor();
    expect((await canvasInk(page, 2, 0)).alert).toBeGreaterThan(20); // the alert's marker
    expect((await canvasInk(page, 1, 0)).alert).toBe(0);
    expect(await page.getByTestId("fleet-devices").innerText()).toBe("2");
    expect(await page.getByTestId("fleet-fps").innerText()).toBe("42");
    expect(await page.getByTestId("updates-skipped").innerText()).not.toContain("skipped");
    await page.screenshot({ path: "/tmp/dashboard.png", fullPage: true });

    // A page opened now has missed every event: the snapshot must bring them back.
    const late = await openPage(await needBrowser(), dash.url);
    for (const device of [1, 2]) {
      for (const channel of [0, 1]) {
        await late.locator(`[data-testid=chart][data-device="${device}"][data-channel="${channel}"][data-points="${WINDOWS}"]`).waitFor();
      }
    }
    const lateRow = late.locator('[data-testid=alert-row][data-kind="ALERT_HIGH"][data-device="2"]');
    await lateRow.waitFor();
    expect(await lateRow.getAttribute("data-channel-name")).toBe("temperature");
    await late.locator('[data-testid=device-row][data-device="2"][data-status="alert"]').waitFor();
    expect((await canvasInk(late, 2, 1)).mean).toBeGreaterThan(100);

    // /state holds the same, NaN statistics as null.
    dash.publish({ kind: "summary", device: 1, t: WINDOWS * WINDOW_MS + 10_000, channel: 1, count: 0, min: NaN, max: NaN, mean: NaN, std: NaN, last: NaN });
    const state = await (await fetch(new URL("/state", dash.url))).json();
    expect(state.devices.map((d: { id: number }) => d.id)).toEqual([1, 2]);
    expect(state.events).toEqual([alertHigh]);
    const humidity1 = state.series.find((s: { device: number; channel: number }) => s.device === 1 && s.channel === 1);
    expect(humidity1.t.length).toBe(WINDOWS + 1);
    expect(humidity1.mean.at(-1)).toBeNull();
    // The window without samples is a gap, not a crash.
    await late.locator(`[data-testid=chart][data-device="1"][data-channel="1"][data-points="${WINDOWS + 1}"]`).waitFor();

    expect(pageErrors(page)).toEqual([]);
    expect(pageErrors(late)).toEqual([]);
    await page.close();
    await late.close();
  });

  it("stays usable with 5,000 devices: a paged table, a few charts, a filter", async () => {
    const big = await startDashboard({ port: 0, flushMs: 50 });
    try {
      const page = await openPage(await needBrowser(), big.url);
      const DEVICES = 5_000;
      for (let device = 1; device <= DEVICES; device++) {
        big.publish({ kind: "hello", device, t: 0, firmware: "env-station@0.1.0", board: device % 2 ? "esp32" : "rpi", channels });
      }
      for (let w = 1; w <= 10; w++) {
        for (let device = 1; device <= DEVICES; device++) {
          for (const channel of [0, 1]) big.publish({ kind: "summary", device, t: w * WINDOW_MS, channel, count: 10, min: 20, max: 22, mean: 21 + Math.sin(w + device), std: 0.5, last: 21 });
        }
      }
      for (let device = 1; device <= DEVICES; device++) {
        big.publish({ kind: "status", device, t: 10 * WINDOW_MS, samples: 100, dropped: 0, faults: 0, framesSent: 12, resets: 0, sleeping: device === 4_321 });
      }
      big.publish({ kind: "event", device: 4_999, t: 10 * WINDOW_MS + 1, channel: 1, event: "ALERT_LOW", value: 12.5, code: 0 });
      await page.locator('[data-testid=page-info]:text-is("1–100 of 5000")').waitFor();
      expect(await page.getByTestId("device-row").count()).toBe(100);
      // Six devices charted by default, two frequent channels each, all with their ten windows.
      await page.locator('[data-testid=chart][data-device="6"][data-channel="1"][data-points="10"]').waitFor();
      expect(await page.getByTestId("chart").count()).toBe(12);
      await page.locator('[data-testid=alert-row][data-device="4999"][data-channel-name="humidity"]').waitFor();
      // Worst first: the alerting device leads the table.
      await page.getByTestId("device-sort").selectOption("status");
      await page.locator('[data-testid=device-row]:first-child[data-device="4999"][data-status="alert"]').waitFor();
      await page.getByTestId("device-filter").fill("sleeping");
      await page.locator('[data-testid=page-info]:text-is("1–1 of 1")').waitFor();
      expect(await page.locator('[data-testid=device-row][data-device="4321"]').getAttribute("data-status")).toBe("sleeping");
      expect(pageErrors(page)).toEqual([]);
      await page.close();
    } finally {
      await big.close();
    }
  });

  it("charts only the devices the user picks, with their history", async () => {
    const page = await openPage(await needBrowser(), dash.url);
    await page.locator('[data-testid=chart][data-device="1"]').first().waitFor();
    // Untick device 1: its charts go, device 2's stay.
    await page.locator('[data-testid=device-row][data-device="1"] [data-testid=chart-toggle]').uncheck();
    await page.locator('[data-testid=chart][data-device="1"]').first().waitFor({ state: "detached" });
    expect(await page.getByTestId("chart").count()).toBe(2);
    expect(page.url()).toContain("#devices=2");
    // Summaries of device 1 published meanwhile are not streamed to this page, but come back with its history.
    dash.publish({ kind: "summary", device: 1, t: WINDOWS * WINDOW_MS + 20_000, channel: 0, count: 10, min: 22, max: 24, mean: 23, std: 0.5, last: 23.1 });
    await page.locator('[data-testid=device-row][data-device="1"] [data-testid=chart-toggle]').check();
    await page.locator(`[data-testid=chart][data-device="1"][data-channel="0"][data-points="${WINDOWS + 1}"]`).waitFor();
    expect(await page.getByTestId("chart").count()).toBe(4);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
