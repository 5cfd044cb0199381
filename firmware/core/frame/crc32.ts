// CRC-32 for frames on the device (IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, init and
// xorout 0xFFFFFFFF; docs/protocol.md "Integrity"). The 256-entry table lives in static memory and is
// built once at module start; crc32() reads raw memory and allocates nothing. Touches only its table.

const CRC_POLY_REFLECTED: u32 = 0xEDB88320;
const crcTable = memory.data(256 * 4);

function buildCrcTable(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (CRC_POLY_REFLECTED ^ (c >>> 1)) : (c >>> 1);
    store<u32>(crcTable + (<usize>n << 2), c);
  }
}
buildCrcTable();

/** CRC-32 of len bytes at ptr. crc32 of "123456789" is 0xCBF43926 (the standard check value). */
export function crc32(ptr: usize, len: i32): u32 {
  let c: u32 = 0xFFFFFFFF;
  for (let i = 0; i < len; i++) {
    c = load<u32>(crcTable + (<usize>((c ^ <u32>load<u8>(ptr + <usize>i)) & 0xFF) << 2)) ^ (c >>> 8);
  }
  return c ^ 0xFFFFFFFF;
}
