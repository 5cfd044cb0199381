// The sim port's wire protocol, Node side (firmware/runtime/ports/sim/sim_proto.h says the same for C;
// docs/runtime.md "The sim port"). A message is u8 op | u32 length | payload, little-endian throughout.
// This file only encodes and decodes; runtime-process.ts moves the bytes.

export const Op = {
  START: 0x53, // 'S'
  RUN: 0x52, // 'R'
  CONTROL: 0x43, // 'C'
  MODULE: 0x4d, // 'M'
  STOP: 0x58, // 'X'
  QUIT: 0x51, // 'Q'
  HAL_REPLY: 0x72, // 'r'
  HELLO: 0x56, // 'V'
  HAL: 0x68, // 'h'
  FRAME: 0x66, // 'f'
  LOG: 0x6c, // 'l'
  RESET: 0x78, // 'x'
  DONE: 0x44, // 'D'
  ERROR: 0x45, // 'E'
} as const;

/** Little-endian message writer into one growing buffer (a whole batch of requests goes out at once). */
export class MessageWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  /** Start a message whose payload is len bytes. */
  begin(op: number, len: number): this { this.room(5 + len); this.buf[this.length] = op; this.buf.writeUInt32LE(len, this.length + 1); this.length += 5; return this; }
  u8(v: number): this { this.buf[this.length++] = v; return this; }
  u32(v: number): this { this.buf.writeUInt32LE(v >>> 0, this.length); this.length += 4; return this; }
  i32(v: number): this { this.buf.writeInt32LE(v | 0, this.length); this.length += 4; return this; }
  u64(v: number): this { this.buf.writeBigUInt64LE(BigInt(Math.floor(v)), this.length); this.length += 8; return this; }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; return this; }
  /** The bytes written so far; the writer starts empty again. */
  take(): Buffer { const out = this.buf.subarray(0, this.length); this.length = 0; return out; }
}

/** START: a device with its module (sha256 as the runtime checked it), due to boot at nowUs. */
export interface StartParams { budgetMs: number; fuel: number; maxPages: number; board: string }
export function startMessage(w: MessageWriter, dev: number, nowUs: number, p: StartParams, sha256: Uint8Array, module: Uint8Array): void {
  const { budgetMs, fuel, maxPages, board } = p;
  const name = Buffer.from(board, "utf8");
  if (name.length > 63) throw new Error(`board name "${board}" is longer than the sim port takes (63 bytes)`);
  w.begin(Op.START, 4 + 8 + 4 + 4 + 4 + 1 + name.length + 32 + module.length)
    .u32(dev).u64(nowUs).u32(budgetMs).u32(fuel).u32(maxPages).u8(name.length).bytes(name).bytes(sha256.subarray(0, 32)).bytes(module);
}
export function runMessage(w: MessageWriter, dev: number, endMs: number): void { w.begin(Op.RUN, 12).u32(dev).u64(endMs); }
export function controlMessage(w: MessageWriter, dev: number, atMs: number, frame: Uint8Array): void {
  w.begin(Op.CONTROL, 12 + frame.length).u32(dev).u64(atMs).bytes(frame);
}
export function moduleMessage(w: MessageWriter, dev: number, atMs: number, sha256: Uint8Array, module: Uint8Array): void {
  w.begin(Op.MODULE, 12 + 32 + module.length).u32(dev).u64(atMs).bytes(sha256.subarray(0, 32)).bytes(module);
}
export function stopMessage(w: MessageWriter, dev: number): void { w.begin(Op.STOP, 4).u32(dev); }
export function quitMessage(w: MessageWriter): void { w.begin(Op.QUIT, 0); }

/** A HAL request: which import, its i32 arguments, and its buffers (argument number, bytes). */
export interface HalRequest {
  dev: number;
  clockUs: number;
  index: number;
  args: number[];
  regions: Array<{ arg: number; bytes: Uint8Array }>;
}

export function decodeHal(p: Buffer): HalRequest {
  const argc = p[13], nregions = p[14];
  const args: number[] = new Array(argc);
  let at = 15;
  for (let i = 0; i < argc; i++, at += 4) args[i] = p.readInt32LE(at);
  const regions: HalRequest["regions"] = [];
  for (let i = 0; i < nregions; i++) {
    const arg = p[at], len = p.readUInt32LE(at + 1);
    regions.push({ arg, bytes: p.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return { dev: p.readUInt32LE(0), clockUs: Number(p.readBigUInt64LE(4)), index: p[12], args, regions };
}

export function halReplyMessage(w: MessageWriter, result: number, clockUs: number, regions: Uint8Array[]): void {
  let len = 12;
  for (const r of regions) len += r.length;
  w.begin(Op.HAL_REPLY, len).i32(result).u64(clockUs);
  for (const r of regions) w.bytes(r);
}

const u64 = (p: Buffer, at: number) => Number(p.readBigUInt64LE(at));
export const decodeFrame = (p: Buffer) => ({ dev: p.readUInt32LE(0), tickMs: u64(p, 4), frame: p.subarray(12) });
export const decodeLog = (p: Buffer) => ({ dev: p.readUInt32LE(0), level: p[4], text: p.subarray(5).toString("utf8") });
export const decodeReset = (p: Buffer) => ({ dev: p.readUInt32LE(0), atMs: u64(p, 4), tickMs: u64(p, 12), reason: p[20], detail: p.subarray(21).toString("utf8") });
export const decodeDone = (p: Buffer) => ({ dev: p.readUInt32LE(0), nextMs: u64(p, 4), status: p.readInt32LE(12) });
export function decodeHello(p: Buffer): { version: number; imports: string[] } {
  const version = p.readUInt32LE(0), count = p.readUInt32LE(4);
  const imports = p.subarray(8).toString("latin1").split("\0").slice(0, count);
  return { version, imports };
}
