// `iotfw ports`: the serial ports the OS knows (serialport's list), with USB VID:PID and a hint when the
// USB bridge is one ESP boards commonly carry. May touch: nothing (reads the OS port list).
import type { Command } from "commander";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

/** VID:PID (upper-case hex) -> what it usually is on an ESP board. */
export const ESP_BRIDGES: Record<string, string> = {
  "10C4:EA60": "Silicon Labs CP210x (many ESP32 DevKits)",
  "1A86:7523": "WCH CH340 (many ESP32 boards)",
  "1A86:55D4": "WCH CH9102 (newer ESP32 DevKits)",
  "0403:6001": "FTDI FT232R",
  "0403:6010": "FTDI FT2232 (ESP-Prog, ESP-WROVER-KIT)",
  "0403:6015": "FTDI FT231X",
  "303A:1001": "Espressif USB-Serial/JTAG (ESP32-C3/S3 native USB)",
};

export function register(program: Command): void {
  program
    .command("ports")
    .description(COMMAND_SUMMARIES.ports.summary)
    .option("--json", "the ports as one JSON array")
    .action(async (opts: { json?: boolean }) => {
      const { SerialPort } = await import("serialport"); // not at the top: `ports --help` stays fast
      const ports = (await SerialPort.list()).map((p) => {
        const vidPid = p.vendorId && p.productId ? `${p.vendorId.toUpperCase()}:${p.productId.toUpperCase()}` : null;
        return { path: p.path, vidPid, manufacturer: p.manufacturer ?? null, serialNumber: p.serialNumber ?? null, hint: (vidPid && ESP_BRIDGES[vidPid]) || null };
      });
      if (opts.json) { process.stdout.write(JSON.stringify(ports, null, 2) + "\n"); return; }
      if (ports.length === 0) { process.stdout.write("no serial ports found (is the board plugged in? on Linux, check dmesg)\n"); return; }
      process.stdout.write(portTable(ports));
    });
}

type PortRow = { path: string; vidPid: string | null; manufacturer: string | null; hint: string | null };

/** A header and one line per port, columns as wide as their widest cell. */
export function portTable(ports: PortRow[]): string {
  const rows = [["PORT", "VID:PID", "MANUFACTURER", "LIKELY"], ...ports.map((p) => [p.path, p.vidPid ?? "-", p.manufacturer ?? "-", p.hint ? `ESP: ${p.hint}` : ""])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ").trimEnd() + "\n").join("");
}
