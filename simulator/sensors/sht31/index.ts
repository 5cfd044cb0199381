// Command-level model of a Sensirion SHT31 on I2C (SHT3x-DIS datasheet, version 6): 16-bit commands
// (section 4.3), single-shot measurements with and without clock stretching at each repeatability
// (Table 9) taking the typical time (Table 4), NACK of the read header while a no-stretch measurement
// runs and once the result has been read (section 4.4), the status register (section 4.11), soft
// reset, and CRC-8 on every word (section 4.12). Fault switches: unplugged, a corrupted reply,
// stuck output. Behind each channel a PhysicalSignal. Touches nothing outside this object.
import type { HalStatus, I2cTarget } from "../../hal/buses.js";
import type { PhysicalSignal } from "../signal.js";

const OK = 0;
const ERR_NACK = -1;

/** Single-shot commands (Table 9): repeatability, clock stretching, typical duration (Table 4). */
const SINGLE_SHOT: Record<number, { stretch: boolean; typMs: number }> = {
  0x2c06: { stretch: true, typMs: 12.5 }, 0x2c0d: { stretch: true, typMs: 4.5 }, 0x2c10: { stretch: true, typMs: 2.5 },
  0x2400: { stretch: false, typMs: 12.5 }, 0x240b: { stretch: false, typMs: 4.5 }, 0x2416: { stretch: false, typMs: 2.5 },
};
const CMD_SOFT_RESET = 0x30a2;   // section 4.9
const CMD_READ_STATUS = 0xf32d;  // section 4.11
const CMD_CLEAR_STATUS = 0x3041; // section 4.11
const STATUS_RESET_DETECTED = 0x0010; // bit 4: reset detected, set after power-up or soft reset (Table 17)
const STATUS_COMMAND_FAILED = 0x0002; // bit 1: last command not processed (Table 17)

/** CRC-8 of the datasheet (section 4.12, Table 19): poly 0x31, init 0xFF; crc8([0xBE, 0xEF]) = 0x92. */
export function sht31Crc8(bytes: ArrayLike<number>): number {
  let crc = 0xff;
  for (let i = 0; i < bytes.length; i++) crc = crc8Byte(crc, bytes[i]);
  return crc;
}

function crc8Byte(crc: number, byte: number): number {
  crc ^= byte;
  for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  return crc;
}

/** Raw words for physical values (section 4.13 inverted): St = (T + 45) * 65535 / 175, Srh = RH * 65535 / 100. */
export function sht31Raw(temperature: number, humidity: number): { st: number; srh: number } {
  const clamp = (v: number): number => Math.min(0xffff, Math.max(0, Math.round(v)));
  return { st: clamp(((temperature + 45) * 65535) / 175), srh: clamp((humidity * 65535) / 100) };
}

export interface Sht31ModelOptions {
  /** 0x44 (ADDR low, default) or 0x45 (Table 7). */
  address?: number;
  temperature: PhysicalSignal;  // degC
  humidity: PhysicalSignal;     // %RH
  /** Wire time charged to the device clock per read transaction (the HAL charges none), so a
   *  driver polling through NACKed read headers sees time pass: ~ a read header at 400 kHz plus
   *  the driver's turnaround. */
  transactionUs?: number;
}

export class Sht31Model implements I2cTarget {
  readonly address: number;
  plugged = true;
  /** Fault: the measurement words stop following the signals. */
  stuck = false;
  /** Fault: XOR these masks into the 6-byte measurement reply (index 2 and 5 are the CRCs), e.g.
   *  [0, 0, 0x01, 0, 0, 0] corrupts the temperature CRC. Applied to every reply while set. */
  corruptReply: number[] | null = null;
  /** The words of the last measurement. */
  lastRaw: { st: number; srh: number } | null = null;

  private readonly transactionUs: number;
  private pending: "none" | "measurement" | "status" = "none";
  private stretchMode = false;
  private readyAtUs = 0;
  private words = { st: 0, srh: 0 };
  private status = STATUS_RESET_DETECTED;
  /** The reply being read (reused: one per model, not one per read). */
  private readonly reply = new Uint8Array(6);

  constructor(private readonly options: Sht31ModelOptions) {
    this.address = options.address ?? 0x44;
    this.transactionUs = options.transactionUs ?? 100;
  }

  present(nowUs: number): boolean {
    if (!this.plugged) return false;
    const t = nowUs / 1000;
    return !Number.isNaN(this.options.temperature.at(t)) && !Number.isNaN(this.options.humidity.at(t));
  }

  /** With a clock-stretching command the part holds SCL until the result is ready (section 4.4). */
  stretchUs(nowUs: number): number {
    const waitUs = this.pending === "measurement" && this.stretchMode ? Math.max(0, this.readyAtUs - nowUs) : 0;
    return this.transactionUs + waitUs;
  }

  write(data: Uint8Array, nowUs: number): HalStatus {
    // While a measurement runs the part does not accept commands (section 4.4).
    if (this.pending === "measurement" && nowUs < this.readyAtUs) return ERR_NACK;
    if (data.length !== 2) { this.status |= STATUS_COMMAND_FAILED; return ERR_NACK; }
    const code = (data[0] << 8) | data[1];
    const shot = SINGLE_SHOT[code];
    if (shot) {
      this.pending = "measurement";
      this.stretchMode = shot.stretch;
      this.readyAtUs = nowUs + shot.typMs * 1000;
      if (!this.stuck) {
        const t = nowUs / 1000;
        this.words = sht31Raw(this.options.temperature.at(t), this.options.humidity.at(t));
      }
      this.lastRaw = { ...this.words };
      this.status &= ~STATUS_COMMAND_FAILED;
      return OK;
    }
    switch (code) {
      case CMD_SOFT_RESET: // t_SR (max 1.5 ms) is not modelled: the part is ready at once
        this.pending = "none";
        this.status = STATUS_RESET_DETECTED;
        return OK;
      case CMD_READ_STATUS: this.pending = "status"; return OK;
      case CMD_CLEAR_STATUS: this.status &= ~STATUS_RESET_DETECTED; return OK;
      default: this.status |= STATUS_COMMAND_FAILED; return ERR_NACK;
    }
  }

  read(out: Uint8Array, nowUs: number): HalStatus {
    if (this.pending === "status") {
      this.pending = "none";
      putWord(this.reply, 0, this.status);
      fill(out, this.reply, 3);
      return OK;
    }
    // No result, or a no-stretch measurement still running: the read header is NACKed (section 4.4).
    if (this.pending !== "measurement" || nowUs < this.readyAtUs) return ERR_NACK;
    this.pending = "none"; // a result is read once
    const reply = this.reply;
    putWord(reply, 0, this.words.st);
    putWord(reply, 3, this.words.srh);
    this.corruptReply?.forEach((mask, i) => { if (i < reply.length) reply[i] ^= mask; });
    fill(out, reply, 6);
    return OK;
  }
}

/** A word of two bytes followed by its CRC (section 4.4), at reply[at..at + 3). */
function putWord(reply: Uint8Array, at: number, word: number): void {
  const msb = (word >> 8) & 0xff, lsb = word & 0xff;
  reply[at] = msb;
  reply[at + 1] = lsb;
  reply[at + 2] = crc8Byte(crc8Byte(0xff, msb), lsb);
}

/** The master reads as many bytes as it asks for; past the reply the bus reads 0xFF (SDA released). */
function fill(out: Uint8Array, reply: Uint8Array, length: number): void {
  for (let i = 0; i < out.length; i++) out[i] = i < length ? reply[i] : 0xff;
}
