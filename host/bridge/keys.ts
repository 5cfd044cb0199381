// Per-device HMAC keys for --keys (docs/bridge.md "Keys"): a JSON object mapping a device id in hex
// ("00c0ffee") to its key in hex (16 to 64 bytes). Loading is strict: a bad entry names itself.
// May touch: reads the keys file.
import { readFileSync } from "node:fs";
import { parseDeviceName } from "./records.js";

export class KeysError extends Error {}

export function parseKeys(text: string, source = "keys file"): Map<number, Buffer> {
  let value: unknown;
  try { value = JSON.parse(text); } catch (e) {
    throw new KeysError(`${source}: not JSON (${e instanceof Error ? e.message : String(e)}); expected {"00c0ffee": "<hex key>", ...}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new KeysError(`${source}: expected a JSON object {"<device hex>": "<key hex>"}`);
  const keys = new Map<number, Buffer>();
  for (const [name, key] of Object.entries(value)) {
    const device = parseDeviceName(name);
    if (device === null) throw new KeysError(`${source}: "${name}" is not a device id (up to 8 hex digits)`);
    if (typeof key !== "string" || !/^([0-9a-fA-F]{2}){16,64}$/.test(key)) throw new KeysError(`${source}: key of ${name} must be 32 to 128 hex digits (16 to 64 bytes)`);
    keys.set(device, Buffer.from(key, "hex"));
  }
  return keys;
}

export function loadKeys(path: string): Map<number, Buffer> {
  let text: string;
  try { text = readFileSync(path, "utf8"); } catch (e) {
    throw new KeysError(`${path}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseKeys(text, path);
}
