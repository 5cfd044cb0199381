// The bridge's device state on disk (issue 11, device-log.ts through Devices): updates cost bytes linear
// in their number (the process's own write counter, /proc/self/io, counts whatever the code writes),
// survive a restart, a torn last line is ignored, an older bridge's devices.json is carried over, and
// the log is compacted when it outgrows the live state. Also: the ring-growing de-duplication gives
// the verdicts of a full 4,096-entry ring.
// May touch: temp folders it creates.
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { HelloFrame } from "../protocol/index.js";
import { Dedupe, DEDUPE_WINDOW } from "./dedupe.js";
import { Devices, type DeviceLink } from "./devices.js";
import { helloFrame, tempDir } from "./testing.js";

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
const link: DeviceLink = { id: "tcp:test", open: true, sendControl: () => undefined };
const hello = (device: number, firmware = "test@1.0.0") => ({ ...helloFrame(device), firmware }) as HelloFrame;

/** Bytes this process has handed to write(2) so far. */
function bytesWritten(): number {
  return Number(/wchar: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))![1]);
}

/** The persisted state: every device's hello (or null), by id. */
function state(d: Devices): Map<number, HelloFrame | null> {
  return new Map(d.store.entries());
}

describe("device state on disk", () => {
  it("10,000 device updates write O(n) bytes and survive a restart", async () => {
    const spool = dir();
    const d = new Devices(spool, null);
    const lineSize = Buffer.byteLength(JSON.stringify({ d: "00010000", h: hello(0x10000) })) + 1;
    // Phase 1: 1,000 new devices, each seen then greeted (as a HELLO frame does).
    let before = bytesWritten();
    for (let i = 0; i < 1000; i++) { d.seen(0x10000 + i, link); d.hello(hello(0x10000 + i)); }
    await d.flush?.(); // (?.: so that a store writing synchronously fails on the bytes, not on a missing method)
    const first = bytesWritten() - before;
    // Linear: each phase writes about its devices' entries (seen and hello of one turn go in one line),
    // not the whole fleet per change (that would be ~500x more for the first phase, ~5,000x for the rest).
    expect(first).toBeLessThan(1000 * lineSize * 2.5);
    // Phase 2: 9,000 more, arriving over several event-loop turns.
    before = bytesWritten();
    for (let i = 1000; i < 10_000; i++) {
      d.seen(0x10000 + i, link);
      d.hello(hello(0x10000 + i));
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await d.flush();
    const rest = bytesWritten() - before;
    console.log(`device log: first 1,000 devices ${first} B, next 9,000 ${rest} B (${lineSize} B per device entry)`);
    expect(rest).toBeLessThan(9000 * lineSize * 2.5);
    expect(rest / first).toBeLessThan(9 * 2);
    expect(statSync(join(spool, "devices.log")).size).toBeLessThan(10_000 * lineSize * 2.5);
    expect(d.store.stats.bytesWritten).toBeLessThan(10_000 * lineSize * 2.5);

    // A CHANNELS frame changes one device's table; it is persisted too.
    d.channelsFrame({ type: "channels", device: 0x10001, seq: 1, t: 0, channels: [{ id: 2, kind: 0, name: "humidity", unit: "%" }] });
    const saved = state(d);
    await d.close();
    const again = new Devices(spool, null);
    expect(again.size).toBe(10_000);
    expect(state(again)).toEqual(saved);
    expect(again.channels(0x10001)?.map((c) => c.name)).toEqual(["temperature", "button", "humidity"]);
    expect(again.list().every((e) => !e.online && e.firmware === "test@1.0.0")).toBe(true);
    await again.close();
  });

  it("ignores a torn last line after a crash, and appends after it cleanly", async () => {
    const spool = dir();
    const d = new Devices(spool, null);
    d.seen(1, link);
    d.hello(hello(2));
    await d.close();
    const file = join(spool, "devices.log");
    appendFileSync(file, `{"d":"00000003","h":{"type":"hello","dev`); // the crash cut this append short
    const a = new Devices(spool, null);
    expect(a.store.stats.tornBytes).toBeGreaterThan(0);
    expect(a.list().map((e) => e.device).sort()).toEqual(["00000001", "00000002"]);
    expect(a.channels(2)?.length).toBe(2);
    a.hello(hello(3, "other@2.0.0"));
    await a.close();
    const b = new Devices(spool, null);
    expect(b.store.stats.badLines).toBe(0);
    expect(b.list().find((e) => e.device === "00000003")?.firmware).toBe("other@2.0.0");
    expect(b.size).toBe(3);
    await b.close();
  });

  it("carries an older bridge's devices.json over once", async () => {
    const spool = dir();
    const old = { "00c0ffee": hello(0xc0ffee), "0000abcd": null };
    writeFileSync(join(spool, "devices.json"), JSON.stringify(old));
    const d = new Devices(spool, null);
    expect(d.store.stats.migrated).toBe(2);
    expect(existsSync(join(spool, "devices.json"))).toBe(false);
    expect(d.channels(0xc0ffee)).toEqual(hello(0xc0ffee).channels);
    expect(d.list().map((e) => [e.device, e.firmware]).sort()).toEqual([["0000abcd", null], ["00c0ffee", "test@1.0.0"]]);
    d.hello(hello(0xabcd, "late@1.0.0"));
    await d.close();
    const again = new Devices(spool, null); // from the log alone now
    expect(again.store.stats.migrated).toBe(0);
    expect(again.list().map((e) => [e.device, e.firmware]).sort()).toEqual([["0000abcd", "late@1.0.0"], ["00c0ffee", "test@1.0.0"]]);
    await again.close();
  });

  it("compacts the log when it outgrows the live state, keeping the latest state", async () => {
    const spool = dir();
    const d = new Devices(spool, null, undefined, { compactFactor: 4, compactMinBytes: 16 * 1024 });
    for (let i = 0; i < 100; i++) d.hello(hello(i));
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 100; i++) d.hello(hello(i, `fw@${round}`));
      await d.flush(); // one append per round
    }
    await d.flush();
    const s = d.store.stats;
    expect(s.compactions).toBeGreaterThan(0);
    expect(s.logBytes).toBe(statSync(join(spool, "devices.log")).size);
    expect(s.logBytes).toBeLessThanOrEqual(4 * s.liveBytes + 100 * 400); // bounded by the live state, not the history
    expect(existsSync(join(spool, "devices.log.tmp"))).toBe(false);
    await d.close();
    const again = new Devices(spool, null);
    expect(again.size).toBe(100);
    expect(again.list().every((e) => e.firmware === "fw@59")).toBe(true);
    await again.close();
  });
});

/** The de-duplication as it was: a full ring per device. */
class FullRing {
  private readonly devices = new Map<number, { session: number; maxSeq: number; seqs: Uint32Array; crcs: Uint32Array }>();
  classify(device: number, seq: number, crc: number, newSession: number): string {
    const s = this.devices.get(device);
    if (!s) return `new ${newSession} 0`;
    const slot = seq % DEDUPE_WINDOW;
    if (s.seqs[slot] === seq + 1) return s.crcs[slot] === crc >>> 0 ? `duplicate ${s.session}` : `restart ${newSession}`;
    if (seq === 0) return `restart ${newSession}`;
    if (seq > s.maxSeq) return `new ${s.session} ${seq - s.maxSeq - 1}`;
    if (s.maxSeq - seq >= DEDUPE_WINDOW) return `restart ${newSession}`;
    return `new ${s.session} 0`;
  }
  accept(device: number, seq: number, crc: number, session: number): void {
    let s = this.devices.get(device);
    if (!s || session > s.session) this.devices.set(device, (s = { session, maxSeq: seq, seqs: new Uint32Array(DEDUPE_WINDOW), crcs: new Uint32Array(DEDUPE_WINDOW) }));
    else if (session < s.session) return;
    s.seqs[seq % DEDUPE_WINDOW] = seq + 1;
    s.crcs[seq % DEDUPE_WINDOW] = crc >>> 0;
    if (seq > s.maxSeq) s.maxSeq = seq;
  }
}

describe("de-duplication with growing rings", () => {
  it("gives the verdicts of a full 4,096-entry ring", () => {
    let rnd = 12345;
    const next = (n: number) => { rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0; return rnd % n; };
    const ours = new Dedupe();
    const ref = new FullRing();
    const seqOf = new Map<number, number>();
    for (let i = 0; i < 200_000; i++) {
      const device = next(8);
      let seq = seqOf.get(device) ?? 0;
      const r = next(100);
      if (r < 70) seq++; // in order
      else if (r < 80) seq += next(6000); // a gap, sometimes past the window
      else if (r < 92) seq = Math.max(0, seq - next(5000)); // a replay, sometimes older than the window
      else if (r < 95) seq = 0; // a reboot
      seqOf.set(device, seq);
      const crc = next(3) === 0 ? seq * 7 : next(1 << 30); // replays with the same bytes, or other bytes
      const v = ours.classify(device, seq, crc, i);
      const want = ref.classify(device, seq, crc, i);
      const got = v.kind === "new" ? `new ${v.session} ${v.gap}` : `${v.kind} ${v.session}`;
      if (got !== want) expect(`${i}: ${got}`).toBe(`${i}: ${want}`);
      if (v.kind !== "duplicate") { ours.accept(device, seq, crc, v.session); ref.accept(device, seq, crc, v.session); }
    }
  });
});
