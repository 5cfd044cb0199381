// Numbers of the ESP serial bootloader protocol, each from its source: Espressif's esptool docs
// "Serial Protocol" (commands, packet layout, checksum, ROM error codes, status bytes) and the esptool
// stub's stub_flasher.h (stub error codes, MAX_WRITE_BLOCK). Plus the request parser and the response
// builders for the ROM (4 status bytes on ESP32-family ROMs) and the stub (2 status bytes).
// Pure computation: touches nothing.

/** Command opcodes (Serial Protocol, "Commands"; stub-only ones from stub_flasher.h). */
export const Cmd = {
  FLASH_BEGIN: 0x02, FLASH_DATA: 0x03, FLASH_END: 0x04,
  MEM_BEGIN: 0x05, MEM_END: 0x06, MEM_DATA: 0x07,
  SYNC: 0x08, WRITE_REG: 0x09, READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b, SPI_ATTACH: 0x0d, READ_FLASH_SLOW: 0x0e, CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10, FLASH_DEFL_DATA: 0x11, FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13, GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0, ERASE_REGION: 0xd1, READ_FLASH: 0xd2, RUN_USER_CODE: 0xd3,
} as const;

/** ROM loader error values (Serial Protocol, "ROM Loader Errors"). */
export const RomError = {
  INVALID_MESSAGE: 0x05,
  FAILED_TO_ACT: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE_ERROR: 0x08,
  FLASH_READ_ERROR: 0x09,
  FLASH_READ_LENGTH_ERROR: 0x0a,
  DEFLATE_ERROR: 0x0b,
} as const;

/** Stub loader error codes (legacy stub: stub_flasher.h esp_command_error; esp-flasher-stub: the high byte
 *  of commands.h esp_response_code, same values). */
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const;

/** The ROM bootloader's UART speed after reset (Serial Protocol, "Initial Synchronisation"). */
export const ROM_BAUD = 115200;
/** Checksum seed of the _DATA commands (Serial Protocol, "Checksum"). */
export const CHECKSUM_SEED = 0xef;
/** stub_flasher.h MAX_WRITE_BLOCK: the largest FLASH_(DEFL_)DATA block the stub accepts. */
export const MAX_WRITE_BLOCK = 0x4000;
export const FLASH_SECTOR_SIZE = 0x1000;
/** The stub's greeting after MEM_END jumps to it (Serial Protocol, "Initial Synchronisation"). */
export const OHAI = Uint8Array.of(0x4f, 0x48, 0x41, 0x49);
/** SYNC payload: 0x07 0x07 0x12 0x20 then 32 x 0x55. */
export const SYNC_PAYLOAD = Uint8Array.from([0x07, 0x07, 0x12, 0x20, ...new Array(32).fill(0x55)]);
/** Value field of the ROM's SYNC replies: any non-zero value (the stub answers 0, which is how esptool
 *  tells them apart); we answer the sync word itself. */
export const ROM_SYNC_VALUE = 0x20120707;

export interface Request {
  op: number;
  checksum: number;
  data: Uint8Array;
  /** The size field disagreed with the bytes received. */
  sizeMismatch: boolean;
}

/** A request packet (direction 0x00, op, u16 size, u32 checksum, data); null if it is not one. */
export function parseRequest(packet: Uint8Array): Request | null {
  if (packet.length < 8 || packet[0] !== 0x00) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const size = view.getUint16(2, true);
  const data = packet.subarray(8);
  return { op: packet[1], checksum: view.getUint32(4, true), data, sizeMismatch: size !== data.length };
}

export function dataChecksum(bytes: Uint8Array): number {
  let c = CHECKSUM_SEED;
  for (const b of bytes) c ^= b;
  return c;
}

export function word(data: Uint8Array, index: number): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(index * 4, true);
}

/** A response packet: direction 0x01, op, u16 size, u32 value, then body. */
export function response(op: number, value: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  out[0] = 0x01;
  out[1] = op;
  view.setUint16(2, body.length, true);
  view.setUint32(4, value >>> 0, true);
  out.set(body, 8);
  return out;
}

/** ROM status bytes (ESP32-family ROM: 4 bytes, status, error, 2 reserved). */
export function romStatus(error = 0): Uint8Array {
  return Uint8Array.of(error ? 1 : 0, error, 0, 0);
}

/** Stub status bytes, always 2. The legacy stub sends its error byte then a status byte (stub_flasher.c
 *  cmd_loop); esp-flasher-stub a 16-bit response code big-endian, 0xC000 for BAD_DATA_LEN and so on
 *  (commands.h esp_response_code, command_handler.c s_send_response): the same two bytes on the wire. */
export function stubStatus(error = 0): Uint8Array {
  return Uint8Array.of(error, 0);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
