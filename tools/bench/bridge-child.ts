// Bench support for the bridge suite (issue 11): the bridge as its own process (`node bin/iotfw.js
// bridge`, as a user runs it), so its memory figures are its own and not the sending devices'; its
// RSS from /proc/<pid>/status; its counters and latency histogram from GET /metrics; and a fleet of
// TCP "devices" in the bench process that sends EVENT frames at a set rate or as fast as the bridge
// takes them. May touch: the child it starts (and stops), a temp spool folder, loopback sockets.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../host/repo-root.js";
import { TcpDevice, eventFrame, helloFrame, tempDir, waitFor } from "../../host/bridge/testing.js";
import { encodeFrame, tcpFrame } from "../../host/protocol/index.js";

const CLI = join(REPO_ROOT, "bin", "iotfw.js");
const MiB = 1024 * 1024;

export interface Memory { rss: number; hwm: number }
/** Latency histogram summed over upstreams: cumulative counts per upper bound (seconds). */
/** framesOut and the latency are the network upstreams'; the edge store's confirmations (--store) are
 *  `stored`, apart, so a bench with a store measures forwarding as one without. */
export interface Scrape { framesIn: number; framesOut: number; stored: number; buckets: Map<number, number>; count: number }

export class BridgeChild {
  private constructor(readonly proc: ChildProcess, readonly tcp: number, readonly http: number, readonly spool: string) {}

  /** `nodeArgs` go to node before the CLI (e.g. --cpu-prof when looking into a figure; default from
   *  IOTFW_BENCH_BRIDGE_NODE_ARGS, space-separated, to try a V8 flag on every figure). */
  static async start(upstream: string, extra: string[] = [], nodeArgs = (process.env.IOTFW_BENCH_BRIDGE_NODE_ARGS ?? "").split(" ").filter(Boolean)): Promise<BridgeChild> {
    const spool = tempDir("iotfw-bench-bridge-");
    const proc = spawn(process.execPath, [...nodeArgs, CLI, "bridge", "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0",
      "--upstream", upstream, "--spool", spool, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    proc.stderr!.on("data", (c: Buffer) => { err = (err + c.toString()).slice(-4000); }); // drained: a full pipe would stall it
    let out = "";
    const ready = await new Promise<{ tcp: number; http: number }>((resolve, reject) => {
      proc.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve(JSON.parse(line));
      });
      proc.once("exit", (code) => reject(new Error(`bridge exited with ${code}: ${err}`)));
    });
    return new BridgeChild(proc, ready.tcp, ready.http, spool);
  }

  /** VmRSS (now) and VmHWM (peak since start), MiB. */
  memory(): Memory {
    const s = readFileSync(`/proc/${this.proc.pid}/status`, "utf8");
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: (kib("VmRSS") * 1024) / MiB, hwm: (kib("VmHWM") * 1024) / MiB };
  }

  async scrape(): Promise<Scrape> {
    const text = await (await fetch(`http://127.0.0.1:${this.http}/metrics`)).text();
    const r: Scrape = { framesIn: 0, framesOut: 0, stored: 0, buckets: new Map(), count: 0 };
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      const v = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (line.includes('upstream="store"')) { if (line.startsWith("iotfw_bridge_frames_out_total")) r.stored += v; continue; }
      if (line.startsWith("iotfw_bridge_frames_in_total")) r.framesIn += v;
      else if (line.startsWith("iotfw_bridge_frames_out_total")) r.framesOut += v;
      else if (line.startsWith("iotfw_bridge_forward_latency_seconds_bucket")) {
        const le = /le="([^"]+)"/.exec(line)![1];
        const b = le === "+Inf" ? Infinity : Number(le);
        r.buckets.set(b, (r.buckets.get(b) ?? 0) + v);
      } else if (line.startsWith("iotfw_bridge_forward_latency_seconds_count")) r.count += v;
    }
    return r;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p.exitCode === null && p.signalCode === null) await new Promise<void>((resolve) => { p.once("exit", () => resolve()); p.kill("SIGTERM"); });
    rmSync(this.spool, { recursive: true, force: true });
  }
}

/** The p-th percentile (ms) of the latencies observed between two scrapes, linearly interpolated inside
 *  the histogram's bucket (bounds 1, 2.5, 5, 10, 25, 50, 100 ms ...): exact to the bucket, not better. */
export function histogramPercentile(before: Scrape, after: Scrape, p: number): number {
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const total = after.count - before.count;
  if (total <= 0) return NaN;
  const rank = (p / 100) * total;
  let lower = 0;
  let below = 0;
  for (const b of bounds) {
    const n = (after.buckets.get(b) ?? 0) - (before.buckets.get(b) ?? 0);
    if (n >= rank) return b === Infinity ? Infinity : (lower + ((rank - below) / Math.max(1, n - below)) * (b - lower)) * 1000;
    lower = b;
    below = n;
  }
  return Infinity;
}

/** Devices on TCP connections (`perConnection` device ids each), hello sent and forwarded first. */
export class Fleet {
  readonly seq: number[];
  private next = 0;
  private constructor(readonly conns: TcpDevice[], readonly ids: number[], readonly perConnection: number) {
    this.seq = ids.map(() => 0);
  }

  static async connect(b: BridgeChild, devices: number, perConnection: number, base = 0xb0000): Promise<Fleet> {
    const conns: TcpDevice[] = [];
    for (let i = 0; i < Math.ceil(devices / perConnection); i++) conns.push(await TcpDevice.connect(b.tcp));
    const ids = Array.from({ length: devices }, (_, i) => base + i);
    const f = new Fleet(conns, ids, perConnection);
    // One fleet per bridge child, so its counters start at zero.
    ids.forEach((d, i) => f.conn(i).send(helloFrame(d)));
    await waitFor(async () => (await b.scrape()).framesIn >= devices, "hellos accepted", 60_000);
    return f;
  }

  private conn(i: number): TcpDevice { return this.conns[Math.floor(i / this.perConnection)]; }

  /** `n` event frames, round-robin over the devices, written per connection in one chunk each. */
  send(n: number): boolean {
    const chunks = new Map<TcpDevice, Uint8Array[]>();
    for (let k = 0; k < n; k++) {
      const i = this.next++ % this.ids.length;
      const c = this.conn(i);
      let list = chunks.get(c);
      if (!list) chunks.set(c, (list = []));
      list.push(tcpFrame(encodeFrame(eventFrame(this.ids[i], ++this.seq[i]))));
    }
    let ok = true;
    for (const [c, list] of chunks) ok = c.socket.write(Buffer.concat(list)) && ok;
    return ok;
  }

  /** Send `perSecond` frames a second in 10 ms ticks until the returned stop is called. */
  pace(perSecond: number): () => void {
    const started = performance.now();
    let sent = 0;
    const t = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * perSecond) - sent;
      if (due > 0) { this.send(due); sent += due; }
    }, 10);
    return () => clearInterval(t);
  }

  get sent(): number { return this.seq.reduce((s, v) => s + v, 0); }

  close(): void { for (const c of this.conns) c.close(); }
}
