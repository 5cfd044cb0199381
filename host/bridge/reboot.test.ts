// Issue 11: a rebooted device's frames are never taken for duplicates, even when its boot frames are
// byte for byte those of the last boot but for the boot id (docs/protocol.md "Boot id"). The same
// simulated fleet, same --seed, is run twice with `iotfw simulate --bridge` against one spool, the bridge
// restarted in between (its de-duplication rebuilt from the spool): every device's HELLO (seq 0) and
// STATUS (seq 1) is forwarded twice and nothing counts as a duplicate. Then the control: two runs with
// the same --boot-id-seed are the same boots, and the bridge drops the second as a replay.
// May touch: temp folders it creates, loopback ports, the CLI processes it starts.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { Bridge } from "./bridge.js";
import { tempDir, waitFor } from "./testing.js";

const DEVICES = 8;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

interface Forwarded { type: string; device: string; seq: number; bootId?: string }

const forwarded = (path: string): Forwarded[] => {
  try { return readFileSync(path, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Forwarded); } catch { return []; }
};

async function duplicates(b: Bridge): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${b.httpAddress!.port}/metrics`)).text();
  const m = /^iotfw_bridge_duplicates_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe("a rebooted device against the same spool", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  /** Run the fleet once against a bridge on `port` (extra simulate flags); the frames it sent, as its
   *  own NDJSON (--out) lists them. */
  async function simulateOnce(port: number, flags: string[]): Promise<Forwarded[]> {
    const sent = join(tempDir(), "sent.ndjson");
    const r = await runCli(["simulate", "--sensors", String(DEVICES), "--duration", "25s", "--speed", "max", "--seed", "5",
      "--workers", "1", "--bridge", `tcp://127.0.0.1:${port}`, "--out", sent, ...flags]);
    expect(r.code, r.stderr).toBe(0);
    return forwarded(sent);
  }

  /** One bridge life on spoolDir: run the fleet, wait until everything it sent is upstream (earlier
   *  lives' frames included: `already`). */
  async function runFleet(spoolDir: string, out: string, flags: string[], already = 0) {
    const b = await Bridge.start({ spoolDir, listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`], http: "127.0.0.1:0", log: () => undefined });
    try {
      const sent = await simulateOnce(b.tcpAddress!.port, flags);
      expect(sent.length).toBeGreaterThan(2 * DEVICES);
      await waitFor(() => forwarded(out).length >= already + sent.length, `${already + sent.length} messages upstream`, 30_000);
      return { sent: sent.length, duplicates: await duplicates(b) };
    } finally {
      await b.stop();
    }
  }

  it("same seed, new boots: every HELLO and STATUS forwarded again, none taken for a duplicate", async () => {
    const spoolDir = tempDir();
    const out = join(tempDir(), "out.ndjson");
    cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));

    const first = await runFleet(spoolDir, out, []);
    expect(first.duplicates).toBe(0);
    const second = await runFleet(spoolDir, out, [], first.sent);
    expect(second.duplicates).toBe(0);
    expect(second.sent).toBe(first.sent); // the same readings: only the boot ids differ

    const all = forwarded(out);
    const hellos = all.filter((f) => f.type === "hello");
    expect(hellos).toHaveLength(2 * DEVICES);
    expect(all.filter((f) => f.type === "status" && f.seq === 1)).toHaveLength(2 * DEVICES);
    for (let id = 1; id <= DEVICES; id++) {
      const mine = hellos.filter((h) => parseInt(h.device, 16) === id);
      expect(mine.map((h) => h.seq)).toEqual([0, 0]);
      expect(mine[0].bootId).toMatch(/^[0-9a-f]{8}$/);
      expect(mine[1].bootId).not.toBe(mine[0].bootId); // the only bytes that differ between the two boots
    }
  }, 180_000);

  it("the same --boot-id-seed twice: the same boots, so the bridge drops the re-run as a replay", async () => {
    const spoolDir = tempDir();
    const out = join(tempDir(), "out.ndjson");
    cleanups.push(() => rmSync(spoolDir, { recursive: true, force: true }));

    await runFleet(spoolDir, out, ["--boot-id-seed", "77"]);
    const before = forwarded(out).length;
    const b = await Bridge.start({ spoolDir, listen: "tcp://127.0.0.1:0", upstreams: [`file:${out}`], http: "127.0.0.1:0", log: () => undefined });
    try {
      const sent = await simulateOnce(b.tcpAddress!.port, ["--boot-id-seed", "77"]);
      expect(sent).toHaveLength(before);
      await waitFor(async () => (await duplicates(b)) >= before, `${before} duplicates counted`, 30_000);
      expect(await duplicates(b)).toBe(before);
      expect(forwarded(out)).toHaveLength(before);
    } finally {
      await b.stop();
    }
  }, 180_000);
});
