// What the virtual ESP32 says about itself, from the board file (boards/*.json "detect", "flash") and
// esptool's per-chip constants (esptool targets/esp32*.py, mirrored in esptool-js lib/targets): the magic
// value at CHIP_DETECT_MAGIC_REG_ADDR, the chip id GET_SECURITY_INFO reports (ESP32-S2 and later ROMs
// only), the SPI peripheral registers esptool drives to read the flash JEDEC id, and that id, the UART
// clock divider register (the rest of the register map: registers.ts).
// Pure data: touches nothing.
import type { Board } from "../../host/build/boards.js";

export interface SpiRegisters {
  base: number;
  usr: number;
  usr2: number;
  w0: number;
}

export interface ChipProfile {
  /** esptool's CHIP_NAME: "ESP32", "ESP32-C3", "ESP32-S3". */
  name: string;
  magicRegister: number;
  magicValue: number;
  /** null: the ROM has no GET_SECURITY_INFO (ESP32). */
  securityInfoChipId: number | null;
  spi: SpiRegisters;
  /** UART0's UART_CLKDIV_REG (esptool targets: UART_CLKDIV_REG). */
  uartClkdivRegister: number;
  flashSize: number;
  /** JEDEC id as the RDID command returns it in SPI W0: manufacturer | type << 8 | capacity << 16. */
  flashId: number;
  bootloaderOffset: number;
  partitionTableOffset: number;
}

/** esptool targets: SPI_REG_BASE and the USR/USR2/W0 register offsets. */
const SPI_BY_CHIP: Record<string, SpiRegisters> = {
  "ESP32": { base: 0x3ff42000, usr: 0x1c, usr2: 0x24, w0: 0x80 },
  "ESP32-C3": { base: 0x60002000, usr: 0x18, usr2: 0x20, w0: 0x58 },
  "ESP32-S3": { base: 0x60002000, usr: 0x18, usr2: 0x20, w0: 0x58 },
};

/** esptool targets/esp32.py UART_CLKDIV_REG 0x3FF40014; esp32c3.py and esp32s3.py 0x60000014. */
const UART_CLKDIV_BY_CHIP: Record<string, number> = { "ESP32": 0x3ff40014, "ESP32-C3": 0x60000014, "ESP32-S3": 0x60000014 };

/** Winbond W25Q-series: manufacturer 0xEF, memory type 0x40; capacity id = log2(bytes)
 *  (esptool DETECTED_FLASH_SIZES: 0x16 = 4MB). */
function jedecId(sizeBytes: number): number {
  return 0xef | (0x40 << 8) | (Math.log2(sizeBytes) << 16);
}

export function chipProfile(board: Board): ChipProfile {
  const spi = SPI_BY_CHIP[board.chip];
  if (!spi) throw new Error(`board ${board.name}: the virtual ESP32 knows no chip "${board.chip}" (known: ${Object.keys(SPI_BY_CHIP).join(", ")})`);
  return {
    name: board.chip,
    magicRegister: board.detect.magicRegister,
    magicValue: board.detect.magicValues[0],
    securityInfoChipId: board.detect.securityInfoChipId,
    spi,
    uartClkdivRegister: UART_CLKDIV_BY_CHIP[board.chip],
    flashSize: board.flash.sizeBytes,
    flashId: jedecId(board.flash.sizeBytes),
    bootloaderOffset: board.flash.bootloaderOffset,
    partitionTableOffset: board.flash.partitionTableOffset,
  };
}

/** --chip esp32|esp32c3|esp32s3 -> board name (one board per chip ships in boards/). */
export const CHIP_BOARDS: Record<string, string> = { esp32: "esp32", esp32c3: "esp32c3", esp32s3: "esp32s3" };
