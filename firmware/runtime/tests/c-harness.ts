// Test support for the C runtime's host checks (runtime-c.test.ts, tools/bench/runtime.ts): write the
// fixtures the C tests read (real images from host/build/wasm-image.ts, framed protocol vectors, deploy
// requests, frames signed by host/protocol/hmac.ts) and build the core with its tests using gcc.
// May touch: the folder it is given.
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";
import { REPO_ROOT } from "../../../host/repo-root.js";
import { encodeWasmImage, IMAGE_FIELDS } from "../../../host/build/wasm-image.js";
import { serialFrame, signFrame, tcpFrame } from "../../../host/protocol/index.js";
import { loadAbi } from "../../../tools/gen-hal.js";
import { deployRequest } from "../../../host/deploy/protocol.js";

export const RUNTIME = join(REPO_ROOT, "firmware", "runtime");
export const GCC_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow"];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A real Wasm module: the fleet tests' minimal ticker, assembled by wabt. */
async function tickerModule(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const m = wabt.parseWat("ticker.wat", readFileSync(join(REPO_ROOT, "simulator/fleet/testdata/ticker.wat"), "utf8"), {});
  try { return new Uint8Array(m.toBinary({}).buffer); } finally { m.destroy(); }
}

/** Write the fixtures the C tests read (see tests/test_image.c, test_link_framing.c, test_deploy.c). */
export async function writeFixtures(dir: string): Promise<void> {
  const abi = loadAbi().version;
  const module = await tickerModule();
  const good = encodeWasmImage(module, abi);
  const PARTITION = 0x40000; // boards/esp32.json wasm partition
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, name), bytes);
  const patched = (at: number, value: number) => { const b = good.slice(); b[at] = value; return b; };
  const images: Array<[string, Uint8Array, number, number]> = [
    ["good.bin", good, 0, PARTITION],
    ["partition-dump.bin", Buffer.concat([good, Buffer.alloc(4096, 0xff)]), 0, PARTITION],
    ["too-large.bin", good, -6, good.length - 1],
    ["bad-hash.bin", patched(64 + 20, good[64 + 20] ^ 0x01), -9, PARTITION],
    ["bad-magic.bin", patched(0, 0x58), -3, PARTITION],
    ["erased.bin", new Uint8Array(4096).fill(0xff), -2, PARTITION],
    ["abi-next.bin", encodeWasmImage(module, abi + 1), -5, PARTITION],
    ["version-2.bin", patched(IMAGE_FIELDS.headerVersion, 2), -4, PARTITION],
    ["truncated.bin", good.subarray(0, good.length - 10), -7, PARTITION],
    ["not-wasm.bin", encodeWasmImage(new TextEncoder().encode("this is not a wasm module at all"), abi), -8, PARTITION],
    ["short.bin", good.subarray(0, 20), -1, PARTITION],
  ];
  for (const [name, bytes] of images) put(name, bytes);
  writeFileSync(join(dir, "images.txt"), images.map(([n, , st, cap]) => `${n} ${st} ${cap}\n`).join(""));

  const vectors = JSON.parse(readFileSync(join(REPO_ROOT, "docs/protocol-vectors.json"), "utf8")).vectors as Array<{ name: string; hex: string }>;
  writeFileSync(join(dir, "vectors.txt"), vectors.map((v) => {
    const frame = Buffer.from(v.hex, "hex");
    return `${v.name} ${v.hex} ${hex(serialFrame(frame))} ${hex(tcpFrame(frame))}\n`;
  }).join(""));

  writeFileSync(join(dir, "hmac.txt"), hmacVectors(vectors));

  const badImageMagic = good.slice(); badImageMagic[0] = 0x58;
  const withGarbage = Buffer.concat([good, Buffer.alloc(16, 0x33)]);
  const tooLarge = deployRequest(good); new DataView(tooLarge.buffer).setUint32(4, 200_000, false);
  const deploys: Array<[string, Uint8Array, number, number]> = [
    ["deploy-good.bin", deployRequest(good), 0, 0],
    ["deploy-bad-hash.bin", deployRequest(patched(64 + 20, good[64 + 20] ^ 0x01)), -5, 0],
    ["deploy-abi-next.bin", deployRequest(encodeWasmImage(module, abi + 1)), -4, abi],
    ["deploy-bad-request.bin", Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n\r\n"), good]), -1, 0],
    ["deploy-bad-image.bin", deployRequest(badImageMagic), -3, 3],
    ["deploy-not-wasm.bin", deployRequest(encodeWasmImage(new TextEncoder().encode("this is not a wasm module at all"), abi)), -3, 8],
    ["deploy-length-mismatch.bin", deployRequest(withGarbage), -3, 7],
    ["deploy-too-large.bin", tooLarge, -2, 128 * 1024],
  ];
  for (const [name, bytes] of deploys) put(name, bytes);
  writeFileSync(join(dir, "deploy.txt"), deploys.map(([n, , st, d]) => `${n} ${st} ${d}\n`).join(""));
}

/** Device keys of the HMAC fixtures: the shortest and longest a keys file allows, and hmac.test.ts's. */
export const FIXTURE_KEYS = [
  Buffer.from(Array.from({ length: 16 }, (_, i) => i)),
  Buffer.alloc(32, 0x5a),
  Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 7 + 1) & 0xff)),
];

/** hmac.txt for tests/test_frame_auth.c: "mac <key> <data|-> <HMAC-SHA256>" (node:crypto, around the SHA-256
 *  block edges and a key longer than a block), then "frame <name> <key> <plain> <signed>" for every protocol
 *  vector under every fixture key, signed by host/protocol/hmac.ts's signFrame. All hex. */
function hmacVectors(vectors: Array<{ name: string; hex: string }>): string {
  const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
  const macKeys = [...FIXTURE_KEYS, bytes(65, 3), bytes(131, 9)];
  let text = "";
  for (const key of macKeys) {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 512]) {
      const data = bytes(n, n);
      text += `mac ${hex(key)} ${n ? hex(data) : "-"} ${createHmac("sha256", key).update(data).digest("hex")}\n`;
    }
  }
  for (const v of vectors) {
    for (const key of FIXTURE_KEYS) text += `frame ${v.name} ${hex(key)} ${v.hex} ${hex(signFrame(Buffer.from(v.hex, "hex"), key))}\n`;
  }
  return text;
}

/** Compile the core and its tests; returns the test program's path. */
export function compileCoreTests(dir: string, flags = GCC_FLAGS): string {
  const sources = [
    ...readdirSync(join(RUNTIME, "core")).filter((f) => f.endsWith(".c")).map((f) => join(RUNTIME, "core", f)),
    ...readdirSync(join(RUNTIME, "tests")).filter((f) => f.endsWith(".c")).map((f) => join(RUNTIME, "tests", f)),
  ];
  const exe = join(dir, "runtime-tests");
  execFileSync("gcc", [...flags, "-O1", "-o", exe, ...sources], { stdio: "pipe" });
  return exe;
}
