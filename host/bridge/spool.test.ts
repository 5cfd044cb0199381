// The spool and de-duplication on their own: durable appends read back in order, replay of what was
// not acknowledged after a reopen, a read-ahead reader given records before their commit, a torn tail (crash mid-write) cut off, the drop-oldest size bound,
// and the (device, session, seq) decisions including device reboots.
import { appendFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Dedupe, DEDUPE_WINDOW } from "./dedupe.js";
import { MIN_SPOOL_BYTES, Spool, spoolDiskBytes, type SpoolEntry } from "./spool.js";
import { tempDir, waitFor } from "./testing.js";

const dirs: string[] = [];
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const body = (i: number) => Buffer.from(`record ${i}`);
const text = (es: SpoolEntry[]) => es.map((e) => e.body.toString());

describe("Spool", () => {
  it("appends durably and hands records to each reader in order", async () => {
    const s = await Spool.open(dir(), { readers: ["a", "b"] });
    const idx = await Promise.all([0, 1, 2, 3].map((i) => s.append(body(i))));
    expect(idx).toEqual([0, 1, 2, 3]);
    expect(text(await s.next("a", 3))).toEqual(["record 0", "record 1", "record 2"]);
    expect(text(await s.next("a", 10))).toEqual(["record 3"]);
    expect(text(await s.next("b", 10))).toHaveLength(4);
    s.ack("a", 3);
    expect(s.depth).toBe(4); // b has not confirmed anything
    s.ack("b", 1);
    expect(s.depth).toBe(2);
    await s.close();
  });

  it("adds records to one group commit without a promise each; durable() waits for the commit", async () => {
    const s = await Spool.open(dir(), { readers: ["up"] });
    const idx = [0, 1, 2].map((i) => s.add(body(i)));
    expect(idx).toEqual([0, 1, 2]);
    const reading = s.next("up", 10);
    await s.durable();
    expect(s.stats.appended).toBe(3);
    expect(text(await reading)).toEqual(["record 0", "record 1", "record 2"]); // in one commit
    await s.durable(); // nothing pending: resolves at once
    s.add(body(3));
    const d = s.durable();
    expect(s.stats.appended).toBe(3); // not on disk before its commit
    await d;
    expect(s.stats.appended).toBe(4);
    await s.close();
    expect(() => s.add(body(5))).toThrow(/closed/);
  });

  it("gives a read-ahead reader records before their commit, and holds its acknowledgement back until it", async () => {
    const d = dir();
    const s = await Spool.open(d, { readers: ["up", "rules"], readAhead: ["rules"] });
    [0, 1, 2].forEach((i) => s.add(body(i)));
    let upGot: SpoolEntry[] | null = null;
    const upReading = s.next("up", 10).then((es) => { upGot = es; });
    const early = await s.next("rules", 10);
    expect(text(early)).toEqual(["record 0", "record 1", "record 2"]);
    expect(s.stats.appended).toBe(0); // not on disk yet
    expect(upGot).toBeNull(); // an ordinary reader waits for the commit
    s.ack("rules", 2);
    s.ack("up", 2); // (a reader acknowledging what it was never given changes nothing: not on disk)
    expect(s.depth).toBe(3); // nothing counts as delivered before it is accepted
    await s.durable();
    expect(s.depth).toBe(0); // the held acknowledgements took effect with the commit
    await upReading;
    expect(text(upGot!)).toHaveLength(3);
    // A read-ahead reader waits for the next add, then gets it at once.
    const waiting = s.next("rules", 10);
    s.add(body(3));
    expect(text(await waiting)).toEqual(["record 3"]);
    await s.close();
    const r = await Spool.open(d, { readers: ["up", "rules"], readAhead: ["rules"] });
    expect(r.depth).toBe(1); // record 3: on disk, acknowledged by neither
    expect(text(await r.next("rules", 10))).toEqual(["record 3"]); // replayed from disk
    await r.close();
  });

  it("a read-ahead reader given records whose commit failed (refused, a gap) goes on with the next ones", async () => {
    const s = await Spool.open(dir(), { readers: ["up", "rules"], readAhead: ["rules"] });
    await s.append(body(0));
    expect(text(await s.next("rules", 10))).toEqual(["record 0"]);
    // The next write fails as on a full disk (the segment's file handle refuses it once).
    const fh = (s as unknown as { fh: { write: (d: Buffer) => Promise<unknown> } }).fh;
    const write = fh.write.bind(fh);
    fh.write = () => { fh.write = write; return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })); };
    s.add(body(1));
    s.add(body(2));
    expect(text(await s.next("rules", 10))).toEqual(["record 1", "record 2"]); // given before the commit
    await expect(s.durable()).rejects.toThrow(/ENOSPC/);
    s.ack("rules", 2);
    await waitFor(() => s.failure === null, "the spool's probe"); // the probe finds the disk writable again
    const waiting = s.next("rules", 10);
    s.add(body(3));
    expect((await waiting).map((e) => e.index)).toEqual([3]); // past the gap (1, 2 were refused)
    s.ack("rules", 3);
    await s.durable();
    const up: number[] = [];
    while (up.at(-1) !== 3) up.push(...(await s.next("up", 10)).map((e) => e.index));
    expect(up).toEqual([0, 3]); // an ordinary reader never sees the refused records
    s.ack("up", 3);
    expect(s.depth).toBe(0);
    await s.close();
  });

  it("replays what was not acknowledged after a reopen, reading from disk", async () => {
    const d = dir();
    const s = await Spool.open(d, { readers: ["up"], segmentBytes: 64 });
    for (let i = 0; i < 20; i++) await s.append(body(i));
    await s.next("up", 8);
    s.ack("up", 7);
    await s.close();
    const seen: number[] = [];
    const r = await Spool.open(d, { readers: ["up"], segmentBytes: 64, memoryRecords: 0 }, (e) => seen.push(e.index));
    expect(seen.at(-1)).toBe(19);
    expect(r.depth).toBe(12);
    expect(text(await r.next("up", 100)).slice(0, 3)).toEqual(["record 8", "record 9", "record 10"]);
    expect(await r.append(body(20))).toBe(20);
    await r.close();
  });

  it("cuts off a torn record left by a crash and keeps numbering", async () => {
    const d = dir();
    const s = await Spool.open(d, { readers: ["up"] });
    for (let i = 0; i < 3; i++) await s.append(body(i));
    await s.close();
    const seg = readdirSync(d).find((n) => n.startsWith("seg-"))!;
    appendFileSync(join(d, seg), Buffer.from([50, 0, 0, 0, 1, 2, 3, 4, 9, 9])); // a header promising 50 bytes, then 2
    const r = await Spool.open(d, { readers: ["up"] });
    expect(r.stats.tornRecords).toBe(1);
    expect(text(await r.next("up", 10))).toEqual(["record 0", "record 1", "record 2"]);
    expect(await r.append(body(3))).toBe(3);
    expect(text(await r.next("up", 10))).toEqual(["record 3"]);
    await r.close();
  });

  it("drops the oldest segments before its bound is passed and counts the records", async () => {
    // The smallest bound: 64 KiB = the 16 KiB reserve + four 12 KiB segments; never more on disk.
    const d = dir();
    const s = await Spool.open(d, { readers: ["up"], maxBytes: MIN_SPOOL_BYTES });
    const big = (i: number) => Buffer.concat([body(i), Buffer.alloc(1000)]);
    for (let i = 0; i < 150; i++) {
      await Promise.all(Array.from({ length: i % 7 }, (_, k) => s.append(big(i * 7 + k)))); // commits of 0..6 records
      expect(spoolDiskBytes(d)).toBeLessThanOrEqual(MIN_SPOOL_BYTES - 16 * 1024);
    }
    expect(s.stats.dropped).toBeGreaterThan(0);
    const rest = await s.next("up", 1000);
    expect(rest.at(-1)!.index).toBe(s.nextIndexValue - 1);
    expect(rest[0].index).toBe(s.stats.dropped); // exactly the dropped ones are missing
    await s.close();
  });
});

describe("Dedupe", () => {
  it("drops a frame seen before with the same bytes, counts gaps, starts a session on reboot", () => {
    const d = new Dedupe();
    const take = (seq: number, crc: number, newSession: number) => {
      const v = d.classify(7, seq, crc, newSession);
      if (v.kind !== "duplicate") d.accept(7, seq, crc, v.session);
      return v;
    };
    expect(take(0, 100, 10)).toEqual({ kind: "new", session: 10, gap: 0 });
    expect(take(1, 101, 11)).toEqual({ kind: "new", session: 10, gap: 0 });
    expect(take(1, 101, 12)).toEqual({ kind: "duplicate", session: 10 });
    expect(take(4, 104, 13)).toEqual({ kind: "new", session: 10, gap: 2 });
    expect(take(2, 102, 14)).toEqual({ kind: "new", session: 10, gap: 0 }); // late, fills the gap
    // Reboot: seq 0 again with other bytes (a new hello), then seq 1 with other bytes.
    expect(take(0, 200, 15)).toEqual({ kind: "restart", session: 15 });
    expect(take(1, 201, 16)).toEqual({ kind: "new", session: 15, gap: 0 });
    expect(take(0, 200, 17)).toEqual({ kind: "duplicate", session: 15 });
    // A reboot whose hello was lost: a known seq with different bytes.
    expect(take(1, 301, 18)).toEqual({ kind: "restart", session: 18 });
    // Far behind the window: a reboot too.
    take(DEDUPE_WINDOW + 10, 5, 19);
    expect(take(3, 6, 20).kind).toBe("restart");
  });

  it("ignores an older session's records replayed at start", () => {
    const d = new Dedupe();
    d.accept(1, 0, 1, 5);
    d.accept(1, 0, 2, 9);
    d.accept(1, 1, 3, 5);
    expect(d.session(1)).toBe(9);
    expect(d.classify(1, 1, 3, 12).kind).toBe("new");
  });
});
