// A JSON Schema of Home Assistant's MQTT sensor discovery config, written from Home Assistant's pages:
// home-assistant.io/integrations/sensor.mqtt ("Configuration Variables": every key a sensor takes, its
// type; state_topic required), home-assistant.io/integrations/mqtt ("MQTT Discovery": the discovery
// payload, `origin` with `name` required, the `device` map), home-assistant.io/integrations/sensor
// ("Device class": the classes and the units each accepts, as DEVICE_CLASS_UNITS in
// homeassistant/components/sensor/const.py lists them). Unknown keys are refused (HA's voluptuous
// schemas refuse extra keys too). Plus the few JSON Schema keywords it uses, checked by hand: no JSON
// Schema validator is in node_modules. Only tests import this.

type Schema = {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  enum?: unknown[];
  const?: unknown;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: false;
  items?: Schema;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  anyOf?: Schema[];
  allOf?: Schema[];
  if?: Schema;
  then?: Schema;
  not?: Schema;
};

/** Sensor device classes (home-assistant.io/integrations/sensor#device-class). */
export const SENSOR_DEVICE_CLASSES = [
  "date", "enum", "timestamp", "apparent_power", "aqi", "area", "atmospheric_pressure", "battery", "blood_glucose_concentration",
  "carbon_monoxide", "carbon_dioxide", "conductivity", "current", "data_rate", "data_size", "distance", "duration", "energy",
  "energy_distance", "energy_storage", "frequency", "gas", "humidity", "illuminance", "irradiance", "moisture", "monetary",
  "nitrogen_dioxide", "nitrogen_monoxide", "nitrous_oxide", "ozone", "ph", "pm1", "pm10", "pm25", "power_factor", "power",
  "precipitation", "precipitation_intensity", "pressure", "reactive_power", "signal_strength", "sound_pressure", "speed",
  "sulphur_dioxide", "temperature", "temperature_delta", "volatile_organic_compounds", "volatile_organic_compounds_parts",
  "voltage", "volume", "volume_storage", "volume_flow_rate", "water", "weight", "wind_direction", "wind_speed",
];

const PRESSURE = ["Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"];
const UG_M3 = ["µg/m³"];
/** The units each numeric device class accepts (DEVICE_CLASS_UNITS); null = no unit at all. */
export const DEVICE_CLASS_UNITS: Record<string, Array<string | null>> = {
  temperature: ["°C", "°F", "K"], temperature_delta: ["°C", "°F", "K"],
  humidity: ["%"], battery: ["%"], moisture: ["%"], power_factor: ["%", null],
  pressure: PRESSURE, atmospheric_pressure: PRESSURE,
  illuminance: ["lx"],
  carbon_dioxide: ["ppm"], carbon_monoxide: ["ppm"], volatile_organic_compounds_parts: ["ppm", "ppb"],
  volatile_organic_compounds: UG_M3, pm1: UG_M3, pm10: UG_M3, pm25: UG_M3, nitrogen_dioxide: UG_M3, nitrogen_monoxide: UG_M3,
  nitrous_oxide: UG_M3, ozone: UG_M3, sulphur_dioxide: UG_M3,
  voltage: ["V", "mV", "µV", "kV", "MV"], current: ["A", "mA"], power: ["W", "kW", "MW", "GW", "TW"],
  apparent_power: ["VA"], reactive_power: ["var"],
  sound_pressure: ["dB", "dBA"], signal_strength: ["dB", "dBm"],
  frequency: ["Hz", "kHz", "MHz", "GHz"],
  speed: ["m/s", "km/h", "mm/s", "in/s", "ft/s", "mph", "kn", "Beaufort", "mm/d", "mm/h", "in/d", "in/h"],
  wind_speed: ["m/s", "km/h", "ft/s", "mph", "kn", "Beaufort"],
  duration: ["d", "h", "min", "s", "ms"],
  aqi: [null], ph: [null], date: [null], enum: [null], timestamp: [null],
};

const str: Schema = { type: "string", minLength: 1 };
const template: Schema = { type: "string", minLength: 1 };

const DEVICE: Schema = {
  type: "object", additionalProperties: false,
  properties: {
    configuration_url: str, connections: { type: "array", items: { type: "array", items: { type: "string" } } },
    hw_version: str, identifiers: { anyOf: [str, { type: "array", items: str, minItems: 1 }] }, manufacturer: str, model: str,
    model_id: str, name: str, serial_number: str, suggested_area: str, sw_version: str, via_device: str,
  },
  // A device needs at least one of identifiers or connections to be registered (sensor.mqtt, "device").
  anyOf: [{ required: ["identifiers"] }, { required: ["connections"] }],
};

/** The schema of one sensor discovery config (full key names; HA also takes abbreviations, unused here). */
export const SENSOR_DISCOVERY_SCHEMA: Schema = {
  type: "object",
  additionalProperties: false,
  required: ["state_topic"],
  properties: {
    availability: {
      type: "array", minItems: 1,
      items: { type: "object", additionalProperties: false, required: ["topic"], properties: { topic: str, payload_available: str, payload_not_available: str, value_template: template } },
    },
    availability_mode: { enum: ["all", "any", "latest"] },
    availability_template: template,
    availability_topic: str,
    default_entity_id: str,
    device: DEVICE,
    device_class: { enum: SENSOR_DEVICE_CLASSES },
    enabled_by_default: { type: "boolean" },
    encoding: { type: "string" },
    entity_category: { enum: ["diagnostic"] }, // a sensor cannot be "config" (sensor.mqtt)
    entity_picture: str,
    expire_after: { type: "integer", minimum: 0 },
    force_update: { type: "boolean" },
    icon: str,
    json_attributes_template: template,
    json_attributes_topic: str,
    last_reset_value_template: template,
    name: { anyOf: [str, { const: null }] },
    object_id: str,
    options: { type: "array", items: str },
    origin: { type: "object", additionalProperties: false, required: ["name"], properties: { name: str, sw_version: str, support_url: str } },
    payload_available: str,
    payload_not_available: str,
    platform: { const: "sensor" },
    qos: { type: "integer", minimum: 0, maximum: 2 },
    state_class: { enum: ["measurement", "measurement_angle", "total", "total_increasing"] },
    state_topic: str,
    suggested_display_precision: { type: "integer", minimum: 0 },
    unique_id: str,
    unit_of_measurement: str,
    value_template: template,
  },
  allOf: [
    // availability and availability_topic: one or the other (sensor.mqtt, "availability").
    { not: { required: ["availability", "availability_topic"] } },
    // Each device class with the units it accepts; a class without a unit has none.
    ...Object.entries(DEVICE_CLASS_UNITS).map(([cls, units]): Schema => ({
      if: { required: ["device_class"], properties: { device_class: { const: cls } } },
      then: units.includes(null) && units.length === 1
        ? { not: { required: ["unit_of_measurement"] } }
        : { required: units.includes(null) ? [] : ["unit_of_measurement"], properties: { unit_of_measurement: { enum: units.filter((u) => u !== null) } } },
    })),
    // HA refuses state_class with a non-numeric class (date, enum, timestamp).
    { if: { required: ["device_class"], properties: { device_class: { enum: ["date", "enum", "timestamp"] } } }, then: { not: { required: ["state_class"] } } },
  ],
};

const typeOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);

/** Errors of `value` against `schema` (empty: valid), each with the path it concerns. */
export function validate(value: unknown, schema: Schema = SENSOR_DISCOVERY_SCHEMA, path = "$"): string[] {
  const errors: string[] = [];
  if (schema.type) {
    const t = typeOf(value);
    if (!(t === schema.type || (schema.type === "number" && t === "integer"))) return [`${path}: ${t}, expected ${schema.type}`];
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ("const" in schema && schema.const !== value) errors.push(`${path}: ${JSON.stringify(value)}, expected ${JSON.stringify(schema.const)}`);
  if (typeof value === "string" && schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items, `${path}[${i}]`)));
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(o)) {
      const p = schema.properties?.[k];
      if (p) errors.push(...validate(v, p, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown key ${k}`);
    }
  }
  if (schema.anyOf && !schema.anyOf.some((s) => validate(value, s, path).length === 0)) errors.push(`${path}: matches none of anyOf`);
  for (const s of schema.allOf ?? []) errors.push(...validate(value, s, path));
  if (schema.if && schema.then && validate(value, schema.if, path).length === 0) errors.push(...validate(value, schema.then, path));
  if (schema.not && validate(value, schema.not, path).length === 0) errors.push(`${path}: matches a forbidden form ${JSON.stringify(schema.not)}`);
  return errors;
}

/** Render Home Assistant's simplest value template, `{{ value_json.a.b }}`, against a JSON payload
 *  (home-assistant.io/docs/configuration/templating, "Processing incoming data": value_json is the
 *  payload parsed as JSON). Anything more complex is refused, so a test cannot pass on a template it
 *  did not understand. */
export function renderValueTemplate(template: string, payload: string): unknown {
  const m = /^\{\{\s*value_json((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\}\}$/.exec(template);
  if (!m) throw new Error(`not a simple {{ value_json.x }} template: ${template}`);
  let v: unknown = JSON.parse(payload);
  for (const key of m[1].slice(1).split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}
