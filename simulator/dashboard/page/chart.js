// Line charts on <canvas> for the dashboard page: one series of window summaries per chart, the mean as
// a line over a shaded min..max band, a break where a window had no samples (NaN/null statistics),
// alert times as red markers. Also the page's number and time formatting. Pure drawing: touches only
// the canvas it is given.

export const COLORS = {
  mean: "#1f5fbf", band: "rgba(31, 95, 191, 0.16)", grid: "#e3e6ea", axis: "#5b6470",
  alertHigh: "#c62828", alertLow: "#8e24aa", clear: "#2e7d32",
};

/** Device time in ms as m:ss (h:mm:ss past an hour). */
export function formatTime(ms) {
  if (ms == null || !Number.isFinite(ms)) return "–";
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? h + ":" : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/** A rate: whole numbers once it is large enough for decimals to be noise. */
export function formatRate(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  return v >= 10 ? Math.round(v).toLocaleString("en") : v.toFixed(1);
}

/** A reading with as many digits as its size deserves; "–" when missing. */
export function formatNumber(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 10000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1 || a === 0) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Round tick positions covering [lo, hi], about `target` of them (1-2-5 steps), and the decimals
 *  their labels need. */
function niceTicks(lo, hi, target) {
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { ticks, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

/** Time tick steps a reader expects (seconds): 1, 2, 5, 10, 15, 30 s, 1, 2, 3, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, days. */
const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** Tick times (ms) covering [t0, t1] at a time-friendly step, about `target` of them. */
function timeTicks(t0, t1, target) {
  const raw = (t1 - t0) / 1000 / Math.max(1, target);
  const step = (TIME_STEPS_S.find((s) => s >= raw) ?? Math.ceil(raw / 86400) * 86400) * 1000;
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return ticks;
}

const finite = (v) => v != null && Number.isFinite(v);

/** Data range of the series: x over t up to `now`, y over min..max (mean when the band is missing). */
function extent(s, now) {
  let y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < s.t.length; i++) {
    for (const v of [s.min[i], s.max[i], s.mean[i]]) if (finite(v)) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
  }
  if (y0 === Infinity) { y0 = 0; y1 = 1; }
  const pad = y1 > y0 ? (y1 - y0) * 0.08 : Math.max(Math.abs(y0) * 0.05, 0.5);
  let x0 = s.t[0] ?? 0, x1 = Math.max(s.t[s.t.length - 1] ?? 1, finite(now) ? now : -Infinity);
  if (x1 <= x0) { x0 -= 1000; x1 += 1000; }
  return { x0, x1, y0: y0 - pad, y1: y1 + pad };
}

/**
 * Draw `series` ({t, min, max, mean} arrays of equal length) into `canvas`, sized to its CSS box.
 * `markers`: [{t, event}] device events to mark (ALERT_HIGH, ALERT_LOW, CLEAR). `now`: the newest device
 * time, where the time axis ends (a series that stopped shows as stopped). Returns the number of points
 * drawn.
 */
export function drawChart(canvas, series, markers = [], now = undefined) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 300, cssH = canvas.clientHeight || 150;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  g.font = "11px system-ui, 'Liberation Sans', sans-serif";
  const n = series.t.length;
  if (n === 0) {
    g.fillStyle = COLORS.axis;
    g.fillText("no summaries yet", 8, cssH / 2);
    return 0;
  }
  const { x0, x1, y0, y1 } = extent(series, now);
  const { ticks: yTicks, decimals } = niceTicks(y0, y1, 4);
  const yLabel = (v) => v.toFixed(Math.min(decimals, 6));
  const labelW = Math.max(...yTicks.map((v) => g.measureText(yLabel(v)).width));
  const box = { left: Math.ceil(labelW) + 10, right: cssW - 8, top: 6, bottom: cssH - 18 };
  const X = (t) => box.left + ((t - x0) / (x1 - x0)) * (box.right - box.left);
  const Y = (v) => box.bottom - ((v - y0) / (y1 - y0)) * (box.bottom - box.top);

  // Grid and axis labels.
  g.strokeStyle = COLORS.grid; g.fillStyle = COLORS.axis; g.lineWidth = 1;
  g.textAlign = "right"; g.textBaseline = "middle";
  for (const v of yTicks) {
    const y = Math.round(Y(v)) + 0.5;
    g.beginPath(); g.moveTo(box.left, y); g.lineTo(box.right, y); g.stroke();
    g.fillText(yLabel(v), box.left - 5, y);
  }
  g.textBaseline = "top";
  const xTicks = timeTicks(x0, x1, Math.max(2, Math.floor((box.right - box.left) / 55)));
  for (const t of xTicks) {
    const x = X(t);
    g.textAlign = x < box.left + 20 ? "left" : x > box.right - 20 ? "right" : "center";
    g.fillText(formatTime(t), x, box.bottom + 4);
  }

  // Min..max band and mean line, each broken where a window had no valid sample.
  g.save();
  g.beginPath(); g.rect(box.left, box.top - 2, box.right - box.left + 2, box.bottom - box.top + 4); g.clip();
  for (const [from, to] of runs(series)) {
    g.beginPath();
    for (let i = from; i < to; i++) g.lineTo(X(series.t[i]), Y(series.max[i]));
    for (let i = to - 1; i >= from; i--) g.lineTo(X(series.t[i]), Y(series.min[i]));
    g.closePath(); g.fillStyle = COLORS.band; g.fill();
    g.beginPath();
    for (let i = from; i < to; i++) g.lineTo(X(series.t[i]), Y(series.mean[i]));
    g.strokeStyle = COLORS.mean; g.lineWidth = 1.75; g.lineJoin = "round"; g.stroke();
    if (to - from === 1) { g.fillStyle = COLORS.mean; g.fillRect(X(series.t[from]) - 2, Y(series.mean[from]) - 2, 4, 4); }
  }
  for (const m of markers) {
    if (m.t < x0 || m.t > x1) continue;
    const x = Math.min(Math.round(X(m.t)), box.right - 1);
    g.strokeStyle = m.event === "ALERT_HIGH" ? COLORS.alertHigh : m.event === "ALERT_LOW" ? COLORS.alertLow : COLORS.clear;
    g.setLineDash([4, 3]); g.lineWidth = 2;
    g.beginPath(); g.moveTo(x, box.top); g.lineTo(x, box.bottom); g.stroke();
    g.setLineDash([]);
  }
  g.restore();
  g.strokeStyle = COLORS.axis; g.lineWidth = 1;
  g.beginPath(); g.moveTo(box.left + 0.5, box.top); g.lineTo(box.left + 0.5, box.bottom + 0.5); g.lineTo(box.right, box.bottom + 0.5); g.stroke();
  return n;
}

/** [from, to) index ranges of consecutive windows whose mean is known. */
function runs(s) {
  const out = [];
  let from = -1;
  for (let i = 0; i <= s.t.length; i++) {
    const ok = i < s.t.length && finite(s.mean[i]) && finite(s.min[i]) && finite(s.max[i]);
    if (ok && from < 0) from = i;
    if (!ok && from >= 0) { out.push([from, i]); from = -1; }
  }
  return out;
}
