// Reads iotfw frames from a serial byte stream (docs/protocol.md "Serial"): splits on 0x00, COBS-decodes
// each block and decodes the frame. Anything else on the line (boot ROM text, console logs, noise, a
// frame joined half-way) is dropped and counted; the reader resynchronises at the next 0x00. Memory is
// bounded: a block longer than the largest encoded frame is discarded up to its delimiter, not kept.
import { cobsDecode, cobsMaxEncodedLength } from "./cobs.js";
import { decodeFrame } from "./codec.js";
import { FRAME_MAX, type DecodeResult, type Frame } from "./frame.js";
import { SERIAL_DELIMITER } from "./link-framing.js";

export interface DecodedFrame {
  frame: Frame;
  /** The bare frame's bytes (CRC included), e.g. to spool or forward unchanged. */
  bytes: Uint8Array;
}

export interface SerialReaderStats {
  /** Frames decoded. */
  frames: number;
  /** Non-empty blocks dropped: not COBS, too long, or not a valid frame. */
  badBlocks: number;
  /** Bytes in dropped blocks (delimiters not counted). */
  garbageBytes: number;
  /** Why the last block was dropped. */
  lastError?: string;
}

const BLOCK_MAX = cobsMaxEncodedLength(FRAME_MAX);

export class SerialReader {
  readonly stats: SerialReaderStats = { frames: 0, badBlocks: 0, garbageBytes: 0 };
  private readonly block = new Uint8Array(BLOCK_MAX);
  private blockLength = 0;
  /** Bytes of the current block beyond BLOCK_MAX (it is being discarded). */
  private overflowBytes = 0;

  /** @param onError called for each dropped block, with the reason and, unless it overflowed, the
   *  block's bytes as received (a monitor shows console text between frames from them; valid until
   *  the next push).
   *  @param options.decode replaces decodeFrame (e.g. decodeFrameAllowingHmac in the bridge). */
  constructor(
    private readonly onError?: (error: string, droppedBytes: number, block?: Uint8Array) => void,
    private readonly options: { decode?: (bytes: Uint8Array) => DecodeResult } = {},
  ) {}

  /** Feed received bytes; returns the frames completed by them, in order. Never throws. */
  push(chunk: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === SERIAL_DELIMITER) this.endBlock(out);
      else if (this.blockLength < BLOCK_MAX) this.block[this.blockLength++] = b;
      else this.overflowBytes++;
    }
    return out;
  }

  private endBlock(out: DecodedFrame[]): void {
    const length = this.blockLength + this.overflowBytes;
    const overflowed = this.overflowBytes > 0;
    this.blockLength = 0;
    this.overflowBytes = 0;
    if (length === 0) return; // back-to-back delimiters separate nothing
    if (overflowed) return this.drop(`block of ${length} bytes exceeds ${BLOCK_MAX} (the largest encoded frame)`, length);
    const bytes = cobsDecode(this.block.subarray(0, length));
    if (bytes === null) return this.drop("not a COBS block", length, this.block.subarray(0, length));
    const result = (this.options.decode ?? decodeFrame)(bytes);
    if (!result.ok) return this.drop(result.error, length, this.block.subarray(0, length));
    this.stats.frames++;
    out.push({ frame: result.frame, bytes });
  }

  private drop(error: string, length: number, block?: Uint8Array): void {
    this.stats.badBlocks++;
    this.stats.garbageBytes += length;
    this.stats.lastError = error;
    this.onError?.(error, length, block);
  }
}
