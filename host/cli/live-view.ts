// The status line `iotfw simulate` redraws on a terminal: device time and, with --duration, progress
// and the wall time left; frames with a true rate (over the last 10 s of wall time, so a fleet whose
// devices send once a minute does not read "0/s"); alerts, faults, resets; the latest values of a
// few channels. render() is pure (tests call it); LiveView writes to stderr. Touches stderr only.
import type { SimulateProgress } from "../simulate/session.js";

/** h:mm:ss */
export const clock = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};

const RATE_WINDOW_MS = 10_000;
const REDRAW_MS = 250;
const LATEST_SHOWN = 3;

export class LiveView {
  /** (wall ms, frames so far), oldest first, spanning about RATE_WINDOW_MS. */
  private readonly samples: Array<[number, number]> = [];
  private lastDraw = -Infinity;

  constructor(private readonly durationMs = Infinity, private readonly columns = () => process.stderr.columns ?? 120) {}

  /** The line for progress p at wall time nowMs (the performance.now() scale). */
  render(p: SimulateProgress, nowMs: number): string {
    const c = p.telemetry.counters;
    this.samples.push([nowMs, c.frames]);
    while (this.samples.length > 2 && nowMs - this.samples[1][0] >= RATE_WINDOW_MS) this.samples.shift();
    const [t0, f0] = this.samples[0];
    const rate = nowMs > t0 ? ((c.frames - f0) * 1000) / (nowMs - t0) : 0;
    const parts = [`device time ${clock(p.deviceMs)}${progress(p, this.durationMs)}`, `devices ${p.devices}`,
      `frames ${c.frames} (${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s)`, `alerts ${c.alerts}`, `faults ${c.faults}`, `resets ${p.watchdogResets}`];
    const latest = [...p.telemetry.latest].slice(0, LATEST_SHOWN).map(([name, v]) => `${name} ${round(v.value)} ${v.unit}`);
    if (latest.length) parts.push(latest.join(", "));
    const line = parts.join(" | ");
    const width = Math.max(20, this.columns() - 1);
    return line.length > width ? line.slice(0, width - 1) + "…" : line;
  }

  update(p: SimulateProgress): void {
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    process.stderr.write(`\r\x1b[2K${this.render(p, now)}`);
  }

  clear(): void { process.stderr.write("\r\x1b[2K"); }
}

/** " / 0:10:00 (12 %, 0:00:41 left)" for a run with a duration; "" for one until Ctrl-C. */
function progress(p: SimulateProgress, durationMs: number): string {
  if (!Number.isFinite(durationMs) || durationMs <= 0) return "";
  const done = Math.min(1, p.deviceMs / durationMs);
  const speed = p.wallMs > 0 ? p.deviceMs / p.wallMs : 0;
  const left = speed > 0 ? `, ${clock((durationMs - p.deviceMs) / speed)} left` : "";
  return ` / ${clock(durationMs)} (${Math.floor(done * 100)} %${left})`;
}

/** Three significant digits: what a status line has room for. */
function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}
