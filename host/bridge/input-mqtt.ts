// The bridge's MQTT input (`iotfw bridge --subscribe mqtt://host:port[/<filter>] [--share <group>]`,
// docs/bridge.md "MQTT input", docs/store.md "Scale past one host"): a "sink" bridge that takes the JSON
// messages edge bridges publish (docs/mqtt.md: per-channel summaries, events, hello, status, log, ack,
// MicroPython data) from a broker and spools them like any input, for its upstreams (PostgreSQL, NDJSON,
// ...). With --share several sinks form one MQTT v5 shared subscription group ($share/<group>/<filter>):
// the broker gives each message to one of them.
//
// Nothing acknowledged is lost: a message is PUBACKed only after its record is on disk (MQTT.js sends
// the PUBACK when handleMessage's callback is called, so the callback waits for the spool's commit). The
// session is persistent (clean: false, a session expiry, a client id kept with the spool), so a sink
// killed and restarted gets what the broker queued for it meanwhile and what it had not acknowledged.
// A message PUBACKed never is sent again; one spooled but not PUBACKed when the sink died is sent again
// (at least once, like every upstream hop): the key (device, session, seq, channel) makes it once in a
// keyed store (host/store/rows.ts TABLES: PostgreSQL's primary key).
//
// May touch: the broker it is given (a persistent session and its subscription), <spool>/mqtt-input-id.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { JsonObject } from "../protocol/index.js";
import { parseDeviceName, wallMs, type SpoolRecord } from "./records.js";
import { mqttNoDelay } from "./upstream-mqtt.js";

/** What the input needs of the bridge: a record in, a promise settled once it is on disk (rejected when
 *  the spool refused it). */
export type SpoolMessage = (record: SpoolRecord) => Promise<void>;

export interface MqttInputOptions {
  /** Join this shared subscription group ($share/<group>/<filter>). */
  share?: string;
  /** The topic prefix the edge bridges publish under (their --prefix); the default filter is <prefix>/#. */
  prefix?: string;
  /** Where the client id is kept (the spool directory): a restarted sink resumes its session. */
  stateDir: string;
  caFile?: string;
  log: (line: string) => void;
}

/** How long the broker keeps a sink's session (and queues its share) while it is away: a day. */
export const SESSION_EXPIRY_S = 24 * 3600;

/** The message types of docs/mqtt.md a sink spools; anything else on the filter is skipped. */
const TYPES = new Set(["hello", "channels", "summary", "event", "status", "log", "ack", "data", "node"]);

export class MqttInputError extends Error {}

/** `mqtt://[user:pass@]host[:port][/<filter>]` -> the broker URL and the topic filter (the rest of the
 *  text after the host, taken raw: `#` would be a URL fragment to a URL parser). */
export function parseSubscribeUrl(spec: string, prefix = "iotfw"): { broker: string; filter: string } {
  const m = /^(mqtts?:\/\/[^/]+)(?:\/(.*))?$/.exec(spec.trim());
  if (!m) throw new MqttInputError(`--subscribe ${spec.replace(/\/\/[^/@]*@/, "//***@")}: expected mqtt://host[:port][/<topic filter>] or mqtts://...`);
  try { new URL(m[1]); } catch { throw new MqttInputError(`--subscribe ${spec.replace(/\/\/[^/@]*@/, "//***@")}: not a URL`); }
  const filter = m[2] ? m[2] : `${prefix}/#`;
  const levels = filter.split("/");
  if (levels.some((l, i) => (l.includes("#") && (l !== "#" || i !== levels.length - 1)) || (l.includes("+") && l !== "+"))) {
    throw new MqttInputError(`--subscribe: "${filter}" is not an MQTT topic filter (+ and # stand for whole levels, # only last)`);
  }
  if (filter.startsWith("$share/")) throw new MqttInputError("--subscribe: give the group with --share <group>, not in the filter");
  return { broker: m[1], filter };
}

/** A published message -> the record the bridge spools; null for what a sink does not take (the plain
 *  text availability topics, commands, discovery configs). Keyed by the message's device, session and
 *  seq; a per-channel summary keeps its channel in the message (rows.ts makes it one summaries row). */
export function recordFromMessage(payload: Buffer): SpoolRecord | null {
  if (payload.length === 0 || payload[0] !== 0x7b) return null; // "{": JSON objects only
  let m: unknown;
  try { m = JSON.parse(payload.toString("utf8")); } catch { return null; }
  if (!m || typeof m !== "object" || Array.isArray(m)) return null;
  const o = m as JsonObject;
  if (typeof o.type !== "string" || !TYPES.has(o.type) || typeof o.device !== "string") return null;
  const device = parseDeviceName(o.device);
  if (device === null || typeof o.session !== "number" || typeof o.seq !== "number") return null;
  return { device, session: o.session, seq: o.seq >>> 0, rx: wallMs(), message: o };
}

export class MqttInput {
  private client: MqttClient | null = null;
  readonly broker: string;
  readonly filter: string;
  readonly clientId: string;
  /** Messages spooled (and acknowledged), skipped (not iotfw data), refused by the spool (not acknowledged). */
  readonly counts = { spooled: 0, skipped: 0, refused: 0 };
  private subscribed = false;

  constructor(spec: string, private readonly spool: SpoolMessage, private readonly options: MqttInputOptions) {
    const { broker, filter } = parseSubscribeUrl(spec, options.prefix);
    this.broker = broker;
    this.filter = options.share ? `$share/${options.share}/${filter}` : filter;
    if (options.share !== undefined && !/^[^/+#]+$/.test(options.share)) {
      throw new MqttInputError(`--share ${options.share}: a group name is one topic level (no /, + or #)`);
    }
    this.clientId = `iotfw-sink-${subscriberId(options.stateDir)}`;
  }

  get name(): string { return `subscribe:${this.broker.replace(/\/\/[^/@]*@/, "//")}/${this.filter}`; }
  connected(): boolean { return this.client?.connected === true && this.subscribed; }

  async start(): Promise<void> {
    const opts: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: 5, // shared subscriptions and session expiry are MQTT v5
      clean: false,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: false, // the session keeps the subscription; we subscribe again ourselves only when it was lost
    };
    if (this.options.caFile) opts.ca = readFileSync(this.options.caFile);
    const client = mqtt.connect(this.broker, opts);
    mqttNoDelay(client);
    this.client = client;
    // The PUBACK goes out when this callback is called: after the record's group commit. MQTT.js hands
    // over the next message only then, so a sink takes one message per disk commit (docs/store.md).
    client.handleMessage = (packet, done) => {
      const record = recordFromMessage(packet.payload as Buffer);
      if (!record) { this.counts.skipped++; return done(); }
      let pending: Promise<void>;
      try { pending = this.spool(record); } catch (e) { pending = Promise.reject(e); }
      pending.then(() => { this.counts.spooled++; done(); }, (e: Error) => {
        // Not on disk: no PUBACK. Dropping the connection makes the broker send it again on reconnect.
        this.counts.refused++;
        this.options.log(`${this.name}: not spooled (${e.message}); not acknowledged, the broker sends it again`);
        client.stream.destroy();
      });
    };
    client.on("connect", (ack) => {
      // A resumed session still holds the subscription (sessionPresent): subscribing again is harmless
      // but for a shared group it is the same subscription anyway; a new session needs it.
      this.subscribed = ack.sessionPresent === true;
      if (!this.subscribed) {
        client.subscribe(this.filter, { qos: 1 }, (err, granted) => {
          const code = granted?.[0]?.qos;
          if (err || code === undefined || code > 2) {
            this.options.log(`${this.name}: subscribe refused (${err?.message ?? `reason code ${code}`}${this.options.share ? "; does the broker support MQTT v5 shared subscriptions?" : ""})`);
            return;
          }
          this.subscribed = true;
          this.options.log(`${this.name}: subscribed as ${this.clientId}`);
        });
      } else {
        this.options.log(`${this.name}: resumed session ${this.clientId}`);
      }
    });
    client.on("error", (e) => this.options.log(`${this.name}: ${e.message}`));
    await new Promise<void>((resolve) => {
      // Up, or not yet reachable: the client keeps trying; the bridge starts either way (as upstreams do).
      const t = setTimeout(resolve, 3000);
      client.once("connect", () => { clearTimeout(t); resolve(); });
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    // Not an unsubscribe: the session (and the sink's place in the group) stays for the next start.
    await c?.endAsync(false).catch(() => undefined);
  }
}

/** 8 hex digits made once and kept in <dir>/mqtt-input-id: the client id of this sink's MQTT session. */
function subscriberId(dir: string): string {
  const file = join(dir, "mqtt-input-id");
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{8}$/.test(id)) return id;
  }
  const id = randomBytes(4).toString("hex");
  writeFileSync(file, id + "\n");
  return id;
}
