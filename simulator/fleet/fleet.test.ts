// Fleet mechanics with a minimal hand-written module (testdata/ticker.wat): determinism across shard
// counts, the watchdog on an endless loop and on a trap, control delivery. The app-level fleet tests
// (real app.wasm, sensor models) live beside the simulate command.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { HalConst } from "../hal/abi.generated.js";
import { Fleet } from "./fleet.js";
import { frameAt, type FrameBatch } from "./frame-batch.js";

async function tickerBinary(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const m = wabt.parseWat("ticker.wat", readFileSync(new URL("./testdata/ticker.wat", import.meta.url), "utf8"), {});
  return m.toBinary({}).buffer;
}

function records(batch: FrameBatch) {
  return Array.from({ length: batch.count }, (_, i) => {
    const dv = new DataView(frameAt(batch, i).buffer, frameAt(batch, i).byteOffset, 16);
    return { device: dv.getUint32(0, true), seq: dv.getUint32(4, true), t: dv.getUint32(8, true), reset: dv.getUint32(12, true) };
  });
}

async function run(workers: number, inProcess: boolean, untilMs: number) {
  const fleet = await Fleet.start({
    binary: await tickerBinary(), appHash: new Uint8Array(32), board: "esp32", devices: 10, workers, inProcess,
    fuelPerCall: 100_000, wiring: { hardware: [], seed: 1, adcBits: 12 },
  });
  const bytes: number[] = [];
  const all = [];
  const resets = [];
  try {
    for (let t = 1000; t <= untilMs; t += 1000) {
      const slice = await fleet.runUntil(t);
      bytes.push(...slice.batch.data);
      all.push(...records(slice.batch));
      resets.push(...slice.resets);
    }
  } finally {
    await fleet.close();
  }
  return { bytes, all, resets };
}

describe("fleet", () => {
  it("gives the same frames, byte for byte, in one shard and in two processes", async () => {
    const one = await run(1, true, 10_000);
    const two = await run(2, false, 10_000);
    expect(one.all.length).toBeGreaterThan(80);
    expect(Buffer.from(two.bytes).equals(Buffer.from(one.bytes))).toBe(true);
  });

  it("resets an endless loop and a trap, counts them, and the other devices keep sending", async () => {
    const { all, resets } = await run(1, true, 10_000);
    expect(resets.map((r) => [r.device, r.reason])).toEqual([
      [4, HalConst.RESET_TRAP],
      [3, HalConst.RESET_WATCHDOG],
    ]);
    // After its reset each device boots again: seq restarts and reset_info carries reason and count.
    const rebooted3 = all.filter((r) => r.device === 3 && r.reset !== 0);
    expect(rebooted3[0]).toMatchObject({ seq: 0, reset: (1 << 8) | HalConst.RESET_WATCHDOG });
    // Healthy devices sent one frame per tick throughout: ~1 per (1000 + 7*id) ms.
    for (const id of [1, 2, 5, 10]) {
      const n = all.filter((r) => r.device === id).length;
      expect(n).toBe(1 + Math.ceil(10_000 / (1000 + 7 * id)));
    }
  });

  it("delivers a control frame to one device", async () => {
    const fleet = await Fleet.start({
      binary: await tickerBinary(), appHash: new Uint8Array(32), board: "esp32", devices: 4, inProcess: true,
      workers: 1, wiring: { hardware: [], seed: 1, adcBits: 12 },
    });
    try {
      await fleet.runUntil(1500);
      const r = await fleet.control(2, new Uint8Array([1, 2, 3]), 1500);
      expect(r.status).toBe(3);
      expect(records(r.batch)).toEqual([{ device: 2, seq: 3, t: 1500, reset: 0 }]); // init, ticks at 0 and 1014, then this
      await expect(fleet.control(99, new Uint8Array(1), 1500)).rejects.toThrow(/no device 99/);
    } finally {
      await fleet.close();
    }
  });
});
