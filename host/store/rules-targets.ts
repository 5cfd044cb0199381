// Where a rule's results go (docs/store.md "Rules"): tcp:// another bridge (the frames whose rows matched,
// as received, each device's latest HELLO first so the peer knows its channels), mqtt:// a topic (one JSON
// message per result row, QoS 1, through MQTT.js as host/bridge/upstream-mqtt.ts uses it), log (a line
// per row). One target object per distinct destination, shared by the rules that name it.
// May touch: the connections it opens (a bridge above, a broker).
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import { mqttNoDelay } from "../bridge/upstream-mqtt.js";
import { BridgeUpstream } from "../bridge/upstream-simple.js";
import { deviceName, type SpoolRecord } from "../bridge/records.js";

export type ResultRow = Record<string, unknown>;

/** tcp://host:port: frames to a bridge above, each device's HELLO before its first frame on a connection. */
export class BridgeTarget {
  private readonly upstream: BridgeUpstream;
  /** Devices whose HELLO went on the current connection (a new connection starts empty). */
  private readonly helloSent = new Set<number>();

  constructor(url: string, onControl: (frame: Uint8Array) => void, private readonly helloOf: (device: number) => SpoolRecord[]) {
    this.upstream = new BridgeUpstream(url, onControl);
  }

  get name(): string { return this.upstream.name; }
  connected(): boolean { return this.upstream.connected(); }

  /** The send in progress: the bridge link takes one batch at a time (BridgeUpstream's pipeline is 1). */
  private last: Promise<void> = Promise.resolve();

  /** Resolves once the peer acknowledged every frame (its cumulative ack); rejects to be retried. Sends
   *  run one after another, in the order they were asked for. */
  send(records: SpoolRecord[]): Promise<void> {
    const p = this.last.then(() => this.sendNow(records));
    this.last = p.catch(() => undefined);
    return p;
  }

  private async sendNow(records: SpoolRecord[]): Promise<void> {
    if (!this.upstream.connected()) this.helloSent.clear(); // the next send opens a new connection
    const out: SpoolRecord[] = [];
    const added: number[] = [];
    for (const r of records) {
      if (!r.frame) continue; // MicroPython messages have no iotfw frame (docs/bridge.md)
      if (!this.helloSent.has(r.device)) {
        for (const h of this.helloOf(r.device)) if (h !== r && h.frame) out.push(h);
        this.helloSent.add(r.device);
        added.push(r.device);
      }
      out.push(r);
    }
    if (out.length === 0) return;
    try {
      await this.upstream.deliver(out);
    } catch (e) {
      this.helloSent.clear(); // the connection went: HELLOs again on the next one
      throw e;
    }
  }

  /** A device booted again: its new HELLO goes before its next forwarded frame. */
  forget(device: number): void { this.helloSent.delete(device); }

  close(): Promise<void> { return this.upstream.close(); }
}

/** mqtt://host:port (one client per broker; each rule names its topic). */
export class MqttTarget {
  private readonly client: MqttClient;

  constructor(readonly url: string, private readonly log: (line: string) => void, caFile?: string) {
    let warned = false;
    this.client = mqtt.connect(url, {
      ...(caFile ? { ca: readFileSync(caFile) } : {}),
      clientId: `iotfw-rules-${Math.random().toString(16).slice(2, 10)}`, protocolVersion: 4, clean: true,
      reconnectPeriod: 500, connectTimeout: 5000, reschedulePings: false, writeCache: false,
      log: () => undefined,
    });
    mqttNoDelay(this.client);
    this.client.on("connect", () => { warned = false; });
    this.client.on("error", (e) => { if (!warned) { warned = true; this.log(`rules: ${url}: ${e.message}`); } });
  }

  get name(): string { return this.url.replace(/\/\/[^/@]*@/, "//"); }
  connected(): boolean { return this.client.connected; }

  /** Resolves when the broker acknowledged every message (PUBACK); MQTT.js keeps them across a reconnect. */
  publish(topic: string, rows: ResultRow[]): Promise<void> {
    return Promise.all(rows.map((row) => new Promise<void>((resolve, reject) =>
      this.client.publish(topic, JSON.stringify(row), { qos: 1 }, (e) => (e ? reject(e) : resolve()))))).then(() => undefined);
  }

  close(): Promise<void> { return this.client.endAsync(true).then(() => undefined, () => undefined); }
}

/** A rule's result row as one log line. */
export function logRow(log: (line: string) => void, rule: string, row: ResultRow): void {
  log(`rule ${rule}: ${JSON.stringify(row)}`);
}

/** The key a frame's rows carry: device (8 hex digits), session, seq. */
export function frameKey(device: unknown, session: unknown, seq: unknown): string {
  return `${typeof device === "number" ? deviceName(device) : String(device)}/${String(session)}/${String(seq)}`;
}
