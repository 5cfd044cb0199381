// `iotfw monitor <port>`: decoded frames from a serial port or socket:// as they arrive: one readable
// line per frame (device, seq, type, channel names from the device's hello and CHANNELS frames), or NDJSON with --json.
// Anything else on the line (boot text, noise) is counted, never fatal. May touch: the port it opens
// (it writes to it only with --hello: one broadcast HELLO control frame).
import type { Command } from "commander";
import { openLink, parseLinkSpec, LinkError } from "../../link/open.js";
import { BROADCAST_DEVICE, ChannelTables, encodeFrame, frameToJson, SerialReader, serialFrame, type Frame, type HelloChannel, type JsonObject } from "../../protocol/index.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";
import { parseDuration } from "../duration.js";

const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null ? "-" : String(v));

const channelList = (j: JsonObject) => (j.channels as JsonObject[]).map((c) => `${c.id}=${c.name}[${c.unit}]`).join(" ");

/** One human-readable line for a decoded frame. */
export function describeFrame(frame: Frame, channels?: readonly HelloChannel[]): string {
  const j = frameToJson(frame, channels) as JsonObject;
  const head = `dev ${frame.device} #${frame.seq} t=${frame.t}ms ${frame.type}`;
  const name = (c: JsonObject) => (c.name ? `${c.name}${c.unit ? `[${c.unit}]` : ""}` : `ch${c.channel}`);
  switch (frame.type) {
    case "hello":
      return `${head} ${j.firmware} on ${j.board}, abi ${j.abi}, sample ${j.samplePeriodMs} ms, channels: ` +
        channelList(j);
    case "channels":
      return `${head} more channels: ${channelList(j)}`;
    case "summary":
      return `${head} window ${j.windowMs} ms: ` + (j.channels as JsonObject[])
        .map((c) => `${name(c)} n=${c.count} mean=${fmt(c.mean)} min=${fmt(c.min)} max=${fmt(c.max)} sd=${fmt(c.std)}`).join("; ");
    case "event":
      return `${head} ${j.kind} ${name(j)} value=${fmt(j.value)} code=${j.code}`;
    case "log":
      return `${head} [${j.level}] ${j.text}`;
    default: {
      const { type: _t, device: _d, seq: _s, t: _tt, ...rest } = j;
      return `${head} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : fmt(v)}`).join(" ")}`;
    }
  }
}

export function register(program: Command): void {
  program
    .command("monitor")
    .description(COMMAND_SUMMARIES.monitor.summary)
    .argument("<port>", "serial port or socket://host:port")
    .option("--json", "NDJSON: one frame per line as JSON")
    .option("--baud <n>", "baud rate", "115200")
    .option("--hello", "ask every device on the link for its hello first (a broadcast HELLO control frame)")
    .option("--count <n>", "exit after this many frames")
    .option("--duration <time>", "exit after this long, e.g. 30s, 10m (a bare number is seconds)")
    .action(async (port: string, opts: { json?: boolean; baud: string; hello?: boolean; count?: string; duration?: string }) => {
      const durationMs = opts.duration === undefined ? undefined : parseDuration(opts.duration, "--duration"); // before opening the port
      let link;
      try {
        link = await openLink(parseLinkSpec(port, Number(opts.baud)));
      } catch (e) {
        if (e instanceof LinkError) throw new CliError(e.message);
        throw e;
      }
      const limit = opts.count ? Number(opts.count) : Infinity;
      const tables = new ChannelTables(); // hello + CHANNELS: the channel names of each device
      const reader = new SerialReader();
      let frames = 0;
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        if (durationMs !== undefined) setTimeout(stop, durationMs).unref();
        link.stream.once("close", stop);
        link.stream.on("data", (chunk: Buffer) => {
          for (const { frame } of reader.push(chunk)) {
            tables.update(frame);
            const channels = tables.channels(frame.device);
            const out = opts.json ? JSON.stringify({ ...frameToJson(frame, channels), rxMs: Date.now() }) : describeFrame(frame, channels);
            process.stdout.write(out + "\n");
            if (++frames >= limit) { resolve(); return; }
          }
        });
        if (opts.hello) {
          link.stream.write(serialFrame(encodeFrame({ type: "control", device: BROADCAST_DEVICE, seq: 1, t: 0, op: "hello" }), true));
        }
      });
      await link.close();
      const s = reader.stats;
      process.stderr.write(`monitor: ${frames} frame(s)${s.badBlocks ? `, ${s.badBlocks} garbage block(s) (${s.garbageBytes} bytes) skipped` : ""}\n`);
    });
}
