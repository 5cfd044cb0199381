// The simulated chip's random number generator, as far as HAL boot_id needs one: a device's boot id is
// a hash of a salt drawn once per run, its id and the number of the module instance (0 at power-on, +1
// per restart or deploy). A new run (a new salt) gives every boot new ids, as real chips do, so a bridge
// never takes a re-run's frames for replays of the last run's; a run given the same salt
// (`--boot-id-seed`, tests) is byte for byte reproducible, and both engines (V8 and the C runtime under
// Wasm3) get the same ids. Pure functions; no state.
import { randomBytes } from "node:crypto";

/** A fresh salt from the host's entropy (what a run uses unless told otherwise). */
export function randomBootSalt(): number {
  return randomBytes(4).readUInt32LE(0);
}

/** boot_id of instance `start` (0 = the first since power-on) of device `deviceId` under `salt`. */
export function bootIdFor(salt: number, deviceId: number, start: number): number {
  let h = fmix32((salt ^ Math.imul(deviceId >>> 0, 0x9e3779b1)) >>> 0);
  h = fmix32((h ^ Math.imul(start >>> 0, 0x85ebca77)) >>> 0);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser: every input bit changes about half of the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
