// `iotfw flash <port>`: write a build's flash plan to an ESP32 over its ROM bootloader (esptool-js via
// host/flash/flasher.ts; a serial port, socket:// or rfc2217://), with a progress bar (rate, time left)
// on stderr and a summary on stdout.
// May touch: the port and the flash of the device behind it; reads the plan folder.
import type { Command } from "commander";
import type { FlashProgress } from "../../flash/flasher.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

const hex = (n: number) => `0x${n.toString(16)}`;

function bar(p: FlashProgress): string {
  const width = 24;
  const filled = Math.round(p.fraction * width);
  const eta = Math.ceil(p.etaSeconds);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(p.fraction * 100).toFixed(0).padStart(3)}%  ` +
    `${(p.rate / 1024).toFixed(1)} KiB/s  ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, "0")} left  ${p.file}`;
}

export function register(program: Command): void {
  program
    .command("flash")
    .description(COMMAND_SUMMARIES.flash.summary)
    .argument("<port>", "serial port (/dev/ttyUSB0, COM3, a pty), socket://host:port, or rfc2217://host:port (a remote port with DTR/RTS)")
    .option("-b, --board <board>", "board the plan must be for (default: the plan's)")
    .option("-p, --plan <dir>", "build folder with flash-plan.json (default: build/<board>, else build/esp32)")
    .option("--baud <n>", "baud rate for the transfer, after syncing at 115200", "460800")
    .option("--full", "also write the C runtime's bootloader and app images from the plan folder")
    .option("--erase", "erase the whole flash first (then the partition table is always written)")
    .option("--force", "write every image, even those the device's flash already holds (no MD5 comparison first)")
    .option("--no-verify", "skip the MD5 check of what was written")
    .option("--attempts <n>", "connection attempts (reset sequence + 5 SYNCs each)", "7")
    .option("-v, --verbose", "show esptool-js's own messages")
    .action(async (port: string, opts: { board?: string; plan?: string; baud: string; full?: boolean; erase?: boolean; force?: boolean; verify: boolean; verbose?: boolean; attempts: string }) => {
      const baud = Number(opts.baud);
      if (!Number.isInteger(baud) || baud < 9600 || baud > 5_000_000) throw new CliError(`--baud ${opts.baud}: expected a baud rate such as 115200, 460800 or 921600`);
      const tty = process.stderr.isTTY;
      let lastStep = -1;
      // Loaded here, not at the top: this command's --help must not load esptool-js and serialport (issue 13: <= 150 ms).
      const { flashDevice, FlashError } = await import("../../flash/flasher.js");
      try {
        const r = await flashDevice({
          port, board: opts.board, planDir: opts.plan, baud, full: opts.full, erase: opts.erase, force: opts.force, verify: opts.verify, connectAttempts: Math.max(1, Number(opts.attempts) || 7),
          onInfo: (line) => process.stderr.write(`${tty ? "\r\x1b[K" : ""}${line}\n`),
          onDebug: opts.verbose ? (line) => process.stderr.write(`esptool: ${line}\n`) : undefined,
          onProgress: (p) => {
            if (tty) { process.stderr.write(`\r\x1b[K${bar(p)}`); return; }
            const step = Math.floor(p.fraction * 4);
            if (step !== lastStep) { lastStep = step; process.stderr.write(`${bar(p)}\n`); }
          },
        });
        if (tty) process.stderr.write("\r\x1b[K");
        // One line per region of the plan, in address order: what happened to it.
        const lines = [
          ...r.unchanged.map((u) => ({ at: u.address, text: `${u.file} at ${hex(u.address)}: unchanged (md5 ${u.md5}), not written` })),
          ...r.written.map((w) => ({ at: w.address, text: `${w.file} at ${hex(w.address)}: wrote ${w.bytes} bytes${w.md5 ? `, md5 ${w.md5} verified` : ", not verified"}` })),
          ...r.skipped.map((s) => ({ at: s.address, text: `${s.file} at ${hex(s.address)}: kept the device's (${s.reason})` })),
        ].sort((a, b) => a.at - b.at);
        for (const l of lines) process.stdout.write(`${l.text}\n`);
        process.stdout.write(`flashed ${r.chip} (board ${r.board}) in ${r.timings.total.toFixed(1)} s at ${r.baud} baud (${r.written.length} written, ${r.unchanged.length} unchanged); reset into the app ${r.resetBy === "lines" ? "by the DTR/RTS lines" : "in-band"}\n`);
        if (r.app) {
          const name = r.app.name ? `${r.app.name} ${r.app.version ?? "(no version)"}` : `(name unknown: ${r.app.note})`;
          process.stdout.write(`app ${name}, sha256 ${r.app.sha256}\n`);
        }
      } catch (e) {
        if (tty) process.stderr.write("\n");
        if (e instanceof FlashError) throw new CliError(e.message, e.exitCode);
        throw e;
      }
    });
}
