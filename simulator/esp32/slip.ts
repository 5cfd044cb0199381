// SLIP framing as the ESP ROM bootloader and the esptool stub use it (Espressif, esptool docs
// "Serial Protocol", "Low Level Protocol"): every packet starts and ends with 0xC0; inside, 0xC0 is sent
// as 0xDB 0xDC and 0xDB as 0xDB 0xDD. A streaming decoder (bytes outside a packet are ignored, as the
// ROM does with line noise) and an encoder. Pure computation: touches nothing.
export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

export function slipEncode(packet: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of packet) if (b === SLIP_END || b === SLIP_ESC) extra++;
  const out = new Uint8Array(packet.length + extra + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of packet) {
    if (b === SLIP_END) { out[o++] = SLIP_ESC; out[o++] = SLIP_ESC_END; }
    else if (b === SLIP_ESC) { out[o++] = SLIP_ESC; out[o++] = SLIP_ESC_ESC; }
    else out[o++] = b;
  }
  out[o] = SLIP_END;
  return out;
}

export interface SlipDecoderStats {
  packets: number;
  /** Bytes seen outside any packet (noise, text) and packets dropped for a bad escape or overflow. */
  droppedBytes: number;
  badPackets: number;
}

/** Streaming SLIP decoder. A packet longer than maxPacket is dropped (counted), never buffered. */
export class SlipDecoder {
  readonly stats: SlipDecoderStats = { packets: 0, droppedBytes: 0, badPackets: 0 };
  private buf: Uint8Array;
  private len = 0;
  private inside = false;
  private escaping = false;
  private bad = false;

  constructor(readonly maxPacket = 0x4000 + 64) {
    this.buf = new Uint8Array(maxPacket);
  }

  /** Feed bytes; returns the packets they complete (copies), in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const b of chunk) {
      if (b === SLIP_END) {
        if (this.inside && this.len > 0) {
          if (this.bad || this.escaping) { this.stats.badPackets++; this.stats.droppedBytes += this.len; }
          else { out.push(this.buf.slice(0, this.len)); this.stats.packets++; }
        }
        // An END both closes a packet and may open the next one (esptool sends C0 <packet> C0).
        this.inside = true;
        this.len = 0;
        this.escaping = false;
        this.bad = false;
        continue;
      }
      if (!this.inside) { this.stats.droppedBytes++; continue; }
      let value = b;
      if (this.escaping) {
        this.escaping = false;
        if (b === SLIP_ESC_END) value = SLIP_END;
        else if (b === SLIP_ESC_ESC) value = SLIP_ESC;
        else { this.bad = true; continue; }
      } else if (b === SLIP_ESC) {
        this.escaping = true;
        continue;
      }
      if (this.len < this.buf.length) this.buf[this.len++] = value;
      else this.bad = true;
    }
    return out;
  }

  /** Forget a half-received packet (after a reset or a mode change). */
  reset(): void {
    this.inside = false;
    this.len = 0;
    this.escaping = false;
    this.bad = false;
  }
}
