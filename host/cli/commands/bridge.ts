// `iotfw bridge`: serial ports and a TCP listener in, a durable spool, MQTT/HTTP/another bridge/NDJSON out
// (host/bridge/bridge.ts does the work; docs/bridge.md). Runs until SIGINT/SIGTERM, then stops cleanly:
// what upstreams did not confirm stays in the spool for the next start. Prints the control token.
// May touch: the spool directory, the ports and serial devices named on the command line.
import type { Command } from "commander";
import type { Bridge } from "../../bridge/bridge.js";
import { DEFAULT_HTTP, DEFAULT_SPOOL_DIR } from "../bridge-defaults.js"; // not the bridge itself: --help stays fast
import { HeapMode } from "../../bridge/heap-mode.js";
import { LIMIT_DEFAULTS } from "../../bridge/limits.js";
import { MIN_SPOOL_BYTES } from "../../bridge/spool-disk.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";
import { parseDuration } from "../duration.js";

interface BridgeFlags {
  serial: string[];
  baud: string;
  listen?: string;
  subscribe: string[];
  share?: string;
  upstream: string[];
  spool: string;
  spoolMax: string;
  commitMs: string;
  keys?: string;
  http: string;
  broker?: string;
  prefix: string;
  haDiscovery?: string | boolean;
  ca?: string;
  maxConnections: string;
  maxDevices: string;
  maxDevicesPerConnection: string;
  idleTimeout: string;
  maxPendingFrames: string;
  maxHttpConnections: string;
  maxGarbage: string;
  store?: string;
  storeRetain?: string;
  storeMemory?: string;
  rules?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** "256M", "1G", "500000" -> bytes. */
export function parseSize(text: string, option = "--spool-max"): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?)?$/i.exec(text.trim());
  if (!m) throw new CliError(`${option} takes a size like 256M or 1G, not "${text}"`);
  const unit = (m[2] ?? "").toLowerCase()[0];
  const mult = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
}

function count(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new CliError(`${option} takes a whole number >= 0, not "${text}"`);
  return n;
}

/** --store-retain, only with --store. */
function storeRetain(flags: BridgeFlags): number | undefined {
  if (flags.storeRetain === undefined) return undefined;
  if (!flags.store) throw new CliError("--store-retain needs --store <dir>");
  const ms = parseDuration(flags.storeRetain, "--store-retain");
  if (ms <= 0) throw new CliError("--store-retain takes a time above 0 (leave it out to keep everything)");
  return ms;
}

/** --store-memory, only with --store: DuckDB's memory_limit. */
function storeMemory(flags: BridgeFlags): number | undefined {
  if (flags.storeMemory === undefined) return undefined;
  if (!flags.store) throw new CliError("--store-memory needs --store <dir>");
  const bytes = parseSize(flags.storeMemory, "--store-memory");
  if (bytes < 16 * 1024 * 1024) throw new CliError(`--store-memory ${flags.storeMemory} is below DuckDB's workable minimum of 16M`);
  return bytes;
}

export function register(program: Command): void {
  program
    .command("bridge")
    .description(COMMAND_SUMMARIES.bridge.summary)
    .option("-s, --serial <path>", "a serial port with a device (repeatable; reopened when it comes back)", collect, [])
    .option("--baud <rate>", "serial baud rate", "115200")
    .option("-l, --listen <tcp://host:port>", "listen for devices, MicroPython nodes and bridges below (e.g. tcp://0.0.0.0:7600)")
    .option("--subscribe <mqtt://host:port[/filter]>", "take edge bridges' messages from a broker (default filter <prefix>/#; repeatable): a sink bridge, docs/store.md \"Scale past one host\"", collect, [])
    .option("--share <group>", "with --subscribe: join this MQTT v5 shared subscription group ($share/<group>/<filter>): each message goes to one sink of the group")
    .option("-u, --upstream <url>", "mqtt://, mqtts://, http(s)://, tcp:// (a bridge), postgres(ql):// (tables, docs/store.md), file:<path> or - (repeatable; none: embedded broker)", collect, [])
    .option("--store <dir>", "keep every accepted frame in an embedded DuckDB database there, for `iotfw query` and POST /query (docs/store.md)")
    .option("--store-retain <duration>", "with --store: delete rows older than this (e.g. 30d, 12h; default: keep all)")
    .option("--store-memory <size>", "with --store: DuckDB's memory limit, its cache and key index (default 256M; past it DuckDB evicts and spills)")
    .option("--spool <dir>", "spool directory (one bridge each)", DEFAULT_SPOOL_DIR)
    .option("--spool-max <size>", "bound on the spool (at least 64K); past it the oldest records are dropped (counted)", "256M")
    .option("--commit-ms <ms>", "minimum ms between spool group commits (0: as fast as the disk syncs)", "0")
    .option("--keys <file>", "per-device HMAC keys (JSON {\"<device hex>\": \"<key hex>\"}); unsigned or wrongly signed frames are refused")
    .option("--http <host:port>", "local HTTP API: /health, /metrics, control (or \"off\")", DEFAULT_HTTP)
    .option("--broker <host:port>", "address of the embedded MQTT broker started when no --upstream is given", "127.0.0.1:1883")
    .option("--prefix <topic>", "MQTT topic prefix", "iotfw")
    .option("--ha-discovery [prefix]", "publish Home Assistant MQTT discovery configs (prefix default homeassistant)")
    .option("--rules <file>", "SQL rules, per frame or per window, to another bridge, an MQTT topic or the log (docs/store.md \"Rules\")")
    .option("--ca <file>", "CA certificate (PEM) for mqtts:// upstreams")
    // Limits against abuse (docs/bridge.md "Limits").
    .option("--max-connections <n>", "TCP connections open at once; more are closed at once (counted)", String(LIMIT_DEFAULTS.maxConnections))
    .option("--max-devices <n>", "distinct device ids; frames from more are dropped (counted)", String(LIMIT_DEFAULTS.maxDevices))
    .option("--max-devices-per-connection <n>", "distinct device ids on one connection or serial port", String(LIMIT_DEFAULTS.maxDevicesPerConnection))
    .option("--idle-timeout <duration>", "close a TCP connection silent this long (e.g. 500ms, 30s, 5m; a bare number is seconds; 0: never)", `${LIMIT_DEFAULTS.idleTimeoutMs / 60_000}m`)
    .option("--max-garbage <size>", "close a TCP connection after this much garbage since its last valid message (0: never)", `${LIMIT_DEFAULTS.maxGarbageBytes / 1024 / 1024}M`)
    .option("--max-pending-frames <n>", "frames waiting for the disk, all TCP connections together, at which they all stop reading (0: no bound)", String(LIMIT_DEFAULTS.maxPendingFrames))
    .option("--max-http-connections <n>", "HTTP API connections open at once; more are closed at once (counted)", String(LIMIT_DEFAULTS.maxHttpConnections))
    .action(async (flags: BridgeFlags) => {
      const baudRate = Number(flags.baud);
      if (!Number.isInteger(baudRate) || baudRate <= 0) throw new CliError(`--baud takes a positive whole number, not "${flags.baud}"`);
      const commitIntervalMs = Number(flags.commitMs);
      if (!Number.isFinite(commitIntervalMs) || commitIntervalMs < 0) throw new CliError(`--commit-ms takes a number of ms >= 0, not "${flags.commitMs}"`);
      if (flags.share !== undefined && flags.subscribe.length === 0) throw new CliError("--share needs --subscribe mqtt://host:port (the broker whose shared subscription to join)");
      if (flags.serial.length === 0 && !flags.listen && flags.subscribe.length === 0) throw new CliError("nothing to read: give --serial <path>, --listen tcp://host:port and/or --subscribe mqtt://host:port");
      const spoolMaxBytes = parseSize(flags.spoolMax);
      // Below it the segments (a quarter of the bound each) would hold a few dozen frames (docs/bridge.md "Spool").
      if (spoolMaxBytes < MIN_SPOOL_BYTES) throw new CliError(`--spool-max ${flags.spoolMax} is below the minimum of ${MIN_SPOOL_BYTES / 1024}K (${MIN_SPOOL_BYTES} bytes)`);
      // V8 run for size unless forwarding fast (host/bridge/heap-mode.ts): set before the bridge allocates.
      // Loaded here, not at the top: this command's --help must not load the bridge (mqtt, aedes, pg) (issue 13: <= 150 ms).
      const [{ Bridge, BridgeError }, { MqttInputError }, { KeysError }, { RulesError }] = await Promise.all([
        import("../../bridge/bridge.js"), import("../../bridge/input-mqtt.js"), import("../../bridge/keys.js"), import("../../store/rules-file.js")]);
      let bridge: Bridge | undefined;
      const heap = new HeapMode(() => bridge?.metrics.framesIn.total() ?? 0, () => bridge?.upstreams.some((u) => u.connected()) ?? false).start();
      try {
        bridge = await Bridge.start({
          serial: flags.serial, baudRate, listen: flags.listen, subscribe: flags.subscribe, share: flags.share, upstreams: flags.upstream, spoolDir: flags.spool,
          spoolMaxBytes, commitIntervalMs, keysFile: flags.keys, http: flags.http,
          broker: flags.broker, mqttPrefix: flags.prefix, caFile: flags.ca, rulesFile: flags.rules,
          maxConnections: count(flags.maxConnections, "--max-connections"), maxDevices: count(flags.maxDevices, "--max-devices"),
          maxDevicesPerConnection: count(flags.maxDevicesPerConnection, "--max-devices-per-connection"),
          idleTimeoutMs: parseDuration(flags.idleTimeout, "--idle-timeout"), maxGarbageBytes: parseSize(flags.maxGarbage, "--max-garbage"),
          maxPendingFrames: count(flags.maxPendingFrames, "--max-pending-frames"), maxHttpConnections: count(flags.maxHttpConnections, "--max-http-connections"),
          storeDir: flags.store, storeRetainMs: storeRetain(flags), storeMemoryBytes: storeMemory(flags),
          haDiscovery: flags.haDiscovery === true ? "homeassistant" : flags.haDiscovery || undefined,
        });
      } catch (e) {
        if (e instanceof BridgeError || e instanceof KeysError || e instanceof MqttInputError || e instanceof RulesError) throw new CliError(e.message);
        if (e instanceof Error && /in use|EADDRINUSE|EACCES|ENOSPC/.test(e.message)) throw new CliError(e.message);
        throw e;
      }
      bridge.metrics.gauge("iotfw_bridge_heap_small", "1 while V8 runs the heap for size (--optimize-for-size), 0 while taking frames fast (host/bridge/heap-mode.ts).", () => (heap.small ? 1 : 0));
      // One line on stdout a script can read: where the bridge is and the control token.
      process.stdout.write(JSON.stringify({
        ready: true, tcp: bridge.tcpAddress?.port ?? null, http: bridge.httpAddress?.port ?? null,
        broker: bridge.broker?.url ?? null, token: bridge.token, spool: bridge.spoolDir,
      }) + "\n");
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      bridge.log("stopping");
      heap.stop();
      await bridge.stop();
    });
}
