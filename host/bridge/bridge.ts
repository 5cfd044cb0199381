// The bridge (docs/bridge.md): wires inputs -> checks (keys, de-duplication, sessions) -> durable spool ->
// one forwarder per upstream, plus control routing, the HTTP API and the embedded broker when no upstream
// is given. `Bridge.start(options)` is what `iotfw bridge` runs; tests start it in-process or as a child.
// May touch: the spool directory, the ports and serial devices it is told to use.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import {
  decodeFrameAllowingHmac, encodeFrame, isSignedFrame, verifyFrameHmac, type ControlFrame, type Frame, type JsonObject, type JsonValue,
} from "../protocol/index.js";
import { Api } from "./api.js";
import { startEmbeddedBroker, EMBEDDED_BROKER_PORT, type EmbeddedBroker } from "./broker.js";
import { CommandError, parseCommand } from "./commands.js";
import { Dedupe } from "./dedupe.js";
import { ControlError, Devices, type DeviceLink } from "./devices.js";
import { SerialInput, TcpInput, type Ingest, type TcpConnection } from "./inputs.js";
import { loadKeys } from "./keys.js";
import { Limits, type LimitOptions } from "./limits.js";
import { Metrics } from "./metrics.js";
import { deviceName, encodeRecord, parseDeviceName, recordKey, wallMs, type SpoolRecord } from "./records.js";
import { Spool } from "./spool.js";
import { Forwarder, type Upstream } from "./upstream.js";
import { MqttUpstream } from "./upstream-mqtt.js";
import { BridgeUpstream, HttpUpstream, NdjsonUpstream } from "./upstream-simple.js";
import { MqttInput } from "./input-mqtt.js";
import { PostgresUpstream } from "../store/upstream-postgres.js";

export const DEFAULT_SPOOL_DIR = join(homedir(), ".iotfw", "spool");
export const DEFAULT_HTTP = "127.0.0.1:7601";

/** The limits (limits.ts, docs/bridge.md "Limits") are options too: maxConnections, idleTimeoutMs, ... */
export interface BridgeOptions extends LimitOptions {
  serial?: string[];
  baudRate?: number;
  /** "tcp://host:port" for devices, MicroPython nodes and bridges below. */
  listen?: string;
  /** mqtt://host[:port][/<filter>]: take edge bridges' messages from a broker (input-mqtt.ts). */
  subscribe?: string[];
  /** With subscribe: the MQTT v5 shared subscription group this sink joins. */
  share?: string;
  /** mqtt(s)://, http(s)://, tcp://, file:<path>, "-". None: the embedded broker. */
  upstreams?: string[];
  spoolDir?: string;
  spoolMaxBytes?: number;
  commitIntervalMs?: number;
  keysFile?: string;
  /** "host:port" of the HTTP API, or "off". */
  http?: string;
  /** "host:port" of the embedded broker (only used without upstreams). */
  broker?: string;
  mqttPrefix?: string;
  haDiscovery?: string;
  caFile?: string;
  /** `--rules rules.sql` (docs/store.md "Rules"): SQL rules, a spool reader named "rules". */
  rulesFile?: string;
  /** `--store DIR` (docs/store.md): every accepted frame kept in DIR/store.duckdb, a spool reader named "store". */
  storeDir?: string;
  /** `--store-retain`: rows older than this many ms are deleted (0/absent: kept). */
  storeRetainMs?: number;
  /** --store-memory: DuckDB's memory_limit (bytes). */
  storeMemoryBytes?: number;
  log?: (line: string) => void;
}

export class BridgeError extends Error {}

/** "host:port" or "tcp://host:port" -> parts; port 0 = any free port. */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new BridgeError(`${what}: expected host:port (e.g. 127.0.0.1:7600), got "${text}"`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

/** Fowler–Noll–Vo 1a, 32-bit (IETF draft-eastlake-fnv): device ids for MicroPython nodes named by text. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/** A MicroPython node's device id: its "device"/"id" field (hex id, number, or name hashed), else the
 *  hash of its peer address (docs/bridge.md "MicroPython nodes"). */
export function jsonDeviceId(field: unknown, peer: string): number {
  if (typeof field === "number" && Number.isInteger(field) && field >= 0 && field <= 0xffffffff) return field;
  if (typeof field === "string" && field) return parseDeviceName(field) ?? fnv1a32(field);
  return fnv1a32(peer);
}

function jsonReadings(value: unknown[]): JsonObject[] {
  return value.map((el, i): JsonObject => {
    if (el !== null && typeof el === "object" && !Array.isArray(el)) {
      const o = el as Record<string, JsonValue>;
      const name = o.sensor ?? o.name ?? o.channel ?? `v${i}`;
      return { name: String(name), ...(o.unit !== undefined ? { unit: o.unit } : {}), value: (o.value ?? o.v ?? null) as JsonValue, ...(o.t !== undefined ? { t: o.t } : {}) };
    }
    return { name: `v${i}`, value: (typeof el === "number" || typeof el === "string" || typeof el === "boolean" ? el : null) };
  });
}

export class Bridge implements Ingest {
  readonly metrics = new Metrics();
  readonly limits: Limits;
  readonly token = randomBytes(24).toString("hex");
  readonly upstreams: Upstream[] = [];
  /** The edge store, with --store. */
  store: import("../store/edge-store.js").EdgeStore | null = null;
  httpAddress: AddressInfo | null = null;
  tcpAddress: AddressInfo | null = null;
  broker: EmbeddedBroker | null = null;
  private readonly dedupe = new Dedupe();
  private spool!: Spool;
  private devices!: Devices;
  private keys: Map<number, Buffer> | null = null;
  private readonly forwarders: Forwarder[] = [];
  private readonly serials: SerialInput[] = [];
  private readonly subscriptions: MqttInput[] = [];
  private tcp: TcpInput | null = null;
  private api: Api | null = null;
  /** The group commit the records being added now go in, their counts per input kind (frames_in), and
   *  the frames de-duplication remembered for it, flat: device, seq, crc, device, ... (no array per frame). */
  private accepting: { commit: Promise<void>; counts: Map<string, [frames: number, bytes: number]>; remembered: number[] } | null = null;
  /** "tcp", "serial": the frames_in label of each link. */
  private readonly linkKinds = new WeakMap<DeviceLink, string>();
  private lockFile = "";
  readonly spoolDir: string;
  readonly log: (line: string) => void;

  private constructor(private readonly options: BridgeOptions) {
    this.spoolDir = options.spoolDir ?? DEFAULT_SPOOL_DIR;
    this.log = options.log ?? ((line) => process.stderr.write(`bridge: ${line}\n`));
    this.limits = new Limits(options, this.metrics, this.log);
  }

  static async start(options: BridgeOptions): Promise<Bridge> {
    const b = new Bridge(options);
    try {
      await b.startParts();
    } catch (e) {
      await b.stop().catch(() => undefined);
      throw e;
    }
    return b;
  }

  private takeLock(): void {
    mkdirSync(this.spoolDir, { recursive: true });
    this.lockFile = join(this.spoolDir, "bridge.lock");
    if (existsSync(this.lockFile)) {
      const pid = Number(readFileSync(this.lockFile, "utf8"));
      let alive = false;
      try { if (pid > 0 && pid !== process.pid) { process.kill(pid, 0); alive = true; } } catch { /* not running: a crash left it */ }
      if (alive) throw new BridgeError(`spool ${this.spoolDir} is in use by another bridge (pid ${pid}); give each bridge its own --spool`);
    }
    writeFileSync(this.lockFile, String(process.pid));
  }

  private async startParts(): Promise<void> {
    const o = this.options;
    this.takeLock();
    if (o.keysFile) this.keys = loadKeys(o.keysFile);
    // Upstreams first (their names are the spool's readers); the embedded broker when there is none,
    // unless the frames are kept in a store (a Pi that keeps its data asked for no broker).
    let urls = o.upstreams ?? [];
    if (urls.length === 0 && o.storeDir) this.log("no --upstream: frames are kept in the store only");
    else if (urls.length === 0) {
      const { host, port } = o.broker ? parseHostPort(o.broker, "--broker") : { host: "127.0.0.1", port: EMBEDDED_BROKER_PORT };
      this.broker = await startEmbeddedBroker(host, port);
      this.log(`no --upstream: embedded MQTT broker on ${this.broker.url}`);
      urls = [this.broker.url];
    }
    for (const url of urls) this.upstreams.push(this.makeUpstream(url));
    if (o.rulesFile) { // loaded only when asked for: DuckDB is a native module the bridge otherwise never needs
      const { RulesUpstream } = await import("../store/rules.js");
      const rules = await RulesUpstream.open(o.rulesFile, {
        log: this.log, onControl: (f) => this.controlFromAbove(f), helloOf: (d) => this.helloRecord(d), caFile: o.caFile,
      });
      this.upstreams.push(rules);
      this.metrics.extra.push(rules.matched, rules.errors, rules.latency);
      this.log(`rules: ${rules.describe()}`);
    }
    if (o.storeDir) { // loaded only when asked for: DuckDB is a native module the bridge otherwise never needs
      const { EdgeStore } = await import("../store/edge-store.js");
      this.store = new EdgeStore(o.storeDir, { retainMs: o.storeRetainMs, memoryBytes: o.storeMemoryBytes, log: this.log });
      this.upstreams.push(this.store);
    }
    const names = this.upstreams.map((u) => u.name);
    if (new Set(names).size !== names.length) throw new BridgeError(`the same upstream is given twice: ${names.join(", ")}`);

    this.spool = await Spool.open(this.spoolDir, { readers: names, readAhead: this.upstreams.filter((u) => u.readsAhead).map((u) => u.name), maxBytes: o.spoolMaxBytes, commitIntervalMs: o.commitIntervalMs, log: this.log }, (e) => {
      const k = recordKey(e.body);
      if (k) this.dedupe.accept(k.device, k.seq, k.crc, k.session);
    });
    if (this.spool.stats.tornRecords) this.log(`spool: cut off ${this.spool.stats.tornRecords} torn record tail(s) left by a crash`);
    if (this.spool.depth) this.log(`spool: ${this.spool.depth} record(s) not yet delivered; replaying`);
    this.devices = new Devices(this.spoolDir, this.keys, (device, online) => {
      for (const u of this.upstreams) if (u instanceof MqttUpstream) u.availability(device, online);
    });
    const ds = this.devices.store.stats;
    if (ds.migrated || ds.tornBytes || ds.badLines) this.log(`devices: ${ds.migrated} carried over from devices.json, ${ds.tornBytes} torn byte(s) cut off, ${ds.badLines} unreadable line(s) skipped`);
    const m = this.metrics;
    m.gauge("iotfw_bridge_spool_depth", "Records in the spool not yet confirmed by every upstream.", () => this.spool.depth);
    m.gauge("iotfw_bridge_spool_bytes", "Bytes of spool segments on disk.", () => this.spool.stats.bytes);
    m.gauge("iotfw_bridge_spool_dropped_total", "Records deleted by the spool's size bound before delivery (drop-oldest).", () => this.spool.stats.dropped, "counter");
    m.gauge("iotfw_bridge_upstreams_connected", "Upstreams connected now.", () => this.upstreams.filter((u) => u.connected()).length);

    for (const u of this.upstreams) {
      await u.start();
      const f = new Forwarder(this.spool, u, this.metrics, this.log);
      this.forwarders.push(f);
      f.start();
    }
    if (o.listen) {
      const { host, port } = parseHostPort(o.listen, "--listen");
      this.tcp = new TcpInput(this, this.limits);
      this.limits.checkDescriptors();
      m.gauge("iotfw_bridge_tcp_connections", "TCP connections open now (capped by --max-connections).", () => this.tcp?.size ?? 0);
      this.tcp.gate.expose(m);
      this.tcpAddress = await this.tcp.listen(host, port).catch((e: NodeJS.ErrnoException) => {
        throw new BridgeError(`--listen ${o.listen}: ${e.code === "EADDRINUSE" ? "address in use" : e.message}`);
      });
      this.log(`listening for devices on tcp://${host}:${this.tcpAddress.port}`);
    }
    for (const path of o.serial ?? []) {
      const s = new SerialInput(path, o.baudRate ?? 115200, this);
      this.serials.push(s);
      s.start();
    }
    for (const url of o.subscribe ?? []) {
      const input = new MqttInput(url, (r) => this.spoolMessage(r), { share: o.share, prefix: o.mqttPrefix, stateDir: this.spoolDir, caFile: o.caFile, log: this.log });
      this.subscriptions.push(input);
      await input.start();
    }
    if ((o.http ?? DEFAULT_HTTP) !== "off") {
      const { host, port } = parseHostPort(o.http ?? DEFAULT_HTTP, "--http");
      this.api = new Api(this.token, {
        health: () => this.health(),
        metrics: () => this.metrics.render(),
        log: this.log,
        devices: () => this.devices.list(),
        control: (device, command, timeoutMs) => this.control(device, command, timeoutMs),
        query: this.store ? (sql, limit) => this.store!.query(sql, limit) : undefined,
        maxConnections: this.limits.settings.maxHttpConnections,
        connectionRefused: (from) => this.limits.httpRefused(from),
      });
      this.httpAddress = await this.api.listen(host, port);
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${this.httpAddress.port}`;
      writeFileSync(join(this.spoolDir, "ctl.json"), JSON.stringify({ url, token: this.token, pid: process.pid }) + "\n", { mode: 0o600 });
      this.log(`HTTP API on ${url} (token in ${join(this.spoolDir, "ctl.json")})`);
    }
  }

  private makeUpstream(url: string): Upstream {
    if (url === "-" || url.startsWith("file:")) return new NdjsonUpstream(url);
    let u: URL;
    // Credentials in a URL that does not parse are not echoed back into the log.
    try { u = new URL(url); } catch { throw new BridgeError(`--upstream ${url.replace(/\/\/[^/@]*@/, "//***@")}: not a URL (mqtt://, mqtts://, http://, https://, tcp://, postgres://, postgresql://, file:<path> or -)`); }
    switch (u.protocol) {
      case "mqtt:": case "mqtts:":
        return new MqttUpstream(url, {
          prefix: this.options.mqttPrefix, haDiscovery: this.options.haDiscovery, caFile: this.options.caFile, log: this.log,
          stateDir: this.spoolDir, // the bridge id and the discovery topics it owns live with the spool
          onCommand: (device, body) => this.commandFromMqtt(device, body),
        });
      case "http:": case "https:": return new HttpUpstream(url);
      case "postgres:": case "postgresql:":
        return new PostgresUpstream(url, { log: this.log });
      case "tcp:":
        if (!u.port) throw new BridgeError(`--upstream ${url}: a bridge upstream needs a port`);
        return new BridgeUpstream(url, (frame) => this.controlFromAbove(frame));
      default: throw new BridgeError(`--upstream ${url}: unsupported scheme ${u.protocol} (mqtt, mqtts, http, https, tcp, postgres, postgresql, file, -)`);
    }
  }

  health(): { ok: boolean } & Record<string, unknown> {
    const failure = this.spool?.failure?.message ?? null;
    // Degraded, not dead: a full disk refuses new frames until the spool's probe sees space again.
    const reasons = this.spool?.failureReason ? [`spool: ${this.spool.failureReason}`] : [];
    return {
      ok: !failure,
      status: reasons.length ? "degraded" : "ok",
      reasons,
      spool: { dir: this.spoolDir, depth: this.spool?.depth ?? 0, bytes: this.spool?.stats.bytes ?? 0, dropped: this.spool?.stats.dropped ?? 0, failure },
      upstreams: this.upstreams.map((u) => ({ name: u.name, connected: u.connected() })),
      serial: this.serials.map((s) => ({ port: s.id, open: s.open })),
      devices: this.devices?.size ?? 0,
    };
  }

  // ---- Ingest: what the inputs call

  frame(link: DeviceLink, bytes: Uint8Array, frame: Frame): void {
    const m = this.metrics;
    if (frame.type === "control") return m.rejected.inc("control_from_device");
    if (this.keys) {
      const key = this.keys.get(frame.device);
      if (!key) return m.rejected.inc("no_key");
      if (!isSignedFrame(bytes)) return m.rejected.inc("unsigned");
      if (!verifyFrameHmac(bytes, key)) return m.rejected.inc("bad_hmac");
    }
    if (!this.limits.admitDevice(link, frame.device)) return; // a new id past a cap: dropped, counted
    this.devices.seen(frame.device, link);
    if (frame.type === "ack") this.devices.ack(frame);
    const n = bytes.length; // the frame's CRC-32 trailer, u32 LE
    const crc = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
    const verdict = this.dedupe.classify(frame.device, frame.seq, crc, this.spool.nextIndexValue);
    if (verdict.kind === "duplicate") return m.duplicates.inc();
    if (verdict.kind === "restart" || this.dedupe.session(frame.device) === undefined) m.sessions.inc(deviceName(frame.device));
    if (verdict.kind === "new" && verdict.gap > 0) m.seqGaps.inc(deviceName(frame.device), verdict.gap);
    // Spool refusing (disk full): the frame is not remembered as seen, so the same frame sent again once
    // the disk writes again is taken rather than dropped as a duplicate (a HELLO's names are kept).
    const refused = this.spool.failure !== null;
    if (!refused) this.dedupe.accept(frame.device, frame.seq, crc, verdict.session);
    if (frame.type === "hello") this.devices.hello(frame);
    else if (frame.type === "channels") this.devices.channelsFrame(frame);
    if (refused) return m.rejected.inc("spool_failed");
    // The frame's bytes go to disk; its JSON view is built when it is forwarded (records.ts), with the
    // channel names of the hello in force now.
    this.append({
      device: frame.device, session: verdict.session, seq: frame.seq, rx: wallMs(),
      frame: bytes, decoded: frame, channels: this.devices.channels(frame.device), relayed: link.relays,
    }, link, bytes.length, crc);
  }

  /** Add a record to the spool's next group commit; it counts as accepted once that commit is on disk. */
  private append(record: SpoolRecord, link: DeviceLink, bytes: number, crc?: number): void {
    try {
      this.spool.add(encodeRecord(record), record);
    } catch {
      this.metrics.rejected.inc("spool_failed");
      if (crc !== undefined) this.dedupe.forget(record.device, record.seq, crc);
      return;
    }
    const commit = this.spool.durable();
    if (this.accepting?.commit !== commit) {
      const counts = new Map<string, [frames: number, bytes: number]>();
      const remembered: number[] = [];
      this.accepting = { commit, counts, remembered };
      commit.then(() => {
        for (const [kind, [n, b]] of counts) { this.metrics.framesIn.inc(kind, n); this.metrics.bytesIn.inc(kind, b); }
      }, () => {
        // The commit failed (a full disk): its frames were refused after all. De-duplication forgets them
        // so that the same frames sent again (a bridge below resends what it was not acked) are taken.
        for (let i = 0; i < remembered.length; i += 3) this.dedupe.forget(remembered[i], remembered[i + 1], remembered[i + 2]);
        for (const [n] of counts.values()) this.metrics.rejected.inc("spool_failed", n);
      });
    }
    if (crc !== undefined) this.accepting.remembered.push(record.device, record.seq, crc);
    let kind = this.linkKinds.get(link);
    if (kind === undefined) this.linkKinds.set(link, (kind = link.id.split(":")[0]));
    const c = this.accepting.counts.get(kind);
    if (c) { c[0]++; c[1] += bytes; } else this.accepting.counts.set(kind, [1, bytes]);
  }

  refusals(): number { return this.metrics.rejected.get("spool_failed"); }

  /** A message from the MQTT input: settled once its record is on disk (then it may be acknowledged). */
  private spoolMessage(record: SpoolRecord): Promise<void> {
    if (this.spool.failure) return Promise.reject(this.spool.failure);
    this.spool.add(encodeRecord(record), record);
    return this.spool.durable().then(() => this.metrics.framesIn.inc("mqtt"));
  }

  /** Resolves when everything the inputs handed over so far is on disk or was refused (never rejects). */
  settled(): Promise<void> {
    // One promise per commit, not one per read (a read per frame, with 2,000 devices on their own connections).
    const commit = this.spool.durable();
    if (this.settling?.commit !== commit) this.settling = { commit, settled: commit.catch(() => undefined) };
    return this.settling.settled;
  }
  private settling: { commit: Promise<void>; settled: Promise<void> } | null = null;

  json(conn: TcpConnection, kind: "json-control" | "json-data", value: unknown): void {
    if (this.keys) return this.metrics.rejected.inc("json_unsigned"); // JSON nodes cannot sign: refused under --keys
    const first = Array.isArray(value) ? value.find((e) => e && typeof e === "object" && ("device" in e || "id" in e)) : value;
    const field = first && typeof first === "object" ? ((first as Record<string, unknown>).device ?? (kind === "json-control" ? (first as Record<string, unknown>).id : undefined)) : undefined;
    if (conn.jsonDevice === null) {
      const id = jsonDeviceId(field, conn.peerAddress);
      if (!this.limits.admitDevice(conn, id)) return; // past a device cap: dropped, counted
      conn.jsonDevice = id;
      conn.jsonSession = this.spool.nextIndexValue; // one session per connection (JSON nodes carry no boot info)
      this.metrics.sessions.inc(deviceName(conn.jsonDevice));
    }
    const device = conn.jsonDevice;
    this.devices.seen(device, conn);
    let message: JsonObject;
    if (kind === "json-control") {
      const o = value as Record<string, JsonValue>;
      if (typeof o.ack === "number") {
        this.devices.ack({ type: "ack", device, seq: 0, t: 0, ackedSeq: o.ack >>> 0, op: 0, result: typeof o.result === "number" ? o.result : 0 });
      }
      message = { type: "node", device, seq: 0, t: typeof o.t === "number" ? o.t : 0, body: o };
    } else {
      const readings = jsonReadings(value as unknown[]);
      const t = readings.find((r) => typeof r.t === "number")?.t ?? 0;
      message = { type: "data", device, seq: 0, t, readings };
    }
    const seq = conn.jsonSeq++;
    this.append({ device, session: conn.jsonSession, seq, rx: wallMs(), message: { ...message, seq } }, conn, 0);
  }

  garbage(linkId: string, bytes: number, reason?: string): void {
    if (reason !== undefined) this.metrics.rejected.inc(/CRC/i.test(reason) ? "bad_crc" : /COBS/.test(reason) ? "bad_cobs" : "bad_frame");
    if (bytes) this.metrics.garbageBytes.inc(linkId, bytes);
  }

  linkClosed(link: DeviceLink): void {
    this.devices?.linkClosed(link);
  }

  /** A device's latest HELLO as a record, for the rules' peer bridges after a restart (the rules saw no
   *  HELLO since): re-encoded from what the bridge keeps, unsigned; none when the table no longer fits
   *  one HELLO (it came with CHANNELS frames). */
  private helloRecord(device: number): SpoolRecord | undefined {
    const hello = this.devices?.helloOf(device);
    if (!hello) return undefined;
    try {
      return { device, session: 0, seq: hello.seq, rx: wallMs(), frame: encodeFrame(hello), decoded: hello };
    } catch {
      return undefined;
    }
  }

  controlFromAbove(frame: Uint8Array): void {
    const r = decodeFrameAllowingHmac(frame);
    if (!r.ok || r.frame.type !== "control") return this.metrics.rejected.inc("bad_control_from_above");
    const c = r.frame as ControlFrame;
    try { this.devices.forward(c.device, frame, c); } catch (e) { this.log(`control from the bridge above: ${e instanceof Error ? e.message : String(e)}`); }
  }

  // ---- control

  async control(device: number, command: ReturnType<typeof parseCommand>, timeoutMs = 5000) {
    try {
      const result = await this.devices.control(device, command, timeoutMs);
      this.metrics.controls.inc(result.result === 0 ? "acked" : "error");
      return result;
    } catch (e) {
      if (e instanceof ControlError) this.metrics.controls.inc(e.reason);
      throw e;
    }
  }

  private async commandFromMqtt(device: number, body: unknown): Promise<Record<string, unknown>> {
    try {
      const command = parseCommand(body);
      const timeoutMs = typeof (body as { timeoutMs?: unknown }).timeoutMs === "number" ? (body as { timeoutMs: number }).timeoutMs : 5000;
      return { ok: true, ...(await this.control(device, command, timeoutMs)) };
    } catch (e) {
      if (e instanceof ControlError) return { ok: false, reason: e.reason, error: e.message };
      if (e instanceof CommandError) return { ok: false, reason: "invalid", error: e.message };
      throw e;
    }
  }

  /** Stop inputs, then forwarders and upstreams; the spool keeps what was not confirmed. */
  async stop(): Promise<void> {
    await Promise.all(this.serials.map((s) => s.close()));
    await Promise.all(this.subscriptions.map((s) => s.close()));
    await this.tcp?.close();
    await this.api?.close();
    for (const f of this.forwarders) await f.stop();
    await Promise.all(this.upstreams.map((u) => u.close().catch(() => undefined)));
    try {
      await this.spool?.close();
      await this.devices?.close().catch((e: Error) => this.log(`devices: ${e.message}`));
      await this.broker?.close();
    } finally { // whatever failed above, a stopped bridge leaves no lock behind
      if (this.lockFile) try { unlinkSync(this.lockFile); } catch { /* gone */ }
    }
  }
}
