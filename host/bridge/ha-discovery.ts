// Home Assistant MQTT discovery (docs/mqtt.md "Home Assistant"): the retained config of one entity per
// channel of a device's HELLO, as home-assistant.io/integrations/mqtt ("MQTT Discovery": topic
// <discovery_prefix>/<component>/<object_id>/config, a retained JSON config, an empty retained payload to
// remove the entity) and home-assistant.io/integrations/sensor.mqtt (the sensor's keys) describe it;
// device classes and the units each accepts from home-assistant.io/integrations/sensor#device-class
// (DEVICE_CLASS_UNITS in Home Assistant's homeassistant/components/sensor/const.py). Also which retained
// topics the bridge owns, kept per device with the spool, so configs a new app no longer has are cleared.
// Used by the bridge's MQTT upstream, hence by `iotfw bridge --ha-discovery` and `iotfw simulate --mqtt
// --ha-discovery` alike. May touch: <spool>/ha-discovery/ (one small JSON file per device).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import { channelTopicLevels, topicLevel } from "./records.js";

/** A HELLO as upstreamMessage gives it (device in hex, kind as a name). */
export interface HelloJson {
  device: string;
  firmware?: string;
  board?: string;
  appHash?: string;
  channels: Array<{ id: number; kind: string; name: string; unit: string }>;
}

export interface DiscoveryTopics {
  /** Home Assistant's discovery prefix (its default is "homeassistant"). */
  discoveryPrefix: string;
  /** The bridge's topic prefix (docs/mqtt.md, default "iotfw"). */
  prefix: string;
  /** The bridge's own retained availability topic (its last will sets it "offline"). */
  bridgeAvailability: string;
}

/** One discovery message: the config topic and its retained payload. */
export interface DiscoveryConfig { topic: string; uniqueId: string; config: Record<string, unknown> }

/** What Home Assistant knows a channel as: its device class, the unit spelled as HA accepts it for that
 *  class, and how many decimals to show (the mean of a window is a float32 with more digits than the
 *  sensor resolves). */
export interface SensorClass { device_class?: string; unit?: string; precision?: number }

/** Unit spellings devices use (firmware/drivers: "degC", "%RH", ...) -> the symbol Home Assistant's unit
 *  constants use (homeassistant/const.py UnitOf*), so the device class's unit check passes. */
const UNIT_SYMBOLS: Record<string, string> = {
  degc: "°C", "°c": "°C", c: "°C", celsius: "°C", degf: "°F", "°f": "°F", k: "K",
  "%rh": "%", rh: "%", "%": "%", percent: "%",
  pa: "Pa", hpa: "hPa", kpa: "kPa", mbar: "mbar", bar: "bar", cbar: "cbar", psi: "psi", inhg: "inHg", mmhg: "mmHg",
  lx: "lx", lux: "lx",
  ppm: "ppm", ppb: "ppb", "ug/m3": "µg/m³", "µg/m3": "µg/m³", "µg/m³": "µg/m³", "mg/m3": "mg/m³", "mg/m³": "mg/m³",
  v: "V", mv: "mV", a: "A", ma: "mA", w: "W", kw: "kW", mw: "mW",
  db: "dB", dba: "dBA", dbm: "dBm", hz: "Hz", khz: "kHz",
  "m/s": "m/s", "km/h": "km/h", "m/s2": "m/s²", "m/s^2": "m/s²", "m/s²": "m/s²",
};

/** The HA unit symbol for a device's unit (unknown spellings are kept as they are). */
export function haUnit(unit: string): string {
  return UNIT_SYMBOLS[unit.trim().toLowerCase()] ?? unit;
}

/** The names a channel of a gas or quantity goes by, for units several device classes share. */
const byName = (name: string, ...words: string[]) => words.some((w) => new RegExp(`(^|[^a-z0-9])${w}([^a-z]|$)`).test(name));

/** Device class for a channel's name and unit (home-assistant.io/integrations/sensor#device-class; each
 *  class's allowed units: DEVICE_CLASS_UNITS). A unit no class accepts gets no class: a sensor with a
 *  class and a unit HA does not accept for it is refused a unit ("not a valid unit for the device class"). */
export function sensorClass(name: string, unit: string): SensorClass {
  const u = haUnit(unit);
  const n = name.toLowerCase();
  switch (u) {
    case "°C": case "°F": case "K": return { device_class: "temperature", unit: u, precision: 1 };
    case "%":
      if (byName(n, "battery")) return { device_class: "battery", unit: u, precision: 0 };
      if (byName(n, "moisture", "soil")) return { device_class: "moisture", unit: u, precision: 0 };
      // "%RH" says humidity whatever the name; a bare "%" only with a humidity name.
      if (/rh/i.test(unit) || byName(n, "humidity", "rh")) return { device_class: "humidity", unit: u, precision: 1 };
      return { unit: u };
    case "Pa": case "hPa": case "kPa": case "mbar": case "bar": case "cbar": case "psi": case "inHg": case "mmHg":
      return { device_class: byName(n, "atmospheric", "barometric") ? "atmospheric_pressure" : "pressure", unit: u, precision: u === "hPa" || u === "mbar" ? 1 : u === "Pa" ? 0 : 2 };
    case "lx": return { device_class: "illuminance", unit: u, precision: 0 };
    case "ppm":
      if (byName(n, "co2", "carbon_dioxide", "eco2")) return { device_class: "carbon_dioxide", unit: u, precision: 0 };
      if (byName(n, "co", "carbon_monoxide")) return { device_class: "carbon_monoxide", unit: u, precision: 0 };
      if (byName(n, "voc", "tvoc")) return { device_class: "volatile_organic_compounds_parts", unit: u, precision: 0 };
      return { unit: u };
    case "ppb": return byName(n, "voc", "tvoc") ? { device_class: "volatile_organic_compounds_parts", unit: u, precision: 0 } : { unit: u };
    case "µg/m³":
      if (byName(n, "pm1", "pm1_0")) return { device_class: "pm1", unit: u, precision: 0 };
      if (byName(n, "pm25", "pm2_5", "pm2")) return { device_class: "pm25", unit: u, precision: 0 };
      if (byName(n, "pm10")) return { device_class: "pm10", unit: u, precision: 0 };
      if (byName(n, "voc", "tvoc")) return { device_class: "volatile_organic_compounds", unit: u, precision: 0 };
      if (byName(n, "no2")) return { device_class: "nitrogen_dioxide", unit: u, precision: 0 };
      if (byName(n, "o3", "ozone")) return { device_class: "ozone", unit: u, precision: 0 };
      return { unit: u };
    case "V": case "mV": return { device_class: "voltage", unit: u, precision: u === "V" ? 2 : 0 };
    case "A": case "mA": return { device_class: "current", unit: u, precision: u === "A" ? 2 : 0 };
    // mW is not among the power units HA accepts (DEVICE_CLASS_UNITS): the unit alone.
    case "W": case "kW": return { device_class: "power", unit: u, precision: 1 };
    case "dB": case "dBA":
      // dB is both a sound level and a signal strength; dBA only a sound level.
      if (u === "dB" && byName(n, "rssi", "signal", "snr")) return { device_class: "signal_strength", unit: u, precision: 0 };
      return { device_class: "sound_pressure", unit: u, precision: 0 };
    case "dBm": return { device_class: "signal_strength", unit: u, precision: 0 };
    case "Hz": case "kHz": return { device_class: "frequency", unit: u, precision: 1 };
    case "m/s": case "km/h": return { device_class: byName(n, "wind") ? "wind_speed" : "speed", unit: u, precision: 1 };
    // m/s² (acceleration): Home Assistant has no device class for it; the unit alone, 2 decimals.
    case "m/s²": return { unit: u, precision: 2 };
    default: return u ? { unit: u } : {};
  }
}

/** The entity's name: the channel's, first letter up, gas names in capitals, and the ordinal its topic
 *  level carries when the hello names several channels alike ("Temperature", "Temperature 2"). */
function entityName(name: string, level: string): string {
  const base = topicLevel(name, undefined);
  const ordinal = level !== base && level.startsWith(`${base}_`) ? ` ${level.slice(base.length + 1)}` : "";
  const words = name.replace(/[_-]+/g, " ").trim() || level;
  const pretty = /^(co2?|e?co2|voc|tvoc|pm\d+(\.\d+)?|no2|o3|uv|rssi)$/i.test(words) ? words.toUpperCase() : words[0].toUpperCase() + words.slice(1);
  return pretty + ordinal;
}

const PACKAGE_VERSION = (() => {
  try { return String(JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version); } catch { return undefined; }
})();

/** HA recommends an origin on discovered items (home-assistant.io/integrations/mqtt, "Discovery
 *  messages", origin: name, sw_version, support_url): it logs who made an entity. */
const ORIGIN = { name: "iotfw", ...(PACKAGE_VERSION ? { sw_version: PACKAGE_VERSION } : {}) };

/** A stable, topic-safe unique id for channel `id` named `name` of device `dev` (8 hex digits). */
export function channelUniqueId(dev: string, id: number, name: string): string {
  return `iotfw_${dev}_${id}_${topicLevel(name, id)}`;
}

/** One sensor config per channel of a HELLO (home-assistant.io/integrations/sensor.mqtt).
 *  - A frequent channel's state is its window's mean (`.../<level>/summary`, `value_json.mean`),
 *    `state_class: measurement` so HA keeps long-term statistics; its alerts (the channel's
 *    `.../<level>/event`: alert_high, alert_low, clear, fault) become the entity's attributes
 *    `alert`, `alert_value` and `alert_code` (json_attributes_topic), so an automation can trigger on them.
 *  - A rare channel (a button, a sound, a joystick) is a sensor of its last event's value: the value is
 *    a number whose meaning only the app knows (a press count, a direction, a level), so a binary
 *    sensor's fixed ON/OFF payloads would not fit; no state_class (events are not a periodic measure).
 *  - No expire_after: windows change at run time (set-window) and the HELLO does not carry them; a
 *    stale link is already said by availability (the device's and the bridge's, mode all). */
export function helloConfigs(hello: HelloJson, t: DiscoveryTopics): DiscoveryConfig[] {
  const dev = hello.device;
  const levels = channelTopicLevels(hello.channels);
  const [app, version] = splitFirmware(hello.firmware);
  const device = {
    identifiers: [`iotfw_${dev}`],
    name: `${app ?? "iotfw"} ${dev}`,
    manufacturer: "iotfw",
    model: hello.board ?? "unknown board",
    ...(hello.firmware ? { sw_version: version ? `${app} ${version}` : hello.firmware } : {}),
    serial_number: dev,
  };
  const availability = [{ topic: `${t.prefix}/${dev}/availability` }, { topic: t.bridgeAvailability }];
  return [...hello.channels].sort((a, b) => a.id - b.id).map((c) => {
    const level = levels.get(c.id)!;
    const uid = channelUniqueId(dev, c.id, c.name);
    const frequent = c.kind === "frequent";
    const cls = sensorClass(c.name, c.unit);
    const config: Record<string, unknown> = {
      name: entityName(c.name, level),
      unique_id: uid,
      state_topic: `${t.prefix}/${dev}/${level}/${frequent ? "summary" : "event"}`,
      value_template: frequent ? "{{ value_json.mean }}" : "{{ value_json.value }}",
      ...(cls.device_class ? { device_class: cls.device_class } : {}),
      ...(cls.unit ? { unit_of_measurement: cls.unit } : {}),
      ...(frequent ? { state_class: "measurement" } : {}),
      ...(cls.precision !== undefined ? { suggested_display_precision: cls.precision } : {}),
      ...(frequent ? {
        json_attributes_topic: `${t.prefix}/${dev}/${level}/event`,
        json_attributes_template: "{{ {'alert': value_json.kind, 'alert_value': value_json.value, 'alert_code': value_json.code} | tojson }}",
      } : {}),
      availability_mode: "all",
      availability,
      device,
      origin: ORIGIN,
    };
    return { topic: `${t.discoveryPrefix}/sensor/${uid}/config`, uniqueId: uid, config };
  });
}

/** "env-station@0.1.0" -> ["env-station", "0.1.0"]. */
function splitFirmware(firmware: string | undefined): [string | undefined, string | undefined] {
  if (!firmware) return [undefined, undefined];
  const at = firmware.lastIndexOf("@");
  return at > 0 ? [firmware.slice(0, at), firmware.slice(at + 1)] : [firmware, undefined];
}

/** Config topics bridges before per-channel unique ids published for this HELLO
 *  (<prefix>/sensor/iotfw_<device>_<name>/config): cleared the first time a device is seen. */
export function legacyConfigTopics(hello: HelloJson, discoveryPrefix: string): string[] {
  return [...new Set(hello.channels.map((c) => `${discoveryPrefix}/sensor/iotfw_${hello.device}_${topicLevel(c.name, c.id)}/config`))];
}

/** What the bridge published for one device, kept with the spool. */
interface Owned { bridgeAvailability: string; configs: Record<string, Record<string, unknown>> }

/** One discovery step: retained messages to publish (an empty payload clears a topic). */
export type RetainedMessage = [topic: string, payload: string];

/** The retained discovery topics the bridge owns, per device, in <spool>/ha-discovery/<device>.json (a
 *  file per device: a fleet's hellos each rewrite one small file). Knowing them across restarts is
 *  what lets a new HELLO clear the configs of channels the device no longer has, and a bridge whose id
 *  changed re-point every entity at its availability. Without a folder (tests), kept in memory. */
export class DiscoveryState {
  private readonly memory = new Map<string, Owned>();
  /** Payloads published by this process, by topic: a HELLO that changes nothing publishes nothing. */
  private readonly published = new Map<string, string>();

  constructor(private readonly dir: string | null, private readonly topics: DiscoveryTopics) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  private file(dev: string): string { return join(this.dir!, `${dev}.json`); }

  private owned(dev: string): Owned | null {
    if (!this.dir) return this.memory.get(dev) ?? null;
    try { return JSON.parse(readFileSync(this.file(dev), "utf8")) as Owned; } catch { return null; }
  }

  private keep(dev: string, owned: Owned): void {
    if (!this.dir) { this.memory.set(dev, owned); return; }
    const tmp = `${this.file(dev)}.tmp`;
    writeFileSync(tmp, JSON.stringify(owned));
    renameSync(tmp, this.file(dev)); // whole or not at all, across a crash
  }

  /** At most this many messages come out of hello() for a HELLO of `channels` channels (the upstream's
   *  in-flight accounting). */
  bound(dev: string, channels: number): number {
    const before = this.owned(dev);
    return 2 * channels + (before ? Object.keys(before.configs).length + 1 : 0);
  }

  /** A device's HELLO: its configs, and empty retained payloads for the configs it no longer has (those
   *  this bridge published for it before; the first time, those of the old naming). */
  hello(hello: HelloJson): RetainedMessage[] {
    if (!Array.isArray(hello.channels)) return []; // a MicroPython node's "hello" names no channels
    const dev = hello.device;
    const configs = helloConfigs(hello, this.topics);
    const before = this.owned(dev);
    const out: RetainedMessage[] = [];
    const now = new Set(configs.map((c) => c.topic));
    const stale = before ? Object.keys(before.configs) : legacyConfigTopics(hello, this.topics.discoveryPrefix);
    for (const topic of stale) if (!now.has(topic)) { out.push([topic, ""]); this.published.delete(topic); }
    for (const c of configs) {
      const payload = JSON.stringify(c.config);
      if (this.published.get(c.topic) === payload) continue;
      this.published.set(c.topic, payload);
      out.push([c.topic, payload]);
    }
    if (before && before.bridgeAvailability !== this.topics.bridgeAvailability) out.push([before.bridgeAvailability, ""]);
    this.keep(dev, { bridgeAvailability: this.topics.bridgeAvailability, configs: Object.fromEntries(configs.map((c) => [c.topic, c.config])) });
    return out;
  }

  /** Every config this bridge keeps, to publish again when Home Assistant says it (re)started: its birth
   *  message, `online` on <discovery prefix>/status (home-assistant.io/integrations/mqtt, "Birth and last
   *  will messages"; discovery senders are asked to re-send on it), so a broker that lost its retained
   *  messages (the embedded one keeps none across a restart) still gives HA every entity. */
  all(): RetainedMessage[] {
    const owned = this.dir
      ? (existsSync(this.dir) ? readdirSync(this.dir) : []).filter((f) => f.endsWith(".json")).map((f) => this.owned(f.slice(0, -5)))
      : [...this.memory.values()];
    const out: RetainedMessage[] = [];
    for (const o of owned) for (const [topic, config] of Object.entries(o?.configs ?? {})) out.push([topic, JSON.stringify(config)]);
    return out;
  }

  /** At start: configs published under another bridge id point at that id's availability, which stays
   *  "offline" for ever (with availability_mode all, every such entity would be unavailable): publish
   *  them again pointing at this bridge's, and clear the old availability topic. `commit` (once the
   *  broker has them) records it; a bridge stopped before that does it again at its next start. */
  repoint(): { messages: RetainedMessage[]; commit: () => void } {
    const nothing = { messages: [], commit: () => undefined };
    if (!this.dir) return nothing;
    // The availability topic the kept configs were last made for: the same one (every start but the
    // first after an id change) means nothing to re-point, and no device file is read.
    const marker = join(this.dir, "bridge-availability");
    let last: string | null = null;
    try { last = readFileSync(marker, "utf8"); } catch { /* none yet */ }
    if (last === this.topics.bridgeAvailability) return nothing;
    const out: RetainedMessage[] = [];
    const old = new Set<string>();
    const updates: Array<[string, Owned]> = [];
    for (const f of existsSync(this.dir) ? readdirSync(this.dir) : []) {
      if (!f.endsWith(".json")) continue;
      const dev = f.slice(0, -5);
      const owned = this.owned(dev);
      if (!owned || owned.bridgeAvailability === this.topics.bridgeAvailability) continue;
      old.add(owned.bridgeAvailability);
      for (const [topic, config] of Object.entries(owned.configs)) {
        const availability = (config.availability as Array<{ topic: string }> | undefined)?.map((a) => (a.topic === owned.bridgeAvailability ? { ...a, topic: this.topics.bridgeAvailability } : a));
        const updated = { ...config, ...(availability ? { availability } : {}) };
        owned.configs[topic] = updated;
        const payload = JSON.stringify(updated);
        this.published.set(topic, payload);
        out.push([topic, payload]);
      }
      updates.push([dev, { ...owned, bridgeAvailability: this.topics.bridgeAvailability }]);
    }
    for (const topic of old) if (topic !== this.topics.bridgeAvailability) out.push([topic, ""]);
    return {
      messages: out,
      commit: () => {
        for (const [dev, owned] of updates) this.keep(dev, owned);
        writeFileSync(`${marker}.tmp`, this.topics.bridgeAvailability);
        renameSync(`${marker}.tmp`, marker);
      },
    };
  }
}
