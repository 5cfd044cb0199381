// `iotfw simulate --shard K/N` and `--merge`, through the real CLI: three slices of one seeded fleet, run
// as three processes, merge into exactly the bytes of the one-machine run (frames of every type, with a
// scenario's faults and a buggy app's watchdog resets), their summaries add up to its summary, a slice of
// another run does not pass for one, and bad K/N are refused with a clear message.
// May touch: temp folders it creates, the CLI processes it starts.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../repo-root.js";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { contiguousSlice, sliceOf } from "../../simulator/fleet/fleet.js";
import { parseShard, shardDevices } from "./shard.js";

const tmp = () => mkdtempSync(join(tmpdir(), "iotfw-shard-"));

/** The run every machine is told: only --shard (and --out) differ between them. */
const RUN = (app: string) => ["simulate", "--app", app, "--sensors", "10", "--duration", "4m", "--speed", "max", "--seed", "11",
  "--boot-id-seed", "5", "--scenario", "sensor-faults", "--workers", "2"];

/** Frames and link bytes of a summary (stdout), to add the slices' up. */
function totals(summary: string): { devices: number; frames: number; linkBytes: number; alerts: number } {
  const m = /simulated (\d+) devices[\s\S]*frames {2}(\d+) .*?, (\d+) bytes on the link[\s\S]*alerts {2}(\d+)/.exec(summary);
  if (!m) throw new Error(`no summary in ${summary}`);
  return { devices: Number(m[1]), frames: Number(m[2]), linkBytes: Number(m[3]), alerts: Number(m[4]) };
}

async function runSlices(dir: string, args: string[], n: number): Promise<string[]> {
  const runs = await Promise.all(Array.from({ length: n }, (_, k) =>
    runCli([...args, "--shard", `${k + 1}/${n}`, "--out", join(dir, `part-${k + 1}.ndjson`)])));
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  return runs.map((r) => r.stdout);
}

describe("simulate --shard K/N", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("the split is the fleet's contiguous balanced one; K/N is checked", () => {
    for (const [count, n] of [[10, 3], [7, 7], [3000, 3], [5, 4]]) {
      const parts = Array.from({ length: n }, (_, k) => contiguousSlice(count, k, n));
      expect(parts[0][0]).toBe(0);
      expect(parts[n - 1][1]).toBe(count);
      for (let k = 0; k < n; k++) {
        expect(parts[k][1] - parts[k][0]).toBeGreaterThanOrEqual(Math.floor(count / n));
        if (k) expect(parts[k][0]).toBe(parts[k - 1][1]);
        for (let i = parts[k][0]; i < parts[k][1]; i++) expect(sliceOf(count, i, n)).toBe(k);
      }
    }
    expect(shardDevices(10, parseShard("2/3"))).toEqual({ firstDeviceId: 4, devices: 3 });
    expect(() => parseShard("0/3")).toThrow(/K must be from 1 to N/);
    expect(() => parseShard("4/3")).toThrow(/K must be from 1 to N/);
    expect(() => parseShard("1-3")).toThrow(/takes K\/N/);
    expect(() => shardDevices(2, parseShard("1/3"))).toThrow(/cannot make 3 slices/);
  });

  for (const app of ["env-station", "_fixtures/buggy"]) {
    it(`${app}: three slices as three processes merge into the one-machine run, byte for byte`, async () => {
      const dir = tmp();
      const args = RUN(join(REPO_ROOT, "firmware", "apps", app));
      const [one, slices] = await Promise.all([runCli([...args, "--out", join(dir, "one.ndjson")]), runSlices(dir, args, 3)]);
      expect(one.code, one.stderr).toBe(0);
      const merged = await runCli(["simulate", "--merge", ...[1, 2, 3].map((k) => join(dir, `part-${k}.ndjson`)), "--out", join(dir, "merged.ndjson")]);
      expect(merged.code, merged.stderr).toBe(0);
      const expected = readFileSync(join(dir, "one.ndjson"));
      expect(expected.length).toBeGreaterThan(1000);
      expect(readFileSync(join(dir, "merged.ndjson")).equals(expected)).toBe(true);
      // Each slice holds only its devices, with the one-machine ids.
      const devicesOf = (k: number) => new Set(readFileSync(join(dir, `part-${k}.ndjson`), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { device: number }).device));
      expect([...devicesOf(1)].sort((a, b) => a - b)).toEqual([1, 2, 3]);
      expect([...devicesOf(3)].sort((a, b) => a - b)).toEqual([7, 8, 9, 10]);
      if (app === "_fixtures/buggy") expect(expected.toString()).toMatch(/"kind":"reset"/); // resets do not break the order
      // The summaries' counters add up to the one-machine summary's.
      const sum = slices.map(totals).reduce((a, b) => ({ devices: a.devices + b.devices, frames: a.frames + b.frames, linkBytes: a.linkBytes + b.linkBytes, alerts: a.alerts + b.alerts }));
      expect(sum).toEqual(totals(one.stdout));
      expect(slices[1]).toMatch(/simulated 3 devices \(slice 2\/3 of 10: devices 4-6\)/);
    }, 180_000);
  }

  it("a wrong slice does not pass: another seed's slice differs, a slice given twice is refused", async () => {
    const dir = tmp();
    const args = RUN(join(REPO_ROOT, "firmware", "apps", "env-station"));
    const [one] = await Promise.all([runCli([...args, "--out", join(dir, "one.ndjson")]), runSlices(dir, args, 3)]);
    expect(one.code, one.stderr).toBe(0);
    const wrong = await runCli([...args.map((a) => (a === "11" ? "12" : a)), "--shard", "2/3", "--out", join(dir, "wrong-2.ndjson")]);
    expect(wrong.code, wrong.stderr).toBe(0);
    const merged = await runCli(["simulate", "--merge", join(dir, "part-1.ndjson"), join(dir, "wrong-2.ndjson"), join(dir, "part-3.ndjson")]);
    expect(merged.code, merged.stderr).toBe(0);
    const expected = readFileSync(join(dir, "one.ndjson"), "utf8");
    expect(merged.stdout).not.toBe(expected);
    // Only slice 2's devices differ: the others' lines are the one-machine run's.
    const outside = (text: string) => text.split("\n").filter((l) => l && ![4, 5, 6].includes((JSON.parse(l) as { device: number }).device));
    expect(outside(merged.stdout)).toEqual(outside(expected));
    const twice = await runCli(["simulate", "--merge", join(dir, "part-1.ndjson"), join(dir, "part-1.ndjson")]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/device 1 is in both .*part-1\.ndjson and .*part-1\.ndjson/);
    expect(twice.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);

  it("refuses a bad K/N and a shard without --boot-id-seed, clearly", async () => {
    const base = ["simulate", "--sensors", "3", "--duration", "1s", "--speed", "max"];
    for (const [flags, message] of [
      [["--shard", "4/3", "--boot-id-seed", "1"], /--shard 4\/3: K must be from 1 to N/],
      [["--shard", "0/2", "--boot-id-seed", "1"], /K must be from 1 to N/],
      [["--shard", "two", "--boot-id-seed", "1"], /--shard takes K\/N/],
      [["--shard", "1/4", "--boot-id-seed", "1"], /3 devices cannot make 4 slices/],
      [["--shard", "1/3"], /--shard needs --boot-id-seed/],
    ] as const) {
      const r = await runCli([...base, ...flags]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 120_000);
});
