// The virtual ESP32's SPI flash, persisted in a file: created 0xFF-filled (erased NOR flash) at the
// board's flash size, kept in memory, every change written through to the file at its offset so the
// contents survive the emulator. May touch: the flash file it is given.
import { closeSync, existsSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";

export class FlashRangeError extends Error {}

export class FlashFile {
  readonly bytes: Uint8Array;
  private fd: number;

  constructor(readonly path: string, readonly size: number) {
    const fresh = !existsSync(path);
    this.fd = openSync(path, fresh ? "w+" : "r+");
    this.bytes = new Uint8Array(size).fill(0xff);
    if (fresh) {
      writeSync(this.fd, this.bytes, 0, size, 0);
    } else {
      const have = fstatSync(this.fd).size;
      if (have > size) { closeSync(this.fd); throw new Error(`${path} holds ${have} bytes, more than the ${size}-byte flash of this chip`); }
      if (have > 0) readSync(this.fd, this.bytes, 0, have, 0);
      if (have < size) writeSync(this.fd, this.bytes, have, size - have, have); // grow to full size, erased
    }
  }

  private check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FlashRangeError(`flash range 0x${offset.toString(16)}+0x${length.toString(16)} is outside the ${this.size}-byte flash`);
    }
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    return this.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    this.check(offset, data.length);
    this.bytes.set(data, offset);
    writeSync(this.fd, data, 0, data.length, offset);
  }

  erase(offset: number, length: number): void {
    this.check(offset, length);
    this.bytes.fill(0xff, offset, offset + length);
    writeSync(this.fd, this.bytes, offset, length, offset);
  }

  md5(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    return createHash("md5").update(this.bytes.subarray(offset, offset + length)).digest();
  }

  close(): void {
    if (this.fd >= 0) { closeSync(this.fd); this.fd = -1; }
  }
}
