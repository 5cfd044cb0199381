// `iotfw ports`: the serial ports the OS knows (serialport's list), with USB VID:PID and a hint when the
// USB bridge is one ESP boards commonly carry. May touch: nothing (reads the OS port list).
import type { Command } from "commander";
import { SerialPort } from "serialport";
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
    .option("--json", "one JSON object per port")
    .action(async (opts: { json?: boolean }) => {
      const ports = await SerialPort.list();
      if (ports.length === 0 && !opts.json) { process.stdout.write("no serial ports found (is the board plugged in? on Linux, check dmesg)\n"); return; }
      for (const p of ports) {
        const id = p.vendorId && p.productId ? `${p.vendorId.toUpperCase()}:${p.productId.toUpperCase()}` : "";
        const hint = ESP_BRIDGES[id] ?? "";
        if (opts.json) {
          process.stdout.write(JSON.stringify({ path: p.path, vidPid: id || null, manufacturer: p.manufacturer ?? null, serialNumber: p.serialNumber ?? null, hint: hint || null }) + "\n");
        } else {
          process.stdout.write(`${p.path.padEnd(16)} ${(id || "-").padEnd(9)} ${[p.manufacturer, hint && `likely ESP: ${hint}`].filter(Boolean).join("  ")}\n`);
        }
      }
    });
}
