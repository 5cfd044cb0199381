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

/** What the ROM prints at 115200 when the chip leaves a reset by its EN pin (a power-on reset as far as
 *  the ROM's reset cause goes), with the boot mode its strapping pins select. esptool and esptool-js
 *  read it after their reset sequence (loader.py _connect_attempt: `boot:(0x..)(.*waiting for download)?`)
 *  to tell a wrong boot mode from a dead line. Texts as the ROMs print them: ESP32 ROM "ets Jul 29 2019"
 *  (ECO3), ESP32-C3 "esp32c3-api1-20210207", ESP32-S3 "esp32s3-20210327"; boot-mode values from their
 *  strapping tables (ESP32 0x03 download / 0x13 SPI fast flash; C3 0x04 / 0x0c; S3 0x00 / 0x08). */
export function romBootBanner(chip: string, download: boolean): string {
  const tail = download ? "\r\nwaiting for download\r\n" : "\r\n";
  switch (chip) {
    case "ESP32":
      return `ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),boot:${download ? "0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))" : "0x13 (SPI_FAST_FLASH_BOOT)"}${tail}`;
    case "ESP32-C3":
      return `ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:${download ? "0x4 (DOWNLOAD(USB/UART0/1))" : "0xc (SPI_FAST_FLASH_BOOT)"}${tail}`;
    default:
      return `ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:${download ? "0x0 (DOWNLOAD(USB/UART0))" : "0x8 (SPI_FAST_FLASH_BOOT)"}${tail}`;
  }
}
