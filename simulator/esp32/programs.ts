// Which program a flashing tool starts with MEM_END. The emulator cannot run Xtensa or RISC-V code, so it
// recognises the flasher stubs it knows by what was loaded (the SHA-256 of the segment at the stub's text
// address, and the entry point) and then answers with that stub's command set; anything else stays the
// ROM loader (loader.ts says so on its log). Two families, with their sources:
// - the legacy esptool flasher stub (espressif/esptool-legacy-flasher-stub, flasher_stub/stub_flasher.c
//   cmd_loop), shipped by esptool v5.3.1 in esptool/targets/stub_flasher/1 (used with --stub-version 1);
// - esp-flasher-stub (espressif/esp-flasher-stub, src/command_handler.c handle_command), esptool v5.3.1's
//   default (esptool/targets/stub_flasher/2, v1.0.0) and the stub esptool-js 0.7.0 uploads (an earlier
//   build: same text address, a different entry point). The rules below follow the sources read
//   (command_handler.c and commands.h, changelog up to v0.6.0).
// The fingerprints below were computed from those JSON files (base64 "text", "text_start", "entry"); the
// stubs themselves are not copied here. Pure data: touches nothing.
import { createHash } from "node:crypto";
import { StubError } from "./protocol.js";

export type StubKind = "legacy-stub" | "esp-flasher-stub";

export interface KnownProgram {
  kind: StubKind;
  chip: string;
  /** Where its fingerprint comes from. */
  from: string;
  textStart: number;
  entry: number;
  textSha256: string;
}

export const KNOWN_PROGRAMS: readonly KnownProgram[] = [
  { kind: "esp-flasher-stub", chip: "ESP32", from: "esptool v5.3.1 esptool/targets/stub_flasher/2/esp32.json", textStart: 0x400a8000, entry: 0x400a9074, textSha256: "59c217e201a5910c15a0f202f2852c8ea44b7406bbf227e2cd6e88fd6a2a75af" },
  { kind: "esp-flasher-stub", chip: "ESP32-C3", from: "esptool v5.3.1 esptool/targets/stub_flasher/2/esp32c3.json", textStart: 0x40380000, entry: 0x40380f2e, textSha256: "3197a9e051fd53da0fe3e39d9aded139e5386f50edfc8af998382b065a173c35" },
  { kind: "esp-flasher-stub", chip: "ESP32-S3", from: "esptool v5.3.1 esptool/targets/stub_flasher/2/esp32s3.json", textStart: 0x40378000, entry: 0x40379474, textSha256: "d0f85e42389e8f5fba03e47444d9fab43e59c2dcd6649059fb22ab69c54f5cdd" },
  { kind: "legacy-stub", chip: "ESP32", from: "esptool v5.3.1 esptool/targets/stub_flasher/1/esp32.json", textStart: 0x400be000, entry: 0x400be658, textSha256: "b2dff40d626d2e83234ba17f79ab968cf5505cf989d15f9954ed477777eeddad" },
  { kind: "legacy-stub", chip: "ESP32-C3", from: "esptool v5.3.1 esptool/targets/stub_flasher/1/esp32c3.json", textStart: 0x40380000, entry: 0x403806d2, textSha256: "857660860ee353699c11c6dfc82d3bfd0bcfa7890c8c9b5fc84f1a551f1f5003" },
  { kind: "legacy-stub", chip: "ESP32-S3", from: "esptool v5.3.1 esptool/targets/stub_flasher/1/esp32s3.json", textStart: 0x40378000, entry: 0x40378c94, textSha256: "4f2db4cfaa9938d03537519d95081372f8b833dfcf2ae8fb47fc90425cb853d3" },
  { kind: "esp-flasher-stub", chip: "ESP32", from: "esptool-js 0.7.0 lib/targets/stub_flasher/esp32.json", textStart: 0x400a8000, entry: 0x400a902c, textSha256: "fc5fb606754d152b9b9e4f20c72fdad83d1d99b1b139744bc53cc160b1edd570" },
  { kind: "esp-flasher-stub", chip: "ESP32-C3", from: "esptool-js 0.7.0 lib/targets/stub_flasher/esp32c3.json", textStart: 0x40380000, entry: 0x40380e9a, textSha256: "c06cc1a34a02d8f8755692cf89843b388978d19a255b0d9c26b10a0f41a90ffb" },
  { kind: "esp-flasher-stub", chip: "ESP32-S3", from: "esptool-js 0.7.0 lib/targets/stub_flasher/esp32s3.json", textStart: 0x40378000, entry: 0x40379524, textSha256: "c37a7d12d52633fd629fbed13f3a7418216af368d8e80f17853ce6de29741374" },
];

/** The known program for this chip whose text segment was loaded and whose entry point MEM_END jumps to. */
export function identifyProgram(chip: string, segments: ReadonlyMap<number, Uint8Array>, entry: number): KnownProgram | null {
  for (const p of KNOWN_PROGRAMS) {
    if (p.chip !== chip || p.entry !== entry) continue;
    const text = segments.get(p.textStart);
    if (text && createHash("sha256").update(text).digest("hex") === p.textSha256) return p;
  }
  return null;
}

/** Where the two stub families answer differently (each rule names the source line it follows). */
export interface StubRules {
  /** The error for an opcode the stub lacks: legacy cmd_loop leaves ESP_CMD_NOT_IMPLEMENTED (0xFF);
   *  esp-flasher-stub's default case answers RESPONSE_INVALID_COMMAND (0xC300). */
  unknownCommand: number;
  /** A FLASH_DATA whose header length differs from the payload: legacy ESP_BAD_DATA_LEN;
   *  esp-flasher-stub s_flash_data RESPONSE_TOO_MUCH_DATA. */
  dataLengthError: number;
  /** WRITE_REG not a multiple of 16 bytes: legacy ESP_BAD_DATA_LEN; esp-flasher-stub RESPONSE_NOT_ENOUGH_DATA. */
  writeRegLengthError: number;
  /** A block that failed to write after its acknowledgement fails the next command of any kind, which is
   *  then not run (esp-flasher-stub handle_command's accumulated_result); the legacy stub reports it with
   *  the next FLASH_(DEFL_)DATA or at the END (get_flash_error). */
  errorFailsNextCommand: boolean;
  /** READ_FLASH: the largest packet and the packets in flight (esp-flasher-stub s_read_flash_post_process:
   *  4096 bytes, max_unacked_packets 1, later builds 2; the legacy stub takes what the host asks). */
  readFlash: { maxPacket: number; maxInFlight: number } | null;
  /** FLASH_END with fewer bytes written than announced: legacy handle_flash_end ESP_NOT_ENOUGH_DATA;
   *  esp-flasher-stub s_handle_flash_end RESPONSE_BAD_DATA_LEN. */
  endShortError: number;
  /** RUN_USER_CODE leaves the loader (legacy: cmd_loop returns into the ROM's boot); esp-flasher-stub only
   *  has a TODO there and keeps running. Neither answers. */
  runUserCodeLeaves: boolean;
}

export const STUB_RULES: Record<StubKind, StubRules> = {
  "legacy-stub": {
    unknownCommand: StubError.CMD_NOT_IMPLEMENTED, dataLengthError: StubError.BAD_DATA_LEN, writeRegLengthError: StubError.BAD_DATA_LEN,
    errorFailsNextCommand: false, readFlash: null, endShortError: StubError.NOT_ENOUGH_DATA, runUserCodeLeaves: true,
  },
  "esp-flasher-stub": {
    unknownCommand: StubError.INVALID_COMMAND, dataLengthError: StubError.TOO_MUCH_DATA, writeRegLengthError: StubError.NOT_ENOUGH_DATA,
    errorFailsNextCommand: true, readFlash: { maxPacket: 4096, maxInFlight: 1 }, endShortError: StubError.BAD_DATA_LEN, runUserCodeLeaves: false,
  },
};
