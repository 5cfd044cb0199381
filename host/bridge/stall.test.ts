// Issue 11: a flood of new device ids must not stall the bridge. A real bridge runs in-process with an
// NDJSON upstream; one TCP connection sends 3,000 HELLOs from distinct device ids in one write, while a
// separate process polls GET /health every 20 ms (a probe in this process would be blocked along with
// the bridge and under-report) and a "real" device sends a frame mid-flood.
// May touch: temp folders it creates, loopback ports, the probe process it starts.
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFrame, TCP_PREAMBLE, tcpFrame } from "../protocol/index.js";
import { Bridge } from "./bridge.js";
import { eventFrame, helloFrame, TcpDevice, tempDir, waitFor } from "./testing.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

const FLOOD = 3000;
const REAL = 0x5eed0001;

/** Reads only what was appended to a file since the last call (re-reading a growing 1 MB file every
 *  10 ms would itself load the event loop the test measures). */
function tail(path: string): () => string[] {
  let offset = 0;
  let rest = "";
  const buf = Buffer.alloc(1 << 20);
  return () => {
    let fd: number;
    try { fd = openSync(path, "r"); } catch { return []; }
    try {
      let n: number;
      while ((n = readSync(fd, buf, 0, buf.length, offset)) > 0) { offset += n; rest += buf.toString("utf8", 0, n); }
    } finally { closeSync(fd); }
    const lines = rest.split("\n");
    rest = lines.pop()!;
    return lines;
  };
}

/** A probe in its own process: GET /health every 20 ms, one latency (ms) per line on stdout. */
function startProbe(port: number): { samples: number[]; errors: string[]; stop: () => Promise<void> } {
  const script = `
    const url = "http://127.0.0.1:${port}/health";
    (async () => { for (;;) {
      const t0 = performance.now();
      let error = "";
      try { await (await fetch(url)).text(); } catch (e) { error = " " + String(e && e.cause || e); }
      process.stdout.write((performance.now() - t0).toFixed(1) + error + "\\n");
      await new Promise((r) => setTimeout(r, 20));
    } })();`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const samples: number[] = [];
  const errors: string[] = [];
  let rest = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const l of lines) {
      samples.push(Number.parseFloat(l));
      if (/ /.test(l)) errors.push(l);
    }
  });
  return {
    samples, errors,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    }),
  };
}

describe("bridge under a flood of new devices (issue 11)", () => {
  it("3,000 HELLOs from one connection: /health stays responsive and a real device's frame is forwarded within 1 s", async () => {
    const spoolDir = tempDir();
    const out = join(tempDir(), "out.ndjson");
    const b = await Bridge.start({ spoolDir, listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`], http: "127.0.0.1:0", log: () => undefined });
    cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }), () => b.stop());

    const probe = startProbe(b.httpAddress!.port);
    cleanups.push(() => probe.stop());
    await waitFor(() => probe.samples.length >= 3, "the probe's first answers");
    // The first requests include the probe's own warm-up (loading fetch, connecting): not measured.
    const idle = Math.max(...probe.samples.slice(1));

    const real = await TcpDevice.connect(b.tcpAddress!.port);
    cleanups.push(() => real.close());
    real.send(helloFrame(REAL));
    const lines = tail(out);
    let forwarded = 0;
    let realEvent = false;
    const read = () => {
      for (const l of lines()) {
        forwarded++;
        if (l.includes(`"device":"5eed0001"`) && l.includes(`"type":"event"`)) realEvent = true;
      }
    };
    await waitFor(() => (read(), forwarded === 1), "the real device's hello upstream");

    // The flood: 3,000 distinct ids in one write (~0.4 MB), as in the issue.
    const flood = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: "127.0.0.1", port: b.tcpAddress!.port }, () => resolve(s));
      s.once("error", reject);
    });
    cleanups.push(() => { flood.destroy(); });
    const frames = [Buffer.from(TCP_PREAMBLE)];
    for (let i = 0; i < FLOOD; i++) frames.push(Buffer.from(tcpFrame(encodeFrame(helloFrame(0x10000 + i)))));
    const firstFloodProbe = probe.samples.length;
    const sentAt = Date.now();
    flood.write(Buffer.concat(frames));

    // Mid-flood: once the bridge knows a few hundred of the flood's devices, the real device speaks.
    await waitFor(() => (b.health().devices as number) > 300, "the flood under way", 120_000);
    const midFlood = (b.health().devices as number) - 1;
    const t0 = Date.now();
    real.send(eventFrame(REAL, 1));
    await waitFor(() => (read(), realEvent), "the real device's event upstream", 120_000);
    const realMs = Date.now() - t0;
    await waitFor(() => (read(), forwarded === FLOOD + 2), "every flood HELLO upstream", 120_000);
    const floodMs = Date.now() - sentAt;
    const atEnd = probe.samples.length;
    await waitFor(() => probe.samples.length >= atEnd + 3, "a few probes after the flood");
    const worst = Math.max(...probe.samples.slice(firstFloodProbe));

    console.log(`issue 11 flood: ${FLOOD} HELLOs forwarded in ${floodMs} ms; worst /health ${worst.toFixed(1)} ms ` +
      `(idle ${idle.toFixed(1)} ms, ${probe.samples.length - firstFloodProbe} probes during it${probe.errors.length ? `, errors: ${probe.errors.join("; ")}` : ""}); real device's event sent after ${midFlood} flood devices, upstream in ${realMs} ms`);
    expect(b.health().devices).toBe(FLOOD + 1);
    expect(worst).toBeLessThan(250);
    expect(realMs).toBeLessThan(1000);
  }, 180_000);
});
