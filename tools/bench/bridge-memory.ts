// The bridge's memory figures (issue 11 "Bounded memory"), with the bridge alone in a child process and
// the devices in the bench: RSS over a soak of 2,000 devices at 5,000 frames/s into mosquitto QoS 1
// (duration IOTFW_BENCH_BRIDGE_SOAK_S, default 60 s; the figure is 600 s; target <= 128 MiB),
// and RSS holding a backlog of 1,000,000 frames with the broker down (target <= 160 MiB).
// Touches: the child bridges, their temp spools, loopback sockets.
import { freePort, waitFor } from "../../host/bridge/testing.js";
import { BridgeChild, Fleet } from "./bridge-child.js";
import type { BenchResult } from "./result.js";

const SOAK_DEVICES = 2000;
const SOAK_RATE = 5000;
const SAMPLE_MS = 5000;
const BACKLOG = 1_000_000;
const BACKLOG_DEVICES = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f0 = (v: number) => v.toFixed(0);

/** One device per connection, as `iotfw simulate --bridge` and most fleets connect. */
export async function soak(brokerUrl: string, seconds: number): Promise<BenchResult[]> {
  const b = await BridgeChild.start(brokerUrl, ["--max-connections", String(SOAK_DEVICES + 100)]);
  try {
    const idle = b.memory();
    const fleet = await Fleet.connect(b, SOAK_DEVICES, 1);
    const connected = b.memory();
    const stop = fleet.pace(SOAK_RATE);
    const samples: number[] = [];
    const started = performance.now();
    try {
      while (performance.now() - started < seconds * 1000) {
        await sleep(Math.min(SAMPLE_MS, seconds * 1000 - (performance.now() - started)));
        samples.push(b.memory().rss);
      }
    } finally { stop(); }
    const sent = fleet.sent;
    await waitFor(async () => (await b.scrape()).framesOut >= sent + SOAK_DEVICES, "the soak's frames forwarded", 60_000);
    const end = b.memory();
    fleet.close();
    const q = (p: number) => f0(samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]);
    return [{
      name: `bridge process RSS after a ${seconds} s soak, ${SOAK_DEVICES} devices at ${SOAK_RATE} frames/s`, value: samples[samples.length - 1], unit: "MiB",
      baseline: connected.rss, ratio: samples[samples.length - 1] / connected.rss,
      note: `child process, /proc VmRSS; idle ${f0(idle.rss)}, baseline: devices connected ${f0(connected.rss)}; at 25/50/75 % ${q(0.25)}/${q(0.5)}/${q(0.75)}; `
        + `peak (VmHWM) ${f0(end.hwm)} MiB; ${sent} frames, one TCP connection per device; target <= 128 MiB`,
    }];
  } finally { await b.stop(); }
}

/** The broker is down (nothing listens on the upstream's port): everything stays in the spool. */
export async function backlog(): Promise<BenchResult[]> {
  const b = await BridgeChild.start(`mqtt://127.0.0.1:${await freePort()}`, ["--spool-max", "2G"]);
  try {
    const fleet = await Fleet.connect(b, BACKLOG_DEVICES, 10);
    const started = performance.now();
    // As fast as the bridge takes them: write until a socket's buffer is full, then wait for it to drain.
    while (fleet.sent < BACKLOG) {
      if (!fleet.send(Math.min(6000, BACKLOG - fleet.sent))) {
        await Promise.all(fleet.conns.filter((c) => c.socket.writableNeedDrain).map((c) => new Promise((r) => c.socket.once("drain", r))));
      }
    }
    await waitFor(async () => (await b.scrape()).framesIn >= BACKLOG + BACKLOG_DEVICES, "the backlog accepted", 180_000);
    const seconds = (performance.now() - started) / 1000;
    const held = b.memory();
    await sleep(3000);
    const later = b.memory();
    fleet.close();
    return [{
      name: `bridge process RSS holding a backlog of ${BACKLOG.toLocaleString("en-US")} frames, broker down`, value: held.rss, unit: "MiB",
      note: `child process, /proc VmRSS once all were accepted; ${f0(later.rss)} MiB 3 s later; peak (VmHWM) ${f0(later.hwm)} MiB; `
        + `${BACKLOG_DEVICES} devices on ${fleet.conns.length} connections, accepted in ${seconds.toFixed(1)} s (${f0(BACKLOG / seconds)} frames/s into the spool); target <= 160 MiB`,
    }];
  } finally { await b.stop(); }
}
