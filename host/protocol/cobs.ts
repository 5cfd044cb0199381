// Consistent Overhead Byte Stuffing (S. Cheshire, M. Baker, "Consistent Overhead Byte Stuffing",
// IEEE/ACM Trans. Networking 7(2), 1999): removes every 0x00 from a frame so 0x00 can delimit frames on
// a serial link. Overhead: one byte per started run of 254 non-zero bytes. Pure functions, never throw.

/** Largest encoding of n bytes: n + ceil(n / 254), at least n + 1. */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.max(1, Math.ceil(n / 254));
}

/** COBS-encode data (no delimiter added). */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length));
  let codeAt = 0;
  let code = 1;
  let o = 1;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b !== 0) {
      out[o++] = b;
      code++;
    }
    if (b === 0 || code === 0xff) {
      out[codeAt] = code;
      code = 1;
      codeAt = o;
      // a full 254-byte run at the very end needs no further code byte (the paper's canonical form)
      if (b === 0 || i + 1 < data.length) o++;
    }
  }
  out[codeAt] = code; // after a run ending the data, codeAt === o: a write past the result, dropped
  return out.slice(0, o);
}

/** Decode one COBS block (without its delimiter); null when it is not valid COBS (a 0x00 inside, or a
 *  code byte pointing past the end). */
export function cobsDecode(encoded: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(encoded.length);
  let o = 0;
  let i = 0;
  while (i < encoded.length) {
    const code = encoded[i++];
    if (code === 0) return null;
    const end = i + code - 1;
    if (end > encoded.length) return null;
    for (; i < end; i++) {
      const b = encoded[i];
      if (b === 0) return null;
      out[o++] = b;
    }
    if (code !== 0xff && i < encoded.length) out[o++] = 0;
  }
  return out.slice(0, o);
}
