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
import { deviceName, mqttMessages, parseDeviceName, type SpoolRecord } from "./records.js";
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

export class MqttUpstream implements Upstream {
  readonly pipeline = 8;
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

  async deliver(records: SpoolRecord[]): Promise<void> {
    const acks: Promise<void>[] = [];
    for (const r of records) {
      const base = `${this.prefix}/${deviceName(r.device)}`;
      for (const m of mqttMessages(r)) acks.push(this.publish(`${base}/${m.topic}`, JSON.stringify(m.payload), m.retain));
      if (this.options.haDiscovery && r.message.type === "hello") acks.push(...this.discovery(r));
    }
    await Promise.all(acks);
  }

  /** Retained "online"/"offline" for a device (live state, not spooled). */
  availability(device: number, online: boolean): void {
    this.client?.publish(`${this.prefix}/${deviceName(device)}/availability`, online ? "online" : "offline", { qos: 1, retain: true });
  }

  /** Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt "Discovery"): one sensor per channel. */
  private discovery(r: SpoolRecord): Promise<void>[] {
    const hello = r.message as unknown as Omit<HelloFrame, "device" | "channels"> & { channels: Array<{ id: number; kind: string; name: string; unit: string }> };
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
