// The device frame encoder and control decoder (firmware/core/frame/), compiled to Wasm through the
// test entry firmware/tests/entries/frame_vectors.ts, against the golden vectors the host codec is
// checked with (docs/protocol-vectors.json): same bytes, byte for byte. Also: rejections, string
// truncation, overflow, no allocation per call, and a mutation fuzz of decodeControl.
import { crc32 as zlibCrc32 } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { compileAssemblyScript } from "../../host/build/compile.js";
import { decodeFrame, encodeFrame, type ControlFrame, type Frame } from "../../host/protocol/index.js";
import { loadProtocolVectors } from "../../host/protocol/vectors.js";
import { Random } from "../../simulator/random.js";

const ERR_INVALID = -4;
const vectors = loadProtocolVectors();

interface Entry {
  memory: WebAssembly.Memory;
  scratch(): number;
  setString(slot: number, ptr: number, len: number): void;
  heapMark(): number;
  crc32(ptr: number, len: number): number;
  frameBuffer(): number;
  summaryMaxEntries(): number;
  helloBegin(device: number, seq: number, t: number, abi: number, hashPtr: number, bootId: number, period: number, n: number): void;
  helloChannel(id: number, kind: number): number;
  helloEnd(): number;
  channelsBegin(device: number, seq: number, t: number, n: number): void;
  channelsEnd(): number;
  channelEntries(): number;
  summaryBegin(device: number, seq: number, t: number, start: number, len: number): void;
  summaryEntry(ch: number, count: number, min: number, max: number, mean: number, std: number, last: number): void;
  summaryEnd(): number;
  encodeEvent(device: number, seq: number, t: number, ch: number, kind: number, value: number, code: number): number;
  encodeStatus(device: number, seq: number, t: number, samples: number, dropped: number, faults: number, sent: number, resets: number, sleeping: number): number;
  encodeLog(device: number, seq: number, t: number, level: number): number;
  encodeAck(device: number, seq: number, t: number, acked: number, op: number, result: number): number;
  decodeControl(ptr: number, len: number, device: number): number;
  controlSeq(): number; controlOp(): number; controlChannel(): number; controlMs(): number; controlCount(): number;
  controlHigh(): number; controlLow(): number; controlHysteresis(): number; controlDeadband(): number;
}

let module: WebAssembly.Module;
beforeAll(async () => {
  const r = await compileAssemblyScript(["firmware/tests/entries/frame_vectors.ts"]);
  expect(r.diagnostics).toBe("");
  module = new WebAssembly.Module(r.binary! as Uint8Array<ArrayBuffer>);
});

function instantiate(): Entry {
  const instance = new WebAssembly.Instance(module, {
    iotfw: { panic: () => { throw new Error("module panicked"); } },
  });
  return instance.exports as unknown as Entry;
}

const mem = (e: Entry): Uint8Array => new Uint8Array(e.memory.buffer);
function putString(e: Entry, slot: number, s: string): void {
  const b = new TextEncoder().encode(s);
  mem(e).set(b, e.scratch() + 256 * slot);
  e.setString(slot, e.scratch() + 256 * slot, b.length);
}
function frameBytes(e: Entry, len: number): string {
  expect(len).toBeGreaterThan(0);
  return Buffer.from(mem(e).slice(e.frameBuffer(), e.frameBuffer() + len)).toString("hex");
}

/** Run the device encoder on a vector's fields; returns what the encode call returned. Strings are
 *  prepared before `before` is taken, so [before, after] brackets only encoder calls. */
function encodeOnDevice(e: Entry, f: Exclude<Frame, ControlFrame>, marks?: number[]): number {
  const hashPtr = e.scratch() + 1024;
  switch (f.type) {
    case "hello": {
      putString(e, 0, f.firmware);
      putString(e, 1, f.board);
      mem(e).set(Buffer.from(f.appHash, "hex"), hashPtr);
      marks?.push(e.heapMark());
      e.helloBegin(f.device, f.seq, f.t, f.abi, hashPtr, f.bootId === undefined ? 0 : parseInt(f.bootId, 16), f.samplePeriodMs, f.channels.length);
      for (const c of f.channels) {
        putString(e, 2, c.name);
        putString(e, 3, c.unit);
        e.helloChannel(c.id, c.kind);
      }
      return e.helloEnd();
    }
    case "channels":
      marks?.push(e.heapMark());
      e.channelsBegin(f.device, f.seq, f.t, f.channels.length);
      for (const c of f.channels) {
        putString(e, 2, c.name);
        putString(e, 3, c.unit);
        e.helloChannel(c.id, c.kind);
      }
      return e.channelsEnd();
    case "summary":
      marks?.push(e.heapMark());
      e.summaryBegin(f.device, f.seq, f.t, f.windowStart, f.windowMs);
      for (const x of f.entries) e.summaryEntry(x.channel, x.count, x.min, x.max, x.mean, x.std, x.last);
      return e.summaryEnd();
    case "event":
      marks?.push(e.heapMark());
      return e.encodeEvent(f.device, f.seq, f.t, f.channel, f.kind, f.value, f.code);
    case "status":
      marks?.push(e.heapMark());
      return e.encodeStatus(f.device, f.seq, f.t, f.samples, f.dropped, f.faults, f.framesSent, f.resets, f.sleeping ? 1 : 0);
    case "log":
      putString(e, 0, f.text);
      marks?.push(e.heapMark());
      return e.encodeLog(f.device, f.seq, f.t, f.level);
    case "ack":
      marks?.push(e.heapMark());
      return e.encodeAck(f.device, f.seq, f.t, f.ackedSeq, f.op, f.result);
  }
}

function decodeOnDevice(e: Entry, bytes: Uint8Array, device: number): number {
  const at = e.scratch() + 1024;
  mem(e).set(bytes, at);
  return e.decodeControl(at, bytes.length, device);
}

const uplink = vectors.filter((v) => v.fields.type !== "control");
const downlink = vectors.filter((v) => v.fields.type === "control");

describe("device frame encoder (Wasm) against the golden vectors", () => {
  for (const v of uplink) {
    it(`${v.name}: same ${v.length} bytes as docs/protocol-vectors.json`, () => {
      const e = instantiate();
      const len = encodeOnDevice(e, v.fields as Exclude<Frame, ControlFrame>);
      expect(len).toBe(v.length);
      expect(frameBytes(e, len)).toBe(v.hex);
    });
  }

  it("allocates nothing per encode call", () => {
    const e = instantiate();
    const idle = [e.heapMark()];
    idle.push(e.heapMark());
    const step = idle[1] - idle[0];
    for (const v of uplink) {
      if (v.fields.type === "hello" || v.fields.type === "channels") continue; // hello and channels swap strings between channel calls (test-side allocation)
      const marks: number[] = [];
      encodeOnDevice(e, v.fields as Exclude<Frame, ControlFrame>, marks);
      marks.push(e.heapMark());
      expect(marks[1] - marks[0], v.name).toBe(step);
    }
    // hello: every channel reuses slots 2 and 3, so nothing test-side allocates inside the bracket
    putString(e, 0, "env-station@0.1.0");
    putString(e, 1, "esp32");
    putString(e, 2, "temperature");
    putString(e, 3, "°C");
    const before = e.heapMark();
    e.helloBegin(1, 0, 0, 2, e.scratch() + 1024, 0xb0071d, 1000, 6);
    for (let ch = 0; ch < 6; ch++) e.helloChannel(ch, 0);
    expect(e.helloEnd()).toBe(15 + 1 + 18 + 6 + 8 + 4 + 4 + 1 + 6 * (4 + 11 + 3) + 4);
    expect(e.heapMark() - before).toBe(step);
  });

  it("crc32 gives the standard check value (0xCBF43926 for \"123456789\")", () => {
    const e = instantiate();
    mem(e).set(new TextEncoder().encode("123456789"), e.scratch());
    expect(e.crc32(e.scratch(), 9) >>> 0).toBe(0xcbf43926);
  });

  it("cuts a string over 255 UTF-8 bytes at a character boundary; lone surrogates become U+FFFD", () => {
    const e = instantiate();
    const long = "é".repeat(200); // 400 bytes: cut to 127 characters = 254 bytes
    putString(e, 0, long);
    let len = e.encodeLog(1, 2, 3, 2);
    expect(len).toBe(15 + 1 + 1 + 254 + 4);
    const f = encodeFrame({ type: "log", device: 1, seq: 2, t: 3, level: 2, text: "é".repeat(127) });
    expect(frameBytes(e, len)).toBe(Buffer.from(f).toString("hex"));
    // "a", a lone high surrogate (its 3-byte CESU form, which AS's UTF-8 decoder turns into the single
    // UTF-16 unit 0xD800), "b": the encoder writes U+FFFD for the surrogate.
    const raw = Uint8Array.of(0x61, 0xed, 0xa0, 0x80, 0x62);
    mem(e).set(raw, e.scratch());
    e.setString(0, e.scratch(), raw.length);
    len = e.encodeLog(1, 2, 3, 2);
    expect(frameBytes(e, len).slice(32, 32 + 12)).toBe("0561efbfbd62");
  });

  it("a summary holds SUMMARY_MAX_ENTRIES (21) entries; one more makes summaryEnd fail", () => {
    const e = instantiate();
    expect(e.summaryMaxEntries()).toBe(21);
    e.summaryBegin(1, 1, 1, 0, 1000);
    for (let i = 0; i < 21; i++) e.summaryEntry(i, 1, 1, 1, 1, 0, 1);
    expect(e.summaryEnd()).toBe(15 + 9 + 21 * 23 + 4);
    e.summaryBegin(1, 1, 1, 0, 1000);
    for (let i = 0; i < 22; i++) e.summaryEntry(i, 1, 1, 1, 1, 0, 1);
    expect(e.summaryEnd()).toBe(ERR_INVALID);
    // the next frame is unaffected
    expect(e.encodeEvent(1, 2, 3, 0, 1, 1, 0)).toBe(29);
  });

  it("hello fails when the channel calls do not match the declared count", () => {
    const e = instantiate();
    putString(e, 0, "x@1");
    putString(e, 1, "esp32");
    putString(e, 2, "t");
    putString(e, 3, "C");
    e.helloBegin(1, 0, 0, 2, e.scratch() + 1024, 0xb0071d, 1000, 2);
    e.helloChannel(0, 0);
    expect(e.helloEnd()).toBe(ERR_INVALID);
    e.channelsBegin(1, 0, 0, 2);
    e.helloChannel(0, 0);
    e.helloChannel(1, 0);
    e.helloChannel(2, 0);
    expect(e.channelsEnd()).toBe(ERR_INVALID);
    expect(e.summaryEnd()).toBe(ERR_INVALID); // an end without its begin
  });

  it("a channel that does not fit ends the hello at the channels before it; CHANNELS take the rest", () => {
    const e = instantiate();
    putString(e, 0, "x@1");
    putString(e, 1, "esp32");
    putString(e, 2, "n".repeat(200));
    putString(e, 3, "C");
    e.helloBegin(1, 0, 0, 2, e.scratch() + 1024, 0xb0071d, 1000, 3);
    expect([0, 1, 2].map((i) => e.helloChannel(i, 0))).toEqual([1, 1, 0]);
    putString(e, 2, "t"); // a smaller entry after a refused one is refused too: ids stay in order
    expect(e.helloChannel(3, 0)).toBe(0);
    expect(e.channelEntries()).toBe(2);
    let len = e.helloEnd();
    const hello = decodeFrame(mem(e).slice(e.frameBuffer(), e.frameBuffer() + len));
    expect(hello.ok && hello.frame.type === "hello" && hello.frame.channels.map((c) => [c.id, c.name.length])).toEqual([[0, 200], [1, 200]]);
    putString(e, 2, "n".repeat(200));
    e.channelsBegin(1, 1, 0, 1);
    expect(e.helloChannel(2, 0)).toBe(1);
    len = e.channelsEnd();
    const rest = decodeFrame(mem(e).slice(e.frameBuffer(), e.frameBuffer() + len));
    expect(rest.ok && rest.frame.type === "channels" && rest.frame.channels.map((c) => c.id)).toEqual([2]);
    // an entry larger than any frame (two 255-byte strings): no CHANNELS frame can carry it
    putString(e, 2, "n".repeat(255));
    putString(e, 3, "u".repeat(255));
    e.channelsBegin(1, 2, 0, 1);
    expect(e.helloChannel(2, 0)).toBe(0);
    expect(e.channelsEnd()).toBe(ERR_INVALID);
  });
});

describe("device control decoder (Wasm) against the golden vectors", () => {
  const OWN = 0x00c0ffee;
  for (const v of downlink) {
    it(`${v.name}: accepted and Control filled`, () => {
      const e = instantiate();
      const f = v.fields as ControlFrame;
      expect(decodeOnDevice(e, v.bytes, OWN)).toBe(0);
      const got = {
        seq: e.controlSeq() >>> 0, op: e.controlOp(), channel: e.controlChannel(), ms: e.controlMs() >>> 0, count: e.controlCount(),
        high: e.controlHigh(), low: e.controlLow(), hysteresis: e.controlHysteresis(), deadband: e.controlDeadband(),
      };
      const want = { seq: f.seq, op: 0, channel: 0xff, ms: 0, count: 0, high: NaN, low: NaN, hysteresis: 0, deadband: 0 };
      want.op = v.bytes[15];
      if (f.op === "sleep") want.ms = f.ms;
      if (f.op === "set_rate") want.ms = f.periodMs;
      if (f.op === "set_window") Object.assign(want, { channel: f.channel, ms: f.ms, count: f.count });
      if (f.op === "set_threshold") Object.assign(want, { channel: f.channel, high: f.high, low: f.low, hysteresis: f.hysteresis });
      if (f.op === "set_deadband") Object.assign(want, { channel: f.channel, deadband: f.deadband });
      expect(got).toEqual(want);
      // addressed to another device: rejected unless broadcast
      expect(decodeOnDevice(e, v.bytes, 0x1234)).toBe(f.device === 0xffffffff ? 0 : ERR_INVALID);
    });
  }

  it("rejects bad CRC, version, type, flags, op, length; leaves Control untouched", () => {
    const e = instantiate();
    const base = { type: "control" as const, device: OWN, seq: 99, t: 0 };
    const good = encodeFrame({ ...base, op: "set_rate", periodMs: 777 });
    expect(decodeOnDevice(e, good, OWN)).toBe(0);
    /** The frame with its CRC recomputed, so only the field under test is wrong. */
    const reCrc = (b: Uint8Array): Uint8Array => {
      const out = b.slice();
      new DataView(out.buffer).setUint32(b.length - 4, zlibCrc32(b.subarray(0, b.length - 4)) >>> 0, true);
      return out;
    };
    const mutate = (at: number, value: number): Uint8Array => { const b = good.slice(); b[at] = value; return reCrc(b); };
    const cases: Array<[string, Uint8Array]> = [
      ["bad CRC", (() => { const b = good.slice(); b[b.length - 1] ^= 1; return b; })()],
      ["version 2", mutate(0, 2)],
      ["type event", mutate(1, 0x03)],
      ["flags HMAC", mutate(2, 1)],
      ["unknown op", mutate(15, 0x09)],
      ["op with the wrong length (ping with 4 argument bytes)", mutate(15, 0x07)],
      ["too short", good.slice(0, 19)],
      ["truncated by one", reCrc(good.slice(0, good.length - 1))],
    ];
    for (const [name, bytes] of cases) expect(decodeOnDevice(e, bytes, OWN), name).toBe(ERR_INVALID);
    expect(e.controlMs()).toBe(777);
    expect(e.decodeControl(e.scratch(), 513, OWN)).toBe(ERR_INVALID);
  });

  it("survives 20,000 mutated control frames without a trap", () => {
    const e = instantiate();
    const rng = new Random(0x1010);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = downlink[rng.int(0, downlink.length - 1)];
      let b = v.bytes.slice();
      const mode = rng.int(0, 2);
      if (mode === 0) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
      else if (mode === 1) b = b.slice(0, rng.int(0, b.length - 1));
      else b = Uint8Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 255));
      const r = decodeOnDevice(e, b, OWN);
      expect(r === 0 || r === ERR_INVALID).toBe(true);
      if (r === 0) accepted++;
    }
    expect(accepted).toBe(0); // CRC-32 detects every single-bit error
  });
});
