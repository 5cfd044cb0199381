// Issue 11, descriptor exhaustion: the `iotfw bridge` CLI as a child under a 64-descriptor limit, with
// --max-connections 10 and a short --idle-timeout. The CLI cannot start under 64 (host/cli/main.ts
// imports every command module at once and the ESM loader opens them all concurrently: EMFILE), so it
// starts under `ulimit -n 96` and, once ready, prlimit(1) lowers the running bridge's limit to 64. More idle connections than the cap (and than the
// descriptor limit) are opened: those past the cap are closed at once and counted, /health answers
// throughout, the idle ones time out (counted), and then a real device connects and its frames flow.
// May touch: temp folders, loopback ports, the bridge process it starts (and stops).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureCliBuilt } from "../cli/testing.js";
import { eventFrame, helloFrame, TcpDevice, tempDir, waitFor } from "./testing.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

const CAP = 10;
const EXTRA = 100; // past the cap, and more than the bridge's 64 descriptors
const IDLE = "2s"; // long enough that no held connection times out while the extra ones are refused

interface Ready { tcp: number; http: number }

async function startCli(args: string[]): Promise<{ child: ChildProcess; ready: Ready; stderr: () => string }> {
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("bash", ["-c", `ulimit -n 96 && exec '${process.execPath}' '${CLI}' bridge ${quoted}`], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => { stdout += c; });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => { stderr += c; });
  cleanups.push(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  }));
  const line = await waitFor(() => stdout.split("\n").find((l) => l.startsWith("{")) ?? (child.exitCode !== null ? "exit" : ""), "the bridge's ready line");
  if (line === "exit") throw new Error(`the bridge exited: ${stderr}`);
  execFileSync("prlimit", ["--pid", String(child.pid), "--nofile=64:64"]); // bash exec'd node: same pid
  expect(readFileSync(`/proc/${child.pid}/limits`, "utf8")).toMatch(/^Max open files\s+64\s+64/m);
  return { child, ready: JSON.parse(line) as Ready, stderr: () => stderr };
}

/** An idle connection: connects and sends nothing; records when the bridge closed it. */
function idle(port: number): { socket: Socket; closedAfter: () => number | null } {
  const t0 = Date.now();
  let closedAfter: number | null = null;
  const socket = createConnection({ host: "127.0.0.1", port });
  socket.on("error", () => undefined);
  socket.on("close", () => { closedAfter = Date.now() - t0; });
  cleanups.push(() => { socket.destroy(); });
  return { socket, closedAfter: () => closedAfter };
}

describe("bridge CLI under a 64-descriptor limit (issue 11)", () => {
  beforeAll(() => ensureCliBuilt());

  it("connections past --max-connections are closed at once and counted, /health answers, idle ones time out, a real device then connects", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, "out.ndjson");
    const { child, ready, stderr } = await startCli([
      "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", "--upstream", `file:${out}`, "--spool", join(dir, "spool"),
      "--max-connections", String(CAP), "--idle-timeout", IDLE,
    ]);
    const base = `http://127.0.0.1:${ready.http}`;
    const metric = async (name: string, label = ""): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(label ? `${name}{${label}}` : `${name} `));
      return line ? Number(line.split(" ").at(-1)) : 0;
    };

    const held = Array.from({ length: CAP }, () => idle(ready.tcp));
    await waitFor(async () => (await metric("iotfw_bridge_tcp_connections")) === CAP, `${CAP} connections open`);
    const extra = Array.from({ length: EXTRA }, () => idle(ready.tcp));
    await waitFor(() => extra.every((c) => c.closedAfter() !== null), `the ${EXTRA} connections past the cap closed`);
    expect(Math.max(...extra.map((c) => c.closedAfter()!))).toBeLessThan(2000); // closed at once, not timed out
    expect(await metric("iotfw_bridge_connections_refused_total", 'reason="connection_limit"')).toBe(EXTRA);
    expect(held.every((c) => c.closedAfter() === null)).toBe(true);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);

    // The held connections say nothing: closed after the idle timeout.
    await waitFor(() => held.every((c) => c.closedAfter() !== null), "the idle connections timed out");
    await waitFor(async () => (await metric("iotfw_bridge_connections_closed_total", 'reason="idle"')) === CAP, "idle closes counted");
    expect(await metric("iotfw_bridge_tcp_connections")).toBe(0);

    const dev = await TcpDevice.connect(ready.tcp);
    cleanups.push(() => dev.close());
    dev.send(helloFrame(0xc0ffee));
    dev.send(eventFrame(0xc0ffee, 1));
    const upstream = () => (existsSync(out) ? readFileSync(out, "utf8").split("\n").filter(Boolean) : []);
    await waitFor(() => upstream().length === 2, "the real device's frames upstream");
    expect(child.exitCode).toBeNull();
    expect(stderr()).toMatch(/10 connections open \(--max-connections\)/);
    expect(stderr().match(/--max-connections\)/g)).toHaveLength(1); // logged once
  }, 60_000);
});
