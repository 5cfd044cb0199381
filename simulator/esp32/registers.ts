// The registers of the virtual ESP32 that flashing tools read with READ_REG and write with WRITE_REG,
// answering as a real chip of one revision would: the chip-detect magic word, the eFuse words holding
// the factory MAC and the chip revision, the UART clock divider (from which esptool estimates the
// crystal), the ESP32's RTC calibration and 8 MHz clock eFuse (esptool's ROM baud-rate workaround), and
// the SPI flash controller's user-command registers (RDID answers the flash's JEDEC id). Every address and
// bit field is the one esptool v5.3.1 reads (esptool/targets/esp32.py, esp32c3.py, esp32s3.py, and
// esptool/loader.py run_spiflash_command / get_crystal_freq). Any other register reads as it was last
// written, else 0. Pure state: touches nothing.
import type { ChipProfile } from "./chip.js";
import { ROM_BAUD } from "./protocol.js";

/** Espressif's IEEE OUI 24:0A:C4 (Espressif Inc.): the first three bytes of the factory MAC. */
export const ESPRESSIF_OUI = [0x24, 0x0a, 0xc4] as const;

/** The UART's source clock in the ROM loader: the 40 MHz crystal on all three chips (esptool
 *  targets/esp32c3.py, esp32s3.py get_crystal_freq "XTAL is fixed to 40MHz"; esp32.py XTAL_CLK_DIVIDER 1). */
export const UART_CLOCK_HZ = 40_000_000;
/** UART_CLKDIV_REG: integer divider in bits 0-19 (esptool loader.py UART_CLKDIV_MASK), fraction in 20-23. */
const CLKDIV_MASK = 0xfffff;

/** The factory MAC of an emulated device: Espressif's OUI, then the low 24 bits of the device id, so each
 *  device id has its own MAC and the same one on every run. */
export function deviceMac(deviceId: number): number[] {
  return [...ESPRESSIF_OUI, (deviceId >>> 16) & 0xff, (deviceId >>> 8) & 0xff, deviceId & 0xff];
}

const be32 = (b: number[]) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;

/** The fixed (read-only) register values of one chip: the eFuse image and the revision registers. */
function fixedRegisters(chip: ChipProfile, mac: number[]): Map<number, number> {
  const r = new Map<number, number>([[chip.magicRegister, chip.magicValue]]);
  switch (chip.name) {
    case "ESP32": {
      // esptool targets/esp32.py, EFUSE_RD_REG_BASE 0x3FF5A000, word n at base + 4n.
      const efuse = (n: number, v: number) => r.set(0x3ff5a000 + 4 * n, v >>> 0);
      // read_mac: struct.pack(">II", word2, word1)[2:8]: word2's low 16 bits are MAC bytes 0-1 (its bits
      // 16-23 are the MAC's CRC, which esptool does not check; left 0), word1 holds bytes 2-5.
      efuse(1, be32(mac.slice(2, 6)));
      efuse(2, (mac[0] << 8) | mac[1]);
      // Chip revision v3.1 (ECO3, ESP32-D0WD-V3): get_major_chip_version combines word3 bit 15, word5
      // bit 20 and APB_CTL_DATE bit 31 (all set: 7 -> major 3); minor = word5 bits 24-25 = 1;
      // get_pkg_version: word3 bits 9-11 = 1 (D0WD).
      efuse(3, (1 << 15) | (1 << 9));
      // EFUSE_RD_CK8M_FREQ (word4 bits 0-7) and RTCCALICFG1's calibration value (bits 7-31) give
      // get_rom_cal_crystal_freq = cali * 15625 * ck8m / 40 = 1024 * 15625 * 100 / 40 = 40 MHz: the ROM's
      // own clock estimate agrees with the crystal, so esptool's ROM baud workaround sends the rate asked.
      efuse(4, 100);
      efuse(5, (1 << 20) | (1 << 24));
      r.set(0x3ff6607c, (1 << 31) >>> 0); // APB_CTL_DATE_ADDR = DR_REG_SYSCON_BASE + 0x7C, APB_CTL_DATE_S 31
      r.set(0x3ff5f06c, 1024 << 7); // RTCCALICFG1, TIMERS_RTC_CALI_VALUE_S 7
      break;
    }
    case "ESP32-C3":
    case "ESP32-S3": {
      // esptool targets/esp32c3.py EFUSE_BASE 0x60008800, esp32s3.py 0x60007000; EFUSE_BLOCK1_ADDR =
      // MAC_EFUSE_REG = base + 0x44. read_mac: pack(">II", word1, word0)[2:]: word1's low 16 bits are
      // MAC bytes 0-1, word0 bytes 2-5.
      const block1 = (chip.name === "ESP32-C3" ? 0x60008800 : 0x60007000) + 0x44;
      r.set(block1, be32(mac.slice(2, 6)));
      r.set(block1 + 4, (mac[0] << 8) | mac[1]);
      // get_minor_chip_version: block1 word3 bits 18-20 (low) and word5 bit 23 (high); major: word5
      // bits 24-25 (0). Revisions as shipped in current modules: ESP32-C3 v0.4, ESP32-S3 v0.2.
      r.set(block1 + 12, (chip.name === "ESP32-C3" ? 4 : 2) << 18);
      break;
    }
  }
  return r;
}

export class ChipRegisters {
  private readonly fixed: Map<number, number>;
  private readonly written = new Map<number, number>();
  /** The UART's current baud rate (UART_CLKDIV_REG follows it). */
  baud = ROM_BAUD;

  constructor(readonly chip: ChipProfile, readonly mac: number[]) {
    this.fixed = fixedRegisters(chip, mac);
  }

  /** Power-on state: what was written is forgotten, the eFuses and revision registers stay. */
  reset(baud: number): void {
    this.written.clear();
    this.baud = baud;
  }

  read(addr: number): number {
    if (addr === this.chip.uartClkdivRegister) return this.clkdiv();
    return this.fixed.get(addr) ?? this.written.get(addr) ?? 0;
  }

  /** WRITE_REG: value under mask; read-only registers (eFuses, magic) keep their value. */
  write(addr: number, value: number, mask: number): void {
    if (this.fixed.has(addr)) return;
    const old = this.written.get(addr) ?? 0;
    this.written.set(addr, ((old & ~mask) | (value & mask)) >>> 0);
    const spi = this.chip.spi;
    const SPI_CMD_USR = 1 << 18; // SPI_CMD_REG bit that starts a user command (esptool loader.py run_spiflash_command)
    if (addr === spi.base && value & SPI_CMD_USR) {
      const command = (this.written.get(spi.base + spi.usr2) ?? 0) & 0xff;
      const SPIFLASH_RDID = 0x9f; // esptool loader.py flash_id
      this.written.set(spi.base + spi.w0, command === SPIFLASH_RDID ? this.chip.flashId : 0);
      this.written.set(addr, (this.written.get(addr)! & ~SPI_CMD_USR) >>> 0); // done at once
    }
  }

  /** The crystal frequency the ESP32 ROM believes it has (esptool targets/esp32.py get_rom_cal_crystal_freq). */
  romCalibratedClock(): number {
    const cali = (this.read(0x3ff5f06c) >>> 7) & 0x01ffffff;
    return (cali * 15625 * (this.read(0x3ff5a010) & 0xff)) / 40;
  }

  /** UART_CLKDIV_REG for the current baud rate: clock / baud as integer and 4-bit fraction. */
  private clkdiv(): number {
    const sixteenths = Math.round((UART_CLOCK_HZ * 16) / this.baud);
    return ((((sixteenths & 0xf) << 20) | ((sixteenths >> 4) & CLKDIV_MASK)) >>> 0);
  }
}
