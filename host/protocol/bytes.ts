// Little-endian cursors over frame bytes for the host codec: ByteWriter checks every value's range
// (encoding a bad field is a programming error: RangeError), ByteReader checks every bound (a short
// or malformed frame: WireError, which decodeFrame turns into a result). Touches nothing else.
import { STRING_MAX_BYTES } from "./frame.js";

/** Raised by ByteReader and the decoder on malformed input; never leaves decodeFrame. */
export class WireError extends Error {}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** The canonical quiet NaN the device writes (firmware/core/frame/encoder.ts putF32). */
const CANONICAL_NAN_BITS = 0x7fc00000;

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} ${v} is not an integer in ${min}..${max}`);
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) throw new RangeError(`frame exceeds ${this.buf.length} bytes`);
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number, name = "u8"): void { checkInt(name, v, 0, 0xff); this.buf[this.reserve(1)] = v; }
  u16(v: number, name = "u16"): void { checkInt(name, v, 0, 0xffff); this.view.setUint16(this.reserve(2), v, true); }
  u32(v: number, name = "u32"): void { checkInt(name, v, 0, 0xffffffff); this.view.setUint32(this.reserve(4), v, true); }
  i32(v: number, name = "i32"): void { checkInt(name, v, -0x80000000, 0x7fffffff); this.view.setInt32(this.reserve(4), v, true); }
  f32(v: number, name = "f32"): void {
    if (typeof v !== "number") throw new RangeError(`${name} is not a number`);
    const at = this.reserve(4);
    if (Number.isNaN(v)) this.view.setUint32(at, CANONICAL_NAN_BITS, true);
    else this.view.setFloat32(at, v, true);
  }
  bytes(b: Uint8Array): void { this.buf.set(b, this.reserve(b.length)); }
  str(s: string, name = "string"): void {
    if (typeof s !== "string") throw new RangeError(`${name} is not a string`);
    const b = utf8Encoder.encode(s);
    if (b.length > STRING_MAX_BYTES) throw new RangeError(`${name} is ${b.length} UTF-8 bytes, max ${STRING_MAX_BYTES}`);
    this.u8(b.length);
    this.bytes(b);
  }
  /** Patch a u8 already written (an entry count known only at the end). */
  setU8(at: number, v: number): void { this.buf[at] = v; }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

export class ByteReader {
  private view: DataView;
  pos: number;

  constructor(private readonly buf: Uint8Array, start: number, readonly end: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  private take(n: number, what: string): number {
    if (this.pos + n > this.end) throw new WireError(`truncated payload: ${what} needs ${n} bytes at offset ${this.pos}, frame payload ends at ${this.end}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  get remaining(): number { return this.end - this.pos; }
  u8(what: string): number { return this.buf[this.take(1, what)]; }
  u16(what: string): number { return this.view.getUint16(this.take(2, what), true); }
  u32(what: string): number { return this.view.getUint32(this.take(4, what), true); }
  i32(what: string): number { return this.view.getInt32(this.take(4, what), true); }
  f32(what: string): number { return this.view.getFloat32(this.take(4, what), true); }
  bytes(n: number, what: string): Uint8Array { const at = this.take(n, what); return this.buf.subarray(at, at + n); }
  str(what: string): string {
    const n = this.u8(`${what} length`);
    const b = this.bytes(n, what);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new WireError(`${what} is not valid UTF-8`);
    }
  }
}
