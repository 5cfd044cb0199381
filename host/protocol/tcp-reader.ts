// Reads what a device sends on a TCP connection (docs/protocol.md "TCP"). The first 4 bytes decide the
// framing: "IOTF" = iotfw frames as u16 big-endian length + frame; anything else = the MicroPython
// framing, u32 big-endian length + UTF-8 JSON (an object is a control message, an array is data), and
// those 4 bytes are the first length. Errors come out as values, never exceptions. A declared length over
// the limit is skipped byte by byte as it arrives, never buffered. Every byte that is not part of a valid
// message (length prefixes and bodies of rejected messages, skipped bytes) is added to discardedBytes, so
// a user of the reader can count noise by bytes, not by error (issue 11). Pure; touches nothing.
import { decodeFrame } from "./codec.js";
import { FRAME_MAX, type DecodeResult, type Frame } from "./frame.js";
import { JSON_MESSAGE_MAX, TCP_PREAMBLE } from "./link-framing.js";

export type TcpFraming = "pending" | "iotfw" | "json";

export type TcpMessage =
  | { kind: "frame"; frame: Frame; bytes: Uint8Array }
  | { kind: "json-control"; value: Record<string, unknown> }
  | { kind: "json-data"; value: unknown[] }
  /** bytes: what this error discarded when it was reported (prefix, and body if read); the bytes of an
   *  oversize message skipped later are only in TcpReader.discardedBytes. */
  | { kind: "error"; framing: "iotfw" | "json"; error: string; bytes: number };

export interface TcpReaderStats {
  frames: number;
  jsonMessages: number;
  errors: number;
  /** Bytes of oversize messages skipped unread. */
  skippedBytes: number;
}

export interface TcpReaderOptions {
  /** Largest MicroPython JSON message accepted (default JSON_MESSAGE_MAX). */
  maxJsonBytes?: number;
  /** Replaces decodeFrame for iotfw frames (e.g. decodeFrameAllowingHmac in the bridge). */
  decode?: (bytes: Uint8Array) => DecodeResult;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export class TcpReader {
  framing: TcpFraming = "pending";
  readonly stats: TcpReaderStats = { frames: 0, jsonMessages: 0, errors: 0, skippedBytes: 0 };
  /** Bytes received that were not part of a valid message (kept out of stats: its shape is API). */
  discardedBytes = 0;
  private readonly maxJsonBytes: number;
  private readonly decode: (bytes: Uint8Array) => DecodeResult;
  /** The 4 preamble bytes, then each length prefix, as they arrive. */
  private readonly head = new Uint8Array(4);
  private headLength = 0;
  /** The message body being collected, once its length was accepted. */
  private body: Uint8Array | null = null;
  private bodyLength = 0;
  /** Bytes still to skip of an oversize message. */
  private skip = 0;

  constructor(options: TcpReaderOptions = {}) {
    this.maxJsonBytes = options.maxJsonBytes ?? JSON_MESSAGE_MAX;
    this.decode = options.decode ?? decodeFrame;
  }

  /** Feed received bytes; returns the messages (and errors) completed by them, in order. Never throws. */
  push(chunk: Uint8Array): TcpMessage[] {
    const out: TcpMessage[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        this.stats.skippedBytes += n;
        this.discardedBytes += n;
        i += n;
      } else if (this.body) {
        const n = Math.min(this.body.length - this.bodyLength, chunk.length - i);
        this.body.set(chunk.subarray(i, i + n), this.bodyLength);
        this.bodyLength += n;
        i += n;
        if (this.bodyLength === this.body.length) {
          const body = this.body;
          this.body = null;
          out.push(this.message(body));
        }
      } else {
        this.head[this.headLength++] = chunk[i++];
        this.headComplete(out);
      }
    }
    return out;
  }

  private headSize(): number { return this.framing === "iotfw" ? 2 : 4; }

  private headComplete(out: TcpMessage[]): void {
    if (this.headLength < this.headSize()) return;
    this.headLength = 0;
    if (this.framing === "pending") {
      if (TCP_PREAMBLE.every((b, k) => this.head[k] === b)) {
        this.framing = "iotfw";
        return;
      }
      this.framing = "json"; // and these 4 bytes are the first message's length
    }
    const view = new DataView(this.head.buffer);
    const length = this.framing === "iotfw" ? view.getUint16(0, false) : view.getUint32(0, false);
    const max = this.framing === "iotfw" ? FRAME_MAX : this.maxJsonBytes;
    const prefix = this.headSize();
    if (length > max) {
      this.skip = length;
      out.push(this.error(`message of ${length} bytes exceeds ${max}: skipped`, prefix));
    } else if (length === 0) {
      out.push(this.error("empty message", prefix));
    } else {
      this.body = new Uint8Array(length);
      this.bodyLength = 0;
    }
  }

  private message(body: Uint8Array): TcpMessage {
    const rejected = this.headSize() + body.length; // what an error here discards: prefix and body
    if (this.framing === "iotfw") {
      const r = this.decode(body);
      if (!r.ok) return this.error(r.error, rejected);
      this.stats.frames++;
      return { kind: "frame", frame: r.frame, bytes: body };
    }
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(body));
    } catch (e) {
      return this.error(`not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`, rejected);
    }
    if (Array.isArray(value)) {
      this.stats.jsonMessages++;
      return { kind: "json-data", value };
    }
    if (value !== null && typeof value === "object") {
      this.stats.jsonMessages++;
      return { kind: "json-control", value: value as Record<string, unknown> };
    }
    return this.error(`JSON ${value === null ? "null" : typeof value} is neither an object (control) nor an array (data)`, rejected);
  }

  private error(error: string, bytes: number): TcpMessage {
    this.stats.errors++;
    this.discardedBytes += bytes;
    return { kind: "error", framing: this.framing === "iotfw" ? "iotfw" : "json", error, bytes };
  }
}
