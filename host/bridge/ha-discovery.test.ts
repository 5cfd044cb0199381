// Home Assistant discovery as Home Assistant would read it (docs/mqtt.md "Home Assistant"): a real
// mosquitto, a real bridge fed by the env-station app's real module (simulated, over TCP), every config
// checked against a JSON Schema of HA's MQTT sensor config (ha-discovery-schema.ts, from HA's pages),
// each entity's state topic really carrying its channel; a restart keeps the bridge id and every entity
// available; a new app with fewer channels clears the config it no longer has; `iotfw simulate --mqtt
// --ha-discovery` publishes the same configs, from the same module.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { ChannelKind, encodeFrame, decodeFrameAllowingHmac, type Frame, type HelloChannel } from "../protocol/index.js";
import { REPO_ROOT } from "../repo-root.js";
import { CLI, ensureCliBuilt, runCli } from "../cli/testing.js";
import { simulate } from "../simulate/session.js";
import { Bridge } from "./bridge.js";
import { helloConfigs, sensorClass, type HelloJson } from "./ha-discovery.js";
import { DEVICE_CLASS_UNITS, renderValueTemplate, validate } from "./ha-discovery-schema.js";
import { channelTopicLevels, decodeRecord, encodeRecord, mqttMessages, type SpoolRecord } from "./records.js";
import { helloFrame, Mosquitto, TcpDevice, tempDir, waitFor } from "./testing.js";

const ENV_STATION = join(REPO_ROOT, "firmware", "apps", "env-station");
const CONFIG_TOPIC = /^homeassistant\/sensor\/[^/]+\/config$/;

interface Message { topic: string; payload: string; retain: boolean }

/** Every message on `filters`, in order, with its retain flag (empty payloads too: they clear a topic). */
class Watch {
  readonly messages: Message[] = [];
  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => this.messages.push({ topic, payload: payload.toString("utf8"), retain: packet.retain }));
  }
  static async open(url: string, filters: string[]): Promise<Watch> {
    const w = new Watch(await mqtt.connectAsync(url, { clean: true }));
    await w.client.subscribeAsync(filters, { qos: 1 });
    return w;
  }
  latest(topic: string): string | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].topic === topic) return this.messages[i].payload;
    return undefined;
  }
  /** Latest non-empty payload per topic matching `re` (an empty one removes the topic). */
  current(re: RegExp): Map<string, string> {
    const m = new Map<string, string>();
    for (const x of this.messages) if (re.test(x.topic)) { if (x.payload === "") m.delete(x.topic); else m.set(x.topic, x.payload); }
    return m;
  }
  close(): Promise<void> { return this.client.endAsync(); }
}

/** What the broker retains now, by topic: subscribe to everything, then wait for a marker published
 *  after the subscription; mosquitto sends a subscription's retained messages before anything later. */
async function retained(url: string): Promise<Map<string, string>> {
  const w = await Watch.open(url, ["#"]);
  const marker = `test/marker/${Math.random().toString(16).slice(2)}`;
  await w.client.publishAsync(marker, "x", { qos: 1 });
  await waitFor(() => w.messages.some((m) => m.topic === marker), "the marker");
  await w.close();
  return new Map(w.messages.filter((m) => m.retain).map((m) => [m.topic, m.payload]));
}

type Config = Record<string, unknown> & { unique_id: string; state_topic: string; value_template: string; availability: Array<{ topic: string }> };
const parse = (configs: Map<string, string>): Config[] => [...configs.values()].map((p) => JSON.parse(p) as Config);

/** env-station's channels (firmware/apps/env-station: BME280 0-2, SHT31 3-4, BH1750, MH-Z19B, sound)
 *  as Home Assistant should list them. */
const EXPECTED = [
  { id: 0, uid: "iotfw_00000001_0_temperature", name: "Temperature", device_class: "temperature", unit: "°C", level: "temperature" },
  { id: 1, uid: "iotfw_00000001_1_humidity", name: "Humidity", device_class: "humidity", unit: "%", level: "humidity" },
  { id: 2, uid: "iotfw_00000001_2_pressure", name: "Pressure", device_class: "pressure", unit: "hPa", level: "pressure" },
  { id: 3, uid: "iotfw_00000001_3_temperature", name: "Temperature 2", device_class: "temperature", unit: "°C", level: "temperature_2" },
  { id: 4, uid: "iotfw_00000001_4_humidity", name: "Humidity 2", device_class: "humidity", unit: "%", level: "humidity_2" },
  { id: 5, uid: "iotfw_00000001_5_illuminance", name: "Illuminance", device_class: "illuminance", unit: "lx", level: "illuminance" },
  { id: 6, uid: "iotfw_00000001_6_co2", name: "CO2", device_class: "carbon_dioxide", unit: "ppm", level: "co2" },
  { id: 7, uid: "iotfw_00000001_7_noise", name: "Noise", device_class: "sound_pressure", unit: "dB", level: "noise" },
];

/** Schema-valid, and each device class with a unit HA's table gives it. */
function expectValid(configs: Config[]): void {
  for (const c of configs) {
    expect(validate(c), c.unique_id).toEqual([]);
    if (c.device_class) expect(DEVICE_CLASS_UNITS[c.device_class as string], String(c.device_class)).toContain(c.unit_of_measurement);
  }
}

describe("Home Assistant discovery", () => {
  it("the schema refuses what HA refuses: unknown keys, a unit its device class does not take, no state_topic", () => {
    const good = { name: "T", unique_id: "u", state_topic: "a/b", device_class: "temperature", unit_of_measurement: "°C", device: { identifiers: ["x"] } };
    expect(validate(good)).toEqual([]);
    expect(validate({ ...good, unit_of_measurement: "degC" }).join()).toMatch(/degC/);
    expect(validate({ ...good, device_class: "humidity", unit_of_measurement: "%RH" }).join()).toMatch(/%RH/);
    expect(validate({ ...good, colour: "red" }).join()).toMatch(/unknown key colour/);
    const { state_topic: _, ...noState } = good;
    expect(validate(noState).join()).toMatch(/missing state_topic/);
    expect(validate({ ...good, device: { name: "no id" } }).join()).toMatch(/anyOf/);
    expect(renderValueTemplate("{{ value_json.mean }}", '{"mean":21.5}')).toBe(21.5);
    expect(() => renderValueTemplate("{{ value_json.mean | round(1) }}", "{}")).toThrow(/simple/);
  });

  it("device classes and units from the channel's unit and name, each as HA's table accepts", () => {
    const cases: Array<[string, string, string | undefined, string | undefined]> = [
      ["temperature", "degC", "temperature", "°C"], ["humidity", "%RH", "humidity", "%"], ["battery", "%", "battery", "%"],
      ["pressure", "hPa", "pressure", "hPa"], ["pressure", "kPa", "pressure", "kPa"], ["light", "lux", "illuminance", "lx"],
      ["co2", "ppm", "carbon_dioxide", "ppm"], ["tvoc", "ppb", "volatile_organic_compounds_parts", "ppb"], ["pm2_5", "ug/m3", "pm25", "µg/m³"],
      ["supply", "V", "voltage", "V"], ["load", "mA", "current", "mA"], ["power", "W", "power", "W"], ["noise", "dB", "sound_pressure", "dB"],
      ["rssi", "dBm", "signal_strength", "dBm"], ["accel_x", "m/s^2", undefined, "m/s²"], ["level", "%", undefined, "%"], ["button", "", undefined, undefined],
    ];
    for (const [name, unit, cls, haUnit] of cases) {
      const c = sensorClass(name, unit);
      expect([name, unit, c.device_class, c.unit]).toEqual([name, unit, cls, haUnit]);
      if (cls) expect(DEVICE_CLASS_UNITS[cls]).toContain(haUnit);
    }
  });

  it("a channel whose name repeats gets its own topic level, also when its record is read back from the spool", () => {
    const levels = channelTopicLevels([
      { id: 0, name: "temperature" }, { id: 1, name: "temperature_2" }, { id: 3, name: "temperature" }, { id: 4, name: "temperature" }, { id: 5, name: "co2" },
    ]);
    expect([...levels]).toEqual([[0, "temperature"], [1, "temperature_2"], [3, "temperature_3"], [4, "temperature_4"], [5, "co2"]]);
    // A summary of channel 3 alone: the record keeps the whole table (the level depends on channel 0).
    const channels: HelloChannel[] = [{ id: 0, kind: 0, name: "temperature", unit: "degC" }, { id: 3, kind: 0, name: "temperature", unit: "degC" }, { id: 5, kind: 0, name: "co2", unit: "ppm" }];
    const frame: Frame = { type: "summary", device: 1, seq: 3, t: 60_000, windowStart: 0, windowMs: 60_000, entries: [{ channel: 3, count: 60, min: 20, max: 22, mean: 21, std: 0.5, last: 21 }] };
    const bytes = encodeFrame(frame);
    const d = decodeFrameAllowingHmac(bytes);
    if (!d.ok) throw new Error(d.error);
    const r: SpoolRecord = { device: 1, session: 1, seq: 3, rx: 0, frame: bytes, decoded: d.frame, channels };
    expect(mqttMessages(r).map((m) => m.topic)).toEqual(["temperature_2/summary"]);
    expect(mqttMessages(decodeRecord(encodeRecord(r))).map((m) => m.topic)).toEqual(["temperature_2/summary"]);
    // Unique names keep today's topics, and their records only the channels they name.
    const unique = { ...r, channels: [channels[0], channels[2]], decoded: { ...frame, entries: [{ ...frame.entries[0], channel: 5 }] } as Frame };
    unique.frame = encodeFrame(unique.decoded!);
    expect(mqttMessages(decodeRecord(encodeRecord(unique))).map((m) => m.topic)).toEqual(["co2/summary"]);
    expect(decodeRecord(encodeRecord(unique)).channels!.map((c) => c.id)).toEqual([5]);
  });

  it("a bridge publishes one valid entity per env-station channel; a restart keeps every entity available; a new app clears what it dropped", async () => {
    const broker = await Mosquitto.start();
    const spool = tempDir();
    // What the previous bridge (names without channel ids, a random id each start) left retained.
    const old = await mqtt.connectAsync(broker.url);
    await old.publishAsync("homeassistant/sensor/iotfw_00000001_temperature/config", JSON.stringify({ name: "temperature", unique_id: "iotfw_00000001_temperature", state_topic: "iotfw/00000001/temperature/summary", availability_mode: "all", availability: [{ topic: "iotfw/bridge/dead1234/availability" }] }), { qos: 1, retain: true });
    await old.publishAsync("iotfw/bridge/dead1234/availability", "offline", { qos: 1, retain: true });
    await old.endAsync();

    const watch = await Watch.open(broker.url, ["homeassistant/#", "iotfw/#"]);
    const start = () => Bridge.start({ listen: "tcp://127.0.0.1:0", upstreams: [broker.url], spoolDir: spool, http: "off", haDiscovery: "homeassistant", log: () => undefined });
    let bridge = await start();
    const abort = new AbortController();
    let running: Promise<unknown> | null = null;
    try {
      running = simulate({
        devices: 1, board: "esp32", appDir: ENV_STATION, durationMs: Infinity, speed: 60, seed: 1, inProcess: true, workers: 1, buildDir: tempDir(),
        bridgeUrl: `tcp://127.0.0.1:${bridge.tcpAddress!.port}`, signal: abort.signal,
      });
      const stateTopics = EXPECTED.map((e) => `iotfw/00000001/${e.level}/summary`);
      await waitFor(() => watch.current(CONFIG_TOPIC).size === 8 && stateTopics.every((t) => watch.latest(t)), "8 configs and a summary on each state topic", 60_000);
      abort.abort();
      await running;
      running = null;

      const configs = parse(watch.current(CONFIG_TOPIC));
      expect(configs).toHaveLength(8); // 8 channels, 8 entities (the old bridge's config was cleared)
      expectValid(configs);
      expect(new Set(configs.map((c) => c.unique_id)).size).toBe(8);
      expect(new Set(configs.map((c) => c.state_topic)).size).toBe(8);
      const bridgeId = readFileSync(join(spool, "bridge-id"), "utf8").trim();
      const bridgeAvailability = `iotfw/bridge/${bridgeId}/availability`;
      for (const e of EXPECTED) {
        const c = configs.find((x) => x.unique_id === e.uid)!;
        expect(c, e.uid).toBeDefined();
        expect(c).toMatchObject({
          name: e.name, device_class: e.device_class, unit_of_measurement: e.unit, state_class: "measurement",
          state_topic: `iotfw/00000001/${e.level}/summary`, value_template: "{{ value_json.mean }}", availability_mode: "all",
          device: { identifiers: ["iotfw_00000001"], name: "env-station 00000001", model: "esp32", manufacturer: "iotfw" },
          origin: { name: "iotfw" },
        });
        expect(c.availability.map((a) => a.topic)).toEqual(["iotfw/00000001/availability", bridgeAvailability]);
        // The state topic carries this channel's summary, and the template renders its mean.
        const raw = watch.latest(c.state_topic)!;
        const summary = JSON.parse(raw) as { channel: number; name: string; mean: number; count: number };
        expect([summary.channel, summary.name]).toEqual([e.id, e.level.replace(/_\d$/, "")]);
        const state = renderValueTemplate(c.value_template, raw);
        expect(typeof state).toBe("number");
        expect(state).toBe(summary.mean);
      }
      expect(watch.latest(bridgeAvailability)).toBe("online");
      expect(existsSync(join(spool, "ha-discovery", "00000001.json"))).toBe(true);

      // Restart: the same bridge id, "online" again on the topic every entity points at.
      await bridge.stop();
      await waitFor(() => watch.latest(bridgeAvailability) === "offline", "a clean stop's offline");
      bridge = await start();
      expect(readFileSync(join(spool, "bridge-id"), "utf8").trim()).toBe(bridgeId);
      await waitFor(() => watch.latest(bridgeAvailability) === "online", "the restarted bridge online");
      const kept = await retained(broker.url);
      const keptConfigs = parse(new Map([...kept].filter(([t]) => CONFIG_TOPIC.test(t))));
      expect(keptConfigs.map((c) => c.unique_id).sort()).toEqual(EXPECTED.map((e) => e.uid).sort());
      for (const c of keptConfigs) {
        for (const { topic } of c.availability) expect(kept.has(topic), `${c.unique_id} -> ${topic}`).toBe(true);
        const bridgeTopics = c.availability.map((a) => a.topic).filter((t) => t.startsWith("iotfw/bridge/"));
        expect(bridgeTopics.map((t) => kept.get(t))).toEqual(["online"]); // no entity points at a dead bridge
      }

      // A new app without the SHT31's temperature (channel 3): its entity is removed (empty retained).
      const hello = JSON.parse(watch.latest("iotfw/00000001/hello")!) as HelloJson & { abi: number; appHash: string; samplePeriodMs: number; firmware: string; board: string };
      const fewer = hello.channels.filter((c) => c.id !== 3).map((c) => ({ id: c.id, name: c.name, unit: c.unit, kind: c.kind === "frequent" ? ChannelKind.FREQUENT : ChannelKind.RARE }));
      const device = await TcpDevice.connect(bridge.tcpAddress!.port);
      device.send({ type: "hello", device: 1, seq: 0, t: 0, abi: hello.abi, firmware: "env-station@0.2.0", board: hello.board, appHash: "00112233445566ff", bootId: "0badf00d", samplePeriodMs: hello.samplePeriodMs, channels: fewer });
      const removed = "homeassistant/sensor/iotfw_00000001_3_temperature/config";
      await waitFor(() => watch.messages.some((m) => m.topic === removed && m.payload === ""), "the removed channel's config cleared");
      await waitFor(() => parse(watch.current(CONFIG_TOPIC)).every((c) => (c.device as { sw_version: string }).sw_version === "env-station 0.2.0"), "the other configs updated");
      device.close();
      const after = await retained(broker.url);
      expect(after.has(removed)).toBe(false);
      const afterConfigs = parse(new Map([...after].filter(([t]) => CONFIG_TOPIC.test(t))));
      expect(afterConfigs).toHaveLength(7);
      expectValid(afterConfigs);
      // "humidity" still repeats (channels 1 and 4): its topics stay; "temperature" is unique now.
      expect(afterConfigs.map((c) => c.state_topic).sort()).toEqual(EXPECTED.filter((e) => e.id !== 3).map((e) => `iotfw/00000001/${e.level}/summary`).sort());
    } finally {
      abort.abort();
      await running;
      await bridge.stop();
      await watch.close();
      await broker.stop();
    }
  });

  it("HA's birth message gets every config again; a bridge whose id changed re-points them and clears the old id's availability", async () => {
    const broker = await Mosquitto.start();
    const spool = tempDir();
    const start = () => Bridge.start({ listen: "tcp://127.0.0.1:0", upstreams: [broker.url], spoolDir: spool, http: "off", haDiscovery: "homeassistant", log: () => undefined });
    let bridge = await start();
    const watch = await Watch.open(broker.url, ["homeassistant/#", "iotfw/bridge/#"]);
    try {
      const device = await TcpDevice.connect(bridge.tcpAddress!.port);
      device.send(helloFrame(0xc0ffee));
      await waitFor(() => watch.current(CONFIG_TOPIC).size === 2, "2 configs");
      device.close();
      const rare = parse(watch.current(CONFIG_TOPIC)).find((c) => c.unique_id === "iotfw_00c0ffee_1_button")!;
      expect(rare).toMatchObject({ state_topic: "iotfw/00c0ffee/button/event", value_template: "{{ value_json.value }}" });
      expect(rare).not.toHaveProperty("state_class");
      expectValid(parse(watch.current(CONFIG_TOPIC)));
      // Home Assistant's birth message brings back a config the broker lost.
      const lost = "homeassistant/sensor/iotfw_00c0ffee_1_button/config";
      await watch.client.publishAsync(lost, "", { qos: 1, retain: true });
      await waitFor(() => watch.current(CONFIG_TOPIC).size === 1, "the config gone");
      await watch.client.publishAsync("homeassistant/status", "online", { qos: 1 });
      await waitFor(() => watch.current(CONFIG_TOPIC).size === 2, "the config published again on HA's birth message");
      expect(JSON.parse(watch.current(CONFIG_TOPIC).get(lost)!)).toEqual(rare);

      const before = `iotfw/bridge/${readFileSync(join(spool, "bridge-id"), "utf8").trim()}/availability`;
      await bridge.stop();
      writeFileSync(join(spool, "bridge-id"), "feedc0de\n"); // e.g. a spool restored with another bridge's id
      bridge = await start();
      await waitFor(() => parse(watch.current(CONFIG_TOPIC)).every((c) => c.availability[1].topic === "iotfw/bridge/feedc0de/availability"), "configs re-pointed");
      await waitFor(() => watch.messages.some((m) => m.topic === before && m.payload === ""), "the old availability cleared");
      const kept = await retained(broker.url);
      expect(kept.has(before)).toBe(false);
      expect(kept.get("iotfw/bridge/feedc0de/availability")).toBe("online");
    } finally {
      await bridge.stop();
      await watch.close();
      await broker.stop();
    }
  });

  it("`iotfw simulate --mqtt --ha-discovery [prefix]` publishes the same configs, from the same module", async () => {
    ensureCliBuilt();
    const refused = await runCli(["simulate", "--ha-discovery", "--sensors", "1", "--duration", "1s"], tempDir());
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--ha-discovery needs --mqtt/);

    const broker = await Mosquitto.start();
    const watch = await Watch.open(broker.url, ["ha/#", "iotfw/+/hello", "iotfw/+/+/summary"]);
    const child = spawn(process.execPath, [CLI, "simulate", "--mqtt", broker.url, "--ha-discovery", "ha", "--sensors", "2", "--speed", "60", "--workers", "1", "--app", ENV_STATION, "--seed", "3"], { cwd: tempDir(), stdio: ["ignore", "ignore", "pipe"] });
    const stderr: string[] = [];
    child.stderr!.on("data", (c: Buffer) => stderr.push(c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const topic = /^ha\/sensor\/[^/]+\/config$/;
      await waitFor(() => watch.current(topic).size === 16 && watch.latest("iotfw/00000002/temperature_2/summary"), `16 configs (${stderr.join("")})`, 60_000);
      const configs = parse(watch.current(topic));
      expectValid(configs);
      for (const dev of ["00000001", "00000002"]) {
        const hello = JSON.parse(watch.latest(`iotfw/${dev}/hello`)!) as HelloJson;
        const mine = configs.filter((c) => c.unique_id.startsWith(`iotfw_${dev}_`)).sort((a, b) => a.unique_id.localeCompare(b.unique_id));
        const bridgeAvailability = mine[0].availability[1].topic;
        expect(bridgeAvailability).toMatch(/^iotfw\/bridge\/[0-9a-f]{8}\/availability$/);
        const made = helloConfigs(hello, { discoveryPrefix: "ha", prefix: "iotfw", bridgeAvailability }).map((c) => c.config);
        expect(mine).toEqual(made.sort((a, b) => String(a.unique_id).localeCompare(String(b.unique_id))));
        expect(mine.map((c) => c.unique_id)).toEqual(EXPECTED.map((e) => e.uid.replace("00000001", dev)).sort());
      }
    } finally {
      child.kill("SIGINT");
      await exit;
      await watch.close();
      await broker.stop();
    }
  });
});
