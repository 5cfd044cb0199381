// The MQTT upstream (docs/mqtt.md): publishes spooled records at QoS 1 through the `mqtt` package (MQTT.js)
// on per-device, per-channel topics; keeps a retained availability per device and for the bridge itself
// (the bridge's last will sets it "offline"); optionally publishes Home Assistant discovery configs; and
// takes control commands from <prefix>/<device>/cmd, answering on <prefix>/<device>/cmd/result.
// A batch is confirmed when every PUBACK came back; MQTT.js re-sends unconfirmed QoS 1 packets after a
// reconnect, so an outage only delays the confirmation. May touch: the broker connection it opens.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { HelloFrame } from "../protocol/index.js";
import { deviceName, mqttMessages, parseDeviceName, upstreamMessage, type SpoolRecord } from "./records.js";
import type { Upstream } from "./upstream.js";

export interface MqttUpstreamOptions {
  /** Topic prefix (default "iotfw"). */
  prefix?: string;
  /** Publish Home Assistant MQTT discovery configs under this prefix (e.g. "homeassistant"). */
  haDiscovery?: string;
  /** PEM file of the CA for mqtts:// (default: the system's CAs). */
  caFile?: string;
  /** Bridge id for the client id and the bridge's availability topic. */
  bridgeId?: string;
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
  private readonly bridgeId: string;
  private readonly discovered = new Set<string>();

  constructor(readonly url: string, private readonly options: MqttUpstreamOptions = {}) {
    const u = new URL(url);
    this.name = `${u.protocol}//${u.host}`; // no credentials in names, labels or logs
    this.prefix = (options.prefix ?? "iotfw").replace(/\/+$/, "");
    this.bridgeId = options.bridgeId ?? randomBytes(4).toString("hex");
  }

  get availabilityTopic(): string { return `${this.prefix}/bridge/${this.bridgeId}/availability`; }

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
    this.client.on("connect", () => {
      this.client.publish(this.availabilityTopic, "online", { qos: 1, retain: true });
      if (this.options.onCommand) this.client.subscribe(`${this.prefix}/+/cmd`, { qos: 1 });
    });
    let lastError = "";
    this.client.on("error", (e) => { if (e.message !== lastError) this.options.log?.(`${this.name}: ${e.message}`); lastError = e.message; });
    this.client.on("message", (topic, payload) => void this.command(topic, payload));
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
        if (this.options.haDiscovery && (r.decoded?.type ?? r.message?.type) === "hello") {
          for (const p of this.discovery(r)) { waiting++; p.then(() => settle(), settle); }
        }
      }
      settle();
    });
  }

  /** One message per summary channel; a hello is also one discovery config per channel. */
  weight(r: SpoolRecord): number {
    const f = r.decoded;
    if (f?.type === "summary") return Math.max(1, f.entries.length);
    if (f?.type === "hello") return 1 + (this.options.haDiscovery ? f.channels.length : 0);
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

  /** Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt "Discovery"): one sensor per channel. */
  private discovery(r: SpoolRecord): Promise<void>[] {
    const hello = upstreamMessage(r) as unknown as Omit<HelloFrame, "device" | "channels"> & { channels: Array<{ id: number; kind: string; name: string; unit: string }> };
    const dev = deviceName(r.device);
    const out: Promise<void>[] = [];
    for (const c of hello.channels) {
      const level = c.name.replace(/[^A-Za-z0-9_-]/g, "_") || `ch${c.id}`;
      const uid = `iotfw_${dev}_${level}`;
      const key = `${uid}:${hello.appHash}`;
      if (this.discovered.has(key)) continue;
      this.discovered.add(key);
      const frequent = c.kind === "frequent";
      const config = {
        name: c.name, unique_id: uid, object_id: uid,
        state_topic: `${this.prefix}/${dev}/${level}/${frequent ? "summary" : "event"}`,
        value_template: frequent ? "{{ value_json.mean }}" : "{{ value_json.value }}",
        ...(c.unit ? { unit_of_measurement: c.unit } : {}),
        availability_mode: "all",
        availability: [{ topic: `${this.prefix}/${dev}/availability` }, { topic: this.availabilityTopic }],
        device: { identifiers: [`iotfw_${dev}`], name: `iotfw ${dev}`, sw_version: hello.firmware, model: hello.board, manufacturer: "iotfw" },
      };
      out.push(this.publish(`${this.options.haDiscovery}/sensor/${uid}/config`, JSON.stringify(config), true));
    }
    return out;
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
