// `iotfw monitor <port>`: decoded frames from a serial port, socket:// or rfc2217:// (host/link/monitor-link.ts:
// the baud rate set on the remote port, DTR/RTS left so the app runs; --reset restarts it into the app by
// the lines) as they arrive: one readable
// line per frame (device, seq, type, channel names from the device's hello and CHANNELS frames), or NDJSON with --json.
// Text between frames (the runtime's console log, boot messages) is shown as console lines; noise is
// counted, never fatal. Devices are asked for their hello (a broadcast HELLO at start, and once per
// device heard without one) so channels have names from the first frame; --no-hello never writes.
// Says so after 5 s without a frame, with the likely cause. May touch: the port it opens.
import type { Command } from "commander";
import { BROADCAST_DEVICE, ChannelTables, encodeFrame, frameToJson, SerialReader, serialFrame } from "../../protocol/index.js";
import { describeFrame } from "../../protocol/describe.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";
import { parseDuration } from "../duration.js";

/** After this long without a frame, monitor says what it has seen and what is likely wrong. */
const SILENCE_HINT_MS = 5000;

let helloSeq = 0;
/** A HELLO control frame for one device or all (BROADCAST_DEVICE), framed for serial. */
const helloRequest = (device: number) => serialFrame(encodeFrame({ type: "control", device, seq: ++helloSeq, t: 0, op: "hello" }), true);

/** What monitor prints when SILENCE_HINT_MS pass without a frame ("" once frames have come). */
export function silenceHint(port: string, baud: number, bytes: number, frames: number): string {
  if (frames > 0) return "";
  if (bytes === 0) return `monitor: nothing received on ${port} in ${SILENCE_HINT_MS / 1000} s: is the device powered and running its app (not held in the bootloader), and is this its port? (iotfw ports)\n`;
  return `monitor: ${bytes} bytes received on ${port} but no iotfw frame: a baud rate other than the device's (${baud} here; the iotfw runtime uses 115200), or a device not running iotfw\n`;
}

/** Printable lines out of the blocks of a serial line that were not frames; control bytes and
 *  half-lines of noise are skipped. */
export class ConsoleText {
  private partial = "";
  push(block: Uint8Array): string[] {
    const text = this.partial + Buffer.from(block).toString("latin1");
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop()!.slice(-512);
    return lines.map(clean).filter((l): l is string => l !== null);
  }
  flush(): string[] {
    const last = clean(this.partial);
    this.partial = "";
    return last === null ? [] : [last];
  }
}

/** A line worth showing: mostly printable ASCII (ESP-IDF and ROM logs are), or null. */
function clean(line: string): string | null {
  const printable = line.replace(/[^\x20-\x7e\t]/g, "");
  return printable.trim().length >= 3 && printable.length >= 0.9 * line.length ? printable.trimEnd() : null;
}

export function register(program: Command): void {
  program
    .command("monitor")
    .description(COMMAND_SUMMARIES.monitor.summary)
    .argument("<port>", "serial port, socket://host:port or rfc2217://host:port")
    .option("--json", "NDJSON: one frame per line as JSON")
    .option("--baud <n>", "baud rate (over rfc2217:// set on the remote port)", "115200")
    .option("--reset", "first reset the chip into its app by DTR/RTS (esptool's hard reset; a serial port or rfc2217://)")
    .option("--hello", "ask devices for their hello (the default; kept for scripts)")
    .option("--no-hello", "never write to the port: channels show as ch<N> until a device sends its hello by itself")
    .option("--count <n>", "exit after this many frames")
    .option("--duration <time>", "exit after this long, e.g. 30s, 10m (a bare number is seconds)")
    .action(async (port: string, opts: { json?: boolean; baud: string; hello?: boolean; count?: string; duration?: string; reset?: boolean }) => {
      const durationMs = opts.duration === undefined ? undefined : parseDuration(opts.duration, "--duration"); // before opening the port
      const askHello = opts.hello !== false;
      // Loaded here, not at the top: this command's --help must not load serialport (issue 13: <= 150 ms).
      const [{ LinkError }, { openMonitorLink }] = await Promise.all([import("../../link/open.js"), import("../../link/monitor-link.js")]);
      let link;
      try {
        link = await openMonitorLink(port, Number(opts.baud), { reset: opts.reset });
      } catch (e) {
        if (e instanceof LinkError) throw new CliError(e.message);
        throw e;
      }
      const limit = opts.count ? Number(opts.count) : Infinity;
      const tables = new ChannelTables(); // hello + CHANNELS: the channel names of each device
      const consoleText = new ConsoleText();
      const print = (line: string) => process.stdout.write(line + "\n");
      const printConsole = (text: string) => print(opts.json ? JSON.stringify({ type: "console", text, rxMs: Date.now() }) : `console: ${text}`);
      // Text between frames (the runtime's log on the same UART, ROM boot messages) is shown, not lost.
      const reader = new SerialReader((_error, _n, block) => { if (block) for (const line of consoleText.push(block)) printConsole(line); });
      const asked = new Set<number>();
      let frames = 0, received = 0;
      let interrupted = false;
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        const interrupt = () => { interrupted = true; resolve(); };
        process.once("SIGINT", interrupt);
        process.once("SIGTERM", stop);
        if (durationMs !== undefined) setTimeout(stop, durationMs).unref();
        // Say so when nothing arrives, and what is likely wrong, instead of staying silent.
        setTimeout(() => process.stderr.write(silenceHint(port, Number(opts.baud), received, frames)), SILENCE_HINT_MS).unref();
        link.stream.once("close", stop);
        link.stream.on("data", (chunk: Buffer) => {
          received += chunk.length;
          for (const { frame } of reader.push(chunk)) {
            tables.update(frame);
            const channels = tables.channels(frame.device);
            print(opts.json ? JSON.stringify({ ...frameToJson(frame, channels), rxMs: Date.now() }) : describeFrame(frame, channels));
            // A device heard before its hello: ask it once, so its channels get their names now rather
            // than at its next boot.
            if (askHello && !channels && frame.type !== "control" && !asked.has(frame.device)) {
              asked.add(frame.device);
              link.stream.write(helloRequest(frame.device));
            }
            if (++frames >= limit) { resolve(); return; }
          }
        });
        if (askHello) link.stream.write(helloRequest(BROADCAST_DEVICE));
      });
      for (const line of consoleText.flush()) printConsole(line);
      await link.close();
      const s = reader.stats;
      process.stderr.write(`monitor: ${frames} frame(s)${s.badBlocks ? `, ${s.badBlocks} garbage block(s) (${s.garbageBytes} bytes) skipped` : ""}${interrupted ? " (interrupted)" : ""}\n`);
      // Ctrl-C: the tally above, then the shell's convention for SIGINT, as simulate does.
      if (interrupted) throw new CliError("interrupted", 130);
    });
}
