// The dashboard page's logic: holds the fleet state fed by the server's /events stream (a snapshot on
// connect, then batches of DashboardEvents), lets the user pick which devices to chart (the first few
// by default; the server then streams only their summaries), and renders counters, charts, the alert
// list and a paged device table at most a few times a second, so thousands of devices stay fluid.
// Touches only this page's DOM and talks only to its own server.
import { drawChart, formatNumber, formatRate, formatTime } from "./chart.js";

/** Devices charted until the user picks some. */
const AUTO_DEVICES = 6;
/** Charts drawn at most at once (a choice of many devices shows the first ones). */
const MAX_CHARTS = 24;
const ALERT_ROWS = 200;
const TABLE_PAGE = 100;
const TABLE_EVERY_MS = 500;
/** A device heard from less recently than this (device time, behind the newest) counts as silent. */
const SILENT_AFTER_MS = 60_000;
const STATUS_RANK = { fault: 0, alert: 1, silent: 2, unknown: 3, sleeping: 4, ok: 5 };
const ALERTS_ONLY = new Set(["ALERT_HIGH", "ALERT_LOW", "CLEAR", "FAULT", "FAULT_CLEARED", "RESET"]);

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) node.append(c);
  return node;
};

const state = {
  session: 0, limits: { pointsPerSeries: 240, eventsKept: 500 }, t: 0, fleet: null,
  devices: new Map(), // id -> { id, hello, status, lastSeen, alerting: Map(channel -> event), fault }
  series: new Map(), // "device:channel" -> { device, channel, t[], count[], min[], max[], mean[], std[], last[] }
  events: [], // newest last
  chosen: readChosenFromHash(), // null: automatic choice
  subscribed: "", hiddenChannels: new Set(),
  received: 0, skipped: 0, tablePage: 0,
};
const dirty = { counters: true, charts: new Set(), chartLayout: true, alerts: true, table: true };
let lastTableMs = 0;
const chartCards = new Map(); // "device:channel" -> { card, canvas, last, meta }

function readChosenFromHash() {
  const m = /devices=([\d,]+)/.exec(location.hash);
  return m ? new Set(m[1].split(",").filter(Boolean).map(Number)) : null;
}

function device(id) {
  let d = state.devices.get(id);
  if (!d) { d = { id, hello: null, status: null, lastSeen: null, alerting: new Map(), fault: null }; state.devices.set(id, d); dirty.chartLayout = true; }
  return d;
}
const channelOf = (d, id) => d?.hello?.channels.find((c) => c.id === id);
const channelLabel = (d, id) => channelOf(d, id)?.name ?? (id === 255 ? "device" : `channel ${id}`);

// ---- state updates

function resetFrom(snapshot) {
  state.session = snapshot.session; state.limits = snapshot.limits; state.t = snapshot.t ?? 0; state.fleet = snapshot.fleet;
  state.devices.clear(); state.series.clear(); state.subscribed = "";
  for (const d of snapshot.devices) {
    state.devices.set(d.id, { id: d.id, hello: d.hello, status: d.status, lastSeen: d.lastSeen,
      alerting: new Map(d.alerting.map((e) => [e.channel, e])), fault: d.fault });
  }
  state.events = snapshot.events.slice(-state.limits.eventsKept);
  mergeSeries(snapshot.series);
  markAll();
}

/** History from the server wins; points received since that are newer are kept after it. */
function mergeSeries(list) {
  for (const h of list) {
    const key = `${h.device}:${h.channel}`;
    const had = state.series.get(key);
    const last = h.t.length ? h.t[h.t.length - 1] : -Infinity;
    if (had) for (let i = 0; i < had.t.length; i++) if (had.t[i] > last) appendPoint(h, had, i);
    state.series.set(key, trim(h));
    dirty.charts.add(key);
  }
}
const FIELDS = ["t", "count", "min", "max", "mean", "std", "last"];
function appendPoint(s, from, i) { for (const f of FIELDS) s[f].push(from[f][i]); }
function trim(s) {
  const extra = s.t.length - state.limits.pointsPerSeries;
  if (extra > 0) for (const f of FIELDS) s[f].splice(0, extra);
  return s;
}

function apply(e) {
  if (e.kind === "fleet") { state.fleet = e; state.t = Math.max(state.t, e.t); dirty.counters = true; return; }
  state.t = Math.max(state.t, e.t);
  const d = device(e.device);
  d.lastSeen = Math.max(d.lastSeen ?? -Infinity, e.t);
  dirty.table = true;
  if (e.kind === "hello") { d.hello = e; dirty.chartLayout = true; }
  else if (e.kind === "status") d.status = e;
  else if (e.kind === "summary") {
    const key = `${e.device}:${e.channel}`;
    let s = state.series.get(key);
    if (!s) { s = { device: e.device, channel: e.channel, t: [], count: [], min: [], max: [], mean: [], std: [], last: [] }; state.series.set(key, s); dirty.chartLayout = true; }
    if (s.t.length && e.t <= s.t[s.t.length - 1]) return; // already had it (history raced the stream)
    appendPoint(s, Object.fromEntries(FIELDS.map((f) => [f, [e[f]]])), 0);
    trim(s);
    dirty.charts.add(key);
  } else if (e.kind === "event") {
    if (e.event === "ALERT_HIGH" || e.event === "ALERT_LOW") d.alerting.set(e.channel, e);
    else if (e.event === "CLEAR") d.alerting.delete(e.channel);
    else if (e.event === "FAULT") d.fault = e;
    else if (e.event === "FAULT_CLEARED") d.fault = null;
    else if (e.event === "RESET") { d.alerting.clear(); d.fault = null; }
    state.events.push(e);
    if (state.events.length > state.limits.eventsKept) state.events.splice(0, state.events.length - state.limits.eventsKept);
    dirty.alerts = true; dirty.charts.add(`${e.device}:${e.channel}`); dirty.counters = true;
  }
}

function statusOf(d) {
  if (d.fault) return "fault";
  if (d.alerting.size) return "alert";
  if (!d.hello && !d.status) return "unknown";
  if (d.status?.sleeping) return "sleeping";
  if (d.lastSeen == null || state.t - d.lastSeen > SILENT_AFTER_MS) return "silent";
  return "ok";
}

// ---- which devices to chart

function chartedDevices() {
  if (state.chosen) return [...state.chosen].sort((a, b) => a - b);
  return [...state.devices.keys()].sort((a, b) => a - b).slice(0, AUTO_DEVICES);
}

/** Tell the server which devices' summaries to stream; it answers with their history. One request at
 *  a time, so the server's last word is the page's last choice. */
let subscribing = false;
async function subscribe() {
  const ids = chartedDevices().join(",") || "none";
  if (!state.session || ids === state.subscribed || subscribing) return;
  subscribing = true;
  state.subscribed = ids;
  const session = state.session;
  try {
    const res = await fetch(`/subscribe?session=${session}&devices=${ids}`, { method: "POST" });
    if (res.ok && session === state.session) mergeSeries((await res.json()).series);
    else if (session === state.session) state.subscribed = "";
  } catch {
    state.subscribed = ""; // the stream will reconnect and bring a new session
  } finally {
    subscribing = false;
  }
  dirty.chartLayout = true; // the choice may have changed meanwhile: render() subscribes again if so
  schedule();
}

function setChosen(chosen) {
  state.chosen = chosen;
  history.replaceState(null, "", chosen ? `#devices=${[...chosen].sort((a, b) => a - b).join(",")}` : location.pathname);
  markAll();
  subscribe();
}

// ---- rendering

function markAll() {
  dirty.counters = dirty.alerts = dirty.table = dirty.chartLayout = true;
  for (const key of state.series.keys()) dirty.charts.add(key);
  schedule();
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

function render(now) {
  scheduled = false;
  if (dirty.chartLayout) { dirty.chartLayout = false; layoutCharts(); subscribe(); }
  // Every chart's time axis ends at the newest device time: when that moves, all of them move.
  if (state.t !== drawnAtT) { drawnAtT = state.t; for (const key of chartCards.keys()) dirty.charts.add(key); }
  for (const key of dirty.charts) chartCards.has(key) && drawCard(key);
  dirty.charts.clear();
  if (dirty.counters) { dirty.counters = false; renderCounters(); }
  if (dirty.alerts) { dirty.alerts = false; renderAlerts(); }
  if (dirty.table) {
    if (now - lastTableMs >= TABLE_EVERY_MS) { dirty.table = false; lastTableMs = now; renderTable(); }
    else if (!tableTimer) tableTimer = setTimeout(() => { tableTimer = 0; schedule(); }, TABLE_EVERY_MS - (now - lastTableMs));
  }
}
let tableTimer = 0;
let drawnAtT = NaN;

function setText(id, text) { const node = $(id); if (node.textContent !== text) node.textContent = text; }

function renderCounters() {
  const f = state.fleet, devs = [...state.devices.values()];
  const alerting = devs.filter((d) => d.alerting.size).length, faulted = devs.filter((d) => d.fault).length;
  setText("fleet-time", formatTime(state.t));
  setText("fleet-devices", String(f?.devices ?? state.devices.size));
  setText("fleet-seen", `${state.devices.size} heard from`);
  setText("fleet-fps", f ? formatRate(f.framesPerSecond) : "–");
  setText("fleet-alerts", String(f?.alerts ?? state.events.filter((e) => e.event.startsWith("ALERT")).length));
  setText("fleet-alerting", `${alerting} alerting now`);
  setText("fleet-faults", String(f?.faults ?? state.events.filter((e) => e.event === "FAULT").length));
  setText("fleet-faulted", `${faulted} faulted now`);
  setText("fleet-resets", String(f?.resets ?? 0));
  setText("updates-received", String(state.received));
  setText("updates-skipped", state.skipped ? `${state.skipped} skipped (slow link)` : "since page opened");
  $("fleet-alerts").classList.toggle("nonzero", alerting > 0);
  $("fleet-faults").classList.toggle("nonzero", faulted > 0);
}

/** The charts to show, in device then channel order: frequent channels from the hello, else any series. */
function wantedCharts() {
  const out = [];
  for (const id of chartedDevices()) {
    const d = state.devices.get(id);
    const ids = d?.hello ? d.hello.channels.filter((c) => !c.rare).map((c) => c.id)
      : [...state.series.values()].filter((s) => s.device === id).map((s) => s.channel);
    for (const ch of ids.sort((a, b) => a - b)) if (!state.hiddenChannels.has(channelLabel(d, ch))) out.push([id, ch]);
  }
  return out;
}

function layoutCharts() {
  const wanted = wantedCharts();
  const shown = wanted.slice(0, MAX_CHARTS);
  const keys = new Set(shown.map(([d, c]) => `${d}:${c}`));
  for (const [key, card] of chartCards) if (!keys.has(key)) { card.card.remove(); chartCards.delete(key); }
  const box = $("charts");
  shown.forEach(([dev, ch], i) => {
    const key = `${dev}:${ch}`;
    let card = chartCards.get(key);
    if (!card) card = makeCard(dev, ch);
    if (box.children[i] !== card.card) box.insertBefore(card.card, box.children[i] ?? null);
    dirty.charts.add(key);
  });
  $("charts-empty").hidden = shown.length > 0;
  const capped = $("charts-capped");
  capped.hidden = wanted.length <= MAX_CHARTS;
  capped.textContent = `Showing ${MAX_CHARTS} of ${wanted.length} charts: choose fewer devices or hide channels.`;
  const ids = chartedDevices();
  setText("selection-info", `${state.chosen ? "chosen" : "automatic"}: device${ids.length === 1 ? "" : "s"} ${ids.join(", ") || "none"}`);
  renderChips();
}

function makeCard(dev, ch) {
  const d = state.devices.get(dev), c = channelOf(d, ch);
  const name = channelLabel(d, ch);
  const title = el("span", { className: "chart-title", title: `${d?.hello?.firmware ?? ""} on ${d?.hello?.board ?? "?"}` },
    `#${dev} · ${name} `, el("span", { className: "unit", textContent: c?.unit ? `(${c.unit})` : "" }));
  const last = el("span", { className: "chart-last" });
  const canvas = el("canvas");
  canvas.dataset.testid = "chart-canvas";
  const meta = el("div", { className: "chart-meta" });
  const card = el("div", { className: "chart" }, el("div", { className: "chart-head" }, title, last), canvas, meta);
  Object.assign(card.dataset, { testid: "chart", device: String(dev), channel: String(ch), channelName: name, points: "0" });
  const entry = { card, canvas, last, meta };
  chartCards.set(`${dev}:${ch}`, entry);
  return entry;
}

function drawCard(key) {
  const { card, canvas, last, meta } = chartCards.get(key);
  const s = state.series.get(key) ?? { t: [], count: [], min: [], max: [], mean: [], std: [], last: [] };
  const [dev, ch] = key.split(":").map(Number);
  const d = state.devices.get(dev), unit = channelOf(d, ch)?.unit ?? "";
  const markers = state.events.filter((e) => e.device === dev && e.channel === ch && (e.event.startsWith("ALERT") || e.event === "CLEAR"));
  const drawn = drawChart(canvas, s, markers, state.t);
  card.dataset.points = String(drawn);
  card.classList.toggle("alerting", d?.alerting.has(ch) ?? false);
  const n = s.t.length - 1;
  last.textContent = n >= 0 ? `${formatNumber(s.last[n])} ${unit}` : "";
  meta.textContent = n >= 0
    ? `window ${formatTime(s.t[n])}: mean ${formatNumber(s.mean[n])}, min ${formatNumber(s.min[n])}, max ${formatNumber(s.max[n])}, σ ${formatNumber(s.std[n])}, n=${s.count[n]}`
    : "no summaries yet";
}

function renderChips() {
  const names = new Set();
  for (const id of chartedDevices()) for (const c of state.devices.get(id)?.hello?.channels ?? []) if (!c.rare) names.add(c.name);
  const box = $("channel-chips");
  box.replaceChildren(...[...names].sort().map((name) => {
    const chip = el("button", { type: "button", className: "chip", textContent: name });
    chip.dataset.testid = "channel-chip";
    chip.setAttribute("aria-pressed", String(!state.hiddenChannels.has(name)));
    chip.onclick = () => { state.hiddenChannels.has(name) ? state.hiddenChannels.delete(name) : state.hiddenChannels.add(name); markAll(); };
    return chip;
  }));
}

function renderAlerts() {
  const all = $("show-values").checked;
  const rows = [];
  for (let i = state.events.length - 1; i >= 0 && rows.length < ALERT_ROWS; i--) {
    const e = state.events[i];
    if (!all && !ALERTS_ONLY.has(e.event)) continue;
    const d = state.devices.get(e.device), name = channelLabel(d, e.channel), unit = channelOf(d, e.channel)?.unit ?? "";
    const value = e.event === "FAULT" || e.event === "RESET" ? `code ${e.code}` : e.value == null ? "" : `${formatNumber(e.value)} ${unit}`;
    const li = el("li", {},
      el("span", { className: "what" }, el("span", { className: `kind ${e.event}`, textContent: e.event }), `#${e.device} ${name}`),
      el("span", { className: "value", textContent: value }),
      el("span", { className: "when", textContent: `device time ${formatTime(e.t)}` }));
    Object.assign(li.dataset, { testid: "alert-row", device: String(e.device), channel: String(e.channel), channelName: name, kind: e.event });
    rows.push(li);
  }
  $("alert-list").replaceChildren(...rows);
  $("alerts-empty").hidden = rows.length > 0;
}

function renderTable() {
  const filter = $("device-filter").value.trim().toLowerCase();
  const sort = $("device-sort").value;
  let devs = [...state.devices.values()].map((d) => ({ d, status: statusOf(d) }));
  if (filter) devs = devs.filter(({ d, status }) => `#${d.id} ${d.id} ${d.hello?.board ?? ""} ${d.hello?.firmware ?? ""} ${status}`.toLowerCase().includes(filter));
  const key = {
    id: ({ d }) => d.id, status: ({ status }) => STATUS_RANK[status], lastSeen: ({ d }) => d.lastSeen ?? -Infinity,
    frames: ({ d }) => d.status?.framesSent ?? 0, resets: ({ d }) => -(d.status?.resets ?? 0),
  }[sort];
  devs.sort((a, b) => key(a) - key(b) || a.d.id - b.d.id);
  const pages = Math.max(1, Math.ceil(devs.length / TABLE_PAGE));
  state.tablePage = Math.min(state.tablePage, pages - 1);
  const first = state.tablePage * TABLE_PAGE;
  setText("page-info", devs.length ? `${first + 1}–${Math.min(devs.length, first + TABLE_PAGE)} of ${devs.length}` : "0 devices");
  const charted = new Set(chartedDevices());
  $("device-table").tBodies[0].replaceChildren(...devs.slice(first, first + TABLE_PAGE).map(({ d, status }) => {
    const box = el("input", { type: "checkbox", checked: charted.has(d.id), title: "chart this device" });
    box.dataset.testid = "chart-toggle";
    box.onchange = () => {
      const next = new Set(chartedDevices());
      box.checked ? next.add(d.id) : next.delete(d.id);
      setChosen(next);
    };
    const behind = d.lastSeen == null ? 0 : state.t - d.lastSeen;
    const st = d.status, ago = behind >= 1000 ? ` · ${formatTime(behind)} ago` : "";
    const tr = el("tr", { className: charted.has(d.id) ? "charted" : "" },
      el("td", {}, box), el("td", { textContent: `#${d.id}` }),
      el("td", { textContent: d.hello?.board ?? "?" }), el("td", { textContent: d.hello?.firmware ?? "?" }),
      el("td", {}, el("span", { className: `status ${status}`, textContent: status })),
      el("td", { className: "num", textContent: st ? String(st.framesSent) : "–" }),
      el("td", { className: "num", textContent: st ? String(st.dropped) : "–" }),
      el("td", { textContent: `${formatTime(d.lastSeen)}${ago}` }),
      el("td", { className: "num", textContent: st ? String(st.resets) : "–" }),
      el("td", { textContent: st ? (st.sleeping ? "yes" : "no") : "–" }),
      el("td", { textContent: [...d.alerting.values()].map((e) => `${channelLabel(d, e.channel)} ${e.event === "ALERT_HIGH" ? "high" : "low"}`).join(", ") }));
    Object.assign(tr.dataset, { testid: "device-row", device: String(d.id), status });
    return tr;
  }));
}

// ---- wiring

function connect() {
  const conn = $("connection");
  const initial = state.chosen ? [...state.chosen].join(",") || "none" : "none";
  const source = new EventSource(`/events?devices=${initial}`);
  const setConn = (s, text) => { conn.dataset.state = s; conn.textContent = text; };
  source.addEventListener("snapshot", (m) => { resetFrom(JSON.parse(m.data)); setConn("live", "live"); });
  source.onmessage = (m) => {
    const batch = JSON.parse(m.data);
    for (const e of batch.events) apply(e);
    state.received += batch.events.length; state.skipped += batch.skipped;
    dirty.counters = true;
    schedule();
  };
  // EventSource reconnects by itself; the next snapshot replaces what we have.
  source.onerror = () => setConn(source.readyState === EventSource.CLOSED ? "lost" : "connecting", "reconnecting…");
}

$("selection-auto").onclick = () => setChosen(null);
$("show-values").onchange = () => { dirty.alerts = true; schedule(); };
$("device-filter").oninput = () => { state.tablePage = 0; dirty.table = true; lastTableMs = 0; schedule(); };
$("device-sort").onchange = () => { dirty.table = true; lastTableMs = 0; schedule(); };
$("page-prev").onclick = () => { state.tablePage = Math.max(0, state.tablePage - 1); dirty.table = true; lastTableMs = 0; schedule(); };
$("page-next").onclick = () => { state.tablePage++; dirty.table = true; lastTableMs = 0; schedule(); };
window.addEventListener("resize", markAll);
connect();
