// The MQTT upstream (docs/mqtt.md): publishes spooled records at QoS 1 through the `mqtt` package (MQTT.js)
// on per-device, per-channel topics; keeps a retained availability per device and for the bridge itself
// (the bridge's last will sets it "offline"), under a bridge id kept with the spool so a restarted bridge
// says "online" on the topic its entities point at; optionally publishes Home Assistant discovery configs
// (host/bridge/ha-discovery.ts); and takes control commands from <prefix>/<device>/cmd, answering on
// <prefix>/<device>/cmd/result. A batch is confirmed when every PUBACK came back; MQTT.js re-sends
// unconfirmed QoS 1 packets after a reconnect, so an outage only delays the confirmation.
// May touch: the broker connection it opens; <stateDir>/bridge-id and <stateDir>/ha-discovery/.
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { DiscoveryState, type HelloJson } from "./ha-discovery.js";
import { deviceName, mqttMessages, parseDeviceName, upstreamMessage, type SpoolRecord } from "./records.js";
import type { Upstream } from "./upstream.js";

export interface MqttUpstreamOptions {
  /** Topic prefix (default "iotfw"). */
  prefix?: string;
  /** Publish Home Assistant MQTT discovery configs under this prefix (e.g. "homeassistant"). */
  haDiscovery?: string;
  /** PEM file of the CA for mqtts:// (default: the system's CAs). */
  caFile?: string;
  /** Bridge id for the client id and the bridge's availability topic (default: kept in
   *  <stateDir>/bridge-id, made once; without a stateDir, new each start). */
  bridgeId?: string;
  /** Where the bridge keeps its state (the spool folder): the bridge id, the discovery topics it owns. */
  stateDir?: string;
  /** A command arrived on <prefix>/<device>/cmd; resolve with what to publish as the result. */
  onCommand?: (device: number, body: unknown) => Promise<Record<string, unknown>>;
  log?: (line: string) => void;
}

/** QoS 1 publishes that may await their PUBACK at once: enough to keep a broker busy (MQTT.js sends
 *  them without waiting; with a few hundred the bridge waits on round trips), a bound on what MQTT.js
 *  holds in memory, and with one batch of the heaviest records on top still under the 65,535 packet ids. */
const MQTT_WINDOW = 8192;
const QOS1 = { qos: 1 } as const;
const QOS1_RETAINED = { qos: 1, retain: true } as const;

export class MqttUpstream implements Upstream {
  /** Batches are small under light load: the window, not their number, is the bound. */
  readonly pipeline = MQTT_WINDOW;
  readonly window = MQTT_WINDOW;
  readonly name: string;
  private client!: MqttClient;
  private readonly prefix: string;
  readonly bridgeId: string;
  private readonly discovery: DiscoveryState | null = null;

  constructor(readonly url: string, private readonly options: MqttUpstreamOptions = {}) {
    const u = new URL(url);
    this.name = `${u.protocol}//${u.host}`; // no credentials in names, labels or logs
    this.prefix = (options.prefix ?? "iotfw").replace(/\/+$/, "");
    this.bridgeId = options.bridgeId ?? (options.stateDir ? stableBridgeId(options.stateDir) : randomBytes(4).toString("hex"));
    if (options.haDiscovery) {
      this.discovery = new DiscoveryState(options.stateDir ? join(options.stateDir, "ha-discovery") : null, {
        discoveryPrefix: options.haDiscovery.replace(/\/+$/, ""), prefix: this.prefix, bridgeAvailability: this.availabilityTopic,
      });
    }
  }

  get availabilityTopic(): string { return `${this.prefix}/bridge/${this.bridgeId}/availability`; }
  /** Where Home Assistant says "online" when it starts (its birth message, default topic). */
  private get haStatusTopic(): string { return `${(this.options.haDiscovery ?? "").replace(/\/+$/, "")}/status`; }

  async start(): Promise<void> {
    const opts: IClientOptions = {
      clientId: `iotfw-bridge-${this.bridgeId}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 500,
      connectTimeout: 5000,
      // A ping every keepalive interval even while publishing: MQTT.js otherwise re-arms its keepalive
      // timer on every packet sent, a timer operation per message at tens of thousands a second.
      reschedulePings: false,
      // MQTT.js logs every packet through `debug`; even disabled, that was ~4 % of the bridge's CPU at
      // 20,000 frames/s (a profile of the bench). DEBUG=mqttjs* still gets its log.
      ...(/mqttjs/.test(process.env.DEBUG ?? "") ? {} : { log: () => undefined }),
      // No table of 65,536 pre-made 2-byte Buffers for packet ids (mqtt-packet builds it on the first
      // packet): 7 MiB of heap and 65,536 old objects every full GC marks, to save a 2-byte write.
      writeCache: false,
      will: { topic: this.availabilityTopic, payload: Buffer.from("offline"), qos: 1, retain: true },
    };
    if (this.options.caFile) opts.ca = readFileSync(this.options.caFile);
    this.client = mqtt.connect(this.url, opts);
    mqttNoDelay(this.client);
    // Configs published under another bridge id, re-pointed at this one's availability: sent on the
    // first connect, recorded once the broker has them all.
    let repoint = this.discovery?.repoint() ?? null;
    this.client.on("connect", () => {
      this.client.publish(this.availabilityTopic, "online", { qos: 1, retain: true });
      const r = repoint;
      repoint = null;
      if (r) void Promise.all(r.messages.map(([topic, payload]) => this.publish(topic, payload, true))).then(r.commit, () => undefined);
      if (this.discovery) this.client.subscribe(this.haStatusTopic, { qos: 1 });
      if (this.options.onCommand) this.client.subscribe(`${this.prefix}/+/cmd`, { qos: 1 });
    });
    let lastError = "";
    this.client.on("error", (e) => { if (e.message !== lastError) this.options.log?.(`${this.name}: ${e.message}`); lastError = e.message; });
    this.client.on("message", (topic, payload) => {
      if (topic === this.haStatusTopic) {
        // Home Assistant's birth message: it (re)started and reads discovery again.
        if (payload.toString("utf8") === "online") for (const [t, p] of this.discovery?.all() ?? []) this.client.publish(t, p, QOS1_RETAINED);
        return;
      }
      void this.command(topic, payload);
    });
    // Do not wait for the broker: the spool holds everything until it answers.
  }

  connected(): boolean { return this.client?.connected === true; }

  private publish(topic: string, payload: string, retain = false): Promise<void> {
    return new Promise((resolve, reject) => this.client.publish(topic, payload, { qos: 1, retain }, (e) => (e ? reject(e) : resolve())));
  }

  /** Publish every message of the batch at once (MQTT.js keeps them in flight together); one promise
   *  for the batch, settled by the last PUBACK or the first error. */
  deliver(records: SpoolRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let waiting = 1;
      let failed = false;
      const settle = (e?: Error) => {
        if (failed) return;
        if (e) { failed = true; reject(e); } else if (--waiting === 0) resolve();
      };
      for (const r of records) {
        const base = this.deviceTopic(r.device);
        for (const m of mqttMessages(r)) {
          waiting++;
          this.client.publish(`${base}/${m.topic}`, JSON.stringify(m.payload), m.retain ? QOS1_RETAINED : QOS1, settle);
        }
        if (this.discovery && (r.decoded?.type ?? r.message?.type) === "hello") {
          for (const [topic, payload] of this.discovery.hello(upstreamMessage(r) as unknown as HelloJson)) {
            waiting++;
            this.client.publish(topic, payload, QOS1_RETAINED, settle);
          }
        }
      }
      settle();
    });
  }

  /** One message per summary channel; a hello is also one discovery config per channel. */
  weight(r: SpoolRecord): number {
    const f = r.decoded;
    if (f?.type === "summary") return Math.max(1, f.entries.length);
    if (f?.type === "hello") return 1 + (this.discovery ? this.discovery.bound(deviceName(r.device), f.channels.length) : 0);
    if (r.message?.type === "summary" && Array.isArray(r.message.channels)) return Math.max(1, r.message.channels.length);
    return 1;
  }

  private readonly deviceTopics = new Map<number, string>();
  /** <prefix>/<device>, made once per device. */
  private deviceTopic(device: number): string {
    let t = this.deviceTopics.get(device);
    if (t === undefined) this.deviceTopics.set(device, (t = `${this.prefix}/${deviceName(device)}`));
    return t;
  }

  /** Retained "online"/"offline" for a device (live state, not spooled). */
  availability(device: number, online: boolean): void {
    this.client?.publish(`${this.prefix}/${deviceName(device)}/availability`, online ? "online" : "offline", { qos: 1, retain: true });
  }

  private async command(topic: string, payload: Buffer): Promise<void> {
    const m = new RegExp(`^${this.prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/([^/]+)/cmd$`).exec(topic);
    if (!m || !this.options.onCommand) return;
    const device = parseDeviceName(m[1]);
    let result: Record<string, unknown>;
    let body: unknown = null;
    try { body = JSON.parse(payload.toString("utf8")); } catch { /* answered below */ }
    if (device === null) result = { ok: false, error: `"${m[1]}" is not a device id (8 hex digits)` };
    else if (body === null || typeof body !== "object") result = { ok: false, error: "the command must be a JSON object, e.g. {\"op\":\"ping\"}" };
    else result = await this.options.onCommand(device, body);
    const id = body && typeof body === "object" && "id" in body ? { id: (body as { id: unknown }).id } : {};
    await this.publish(`${this.prefix}/${m[1]}/cmd/result`, JSON.stringify({ ...id, ...result })).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (!this.client) return;
    // A clean stop says so (the will is only for a crash).
    if (this.client.connected) await this.publish(this.availabilityTopic, "offline", true).catch(() => undefined);
    await this.client.endAsync(true);
  }
}

/** The bridge's id, kept in <dir>/bridge-id (made the first time): the client id and the availability
 *  topic every discovered entity points at stay the same across restarts. */
export function stableBridgeId(dir: string): string {
  const file = join(dir, "bridge-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (/^[A-Za-z0-9_-]{1,64}$/.test(id)) return id;
  } catch { /* first start */ }
  const id = randomBytes(4).toString("hex");
  writeFileSync(`${file}.tmp`, `${id}\n`);
  renameSync(`${file}.tmp`, file);
  return id;
}

/** Nagle's algorithm off on the client's socket, at every (re)connect: MQTT.js leaves it on, and a small
 *  publish written while the last one is unacknowledged then waits for the broker's delayed ACK (up to
 *  40 ms on Linux): the tail of a rule's latency (docs/BENCHMARKS.md "Rules"). */
export function mqttNoDelay(client: MqttClient): void {
  client.on("connect", () => { (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true); });
}
