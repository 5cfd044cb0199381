// esptool-js 0.7.0 over rfc2217:// (our Web Serial shim host/flash/webserial.ts and RFC 2217 client
// host/flash/rfc2217.ts against the emulator's server, rfc2217-server.ts), so its reset strategies drive
// the dev board's real auto-reset circuit (reset-circuit.ts, EN rising 139 ms after release): an ESP32
// running its app, paced, esptool-js's stub at 921600. What it shows about esptool-js's own resets:
// - connect ("default_reset"): esptool-js's ClassicReset releases IO0 50 ms after EN, before EN crosses
//   its threshold on a board with the EN capacitor, so its first attempt boots the app (banner
//   "boot:0x13"); its second attempt (550 ms) reaches download mode, as on such a real board;
// - after("hard_reset"): esptool-js's HardReset only releases RTS (already released) and then re-asserts
//   DTR, so the chip is not reset: it stays in the stub;
// - after("custom_reset", "D0|R1|W100|R0"), esptool's hard reset spelled in esptool-js's sequence language,
//   resets it into the app, which boots.
// `iotfw flash` therefore uses its own reset steps over RFC 2217 (host/flash/connect.ts). May touch: a
// temporary folder.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ESPLoader, Transport } from "esptool-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBoard } from "../../host/build/boards.js";
import { buildApp } from "../../host/build/build.js";
import { loadPlan } from "../../host/flash/plan.js";
import { NodeSerialPort } from "../../host/flash/webserial.js";
import { Esp32Emulator, type EmulatorOptions } from "./emulator.js";
import { deviceMac } from "./registers.js";
import { serveRfc2217 } from "./rfc2217-server.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-esptool-js-rfc2217-"));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
let emu: Esp32Emulator;
let server: Server;
let loader: ESPLoader;
let transport: Transport;
const logs: string[] = [];

beforeAll(async () => {
  const out = join(tmp, "build");
  const built = await buildApp({ board: "esp32", outDir: out });
  emu = new Esp32Emulator({
    board: loadBoard("esp32"), flashFile: join(tmp, "esp32.bin"), pace: true, deviceId: 0x00e5b001, timeScale: 60,
    hardware: (built.manifest.app.hardware ?? []) as EmulatorOptions["hardware"],
    log: (t) => { logs.push(t); if (process.env.EMU_LOG) console.error("emu:", t); },
  });
  for (const image of loadPlan({ planDir: out }).images) emu.flash.write(image.address, image.data);
  expect(await emu.bootApp()).toBe(true); // the board runs its app when esptool-js comes
  server = createServer((socket) => { serveRfc2217(emu, socket); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
}, 120_000);
afterAll(async () => {
  await transport?.disconnect().catch(() => {});
  server?.close();
  await emu?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("esptool-js 0.7.0 over rfc2217:// on a virtual ESP32 with its auto-reset circuit", () => {
  it("main(\"default_reset\"): the first ClassicReset boots the app, the second reaches download mode; stub at 921600", async () => {
    const port = (server.address() as { port: number }).port;
    const serial = new NodeSerialPort({ kind: "rfc2217", host: "127.0.0.1", port });
    transport = new Transport(serial as never, false);
    (transport as unknown as { trace(m: string): void }).trace = () => {};
    const lines: string[] = [];
    loader = new ESPLoader({
      transport, baudrate: 921600, romBaudrate: 115200, debugLogging: false,
      terminal: { clean() {}, writeLine: (l: string) => lines.push(l), write: (l: string) => lines.push(l) },
    });
    expect(await loader.main("default_reset")).toBe("ESP32-D0WD-V3 (revision 3)");
    expect(loader.IS_STUB).toBe(true);
    const latched = logs.filter((l) => l.startsWith("EN crossed its threshold"));
    expect(latched.at(-1)).toMatch(/boot strap low: download mode/);
    // Two attempts as a rule; one when this process stalls past EN's 139 ms between esptool-js's 50 ms
    // timer and the server reading the IO0 release (both ends share one event loop here).
    if (latched.length > 1) expect(latched[0]).toMatch(/boot strap high: booting from flash/);
    expect(lines).toContain(`MAC: ${deviceMac(0x00e5b001).map((b) => b.toString(16).padStart(2, "0")).join(":")}`);
    expect(emu.baud).toBe(921600);
    expect(serial.rfc2217!.baud).toBe(921600); // the adapter follows (SET-BAUDRATE)
  }, 30_000);

  it("writeFlash (compressed, MD5 checked) and readFlash at 921600", async () => {
    const data = new Uint8Array(randomBytes(8192));
    data[0] = 0x5a;
    await loader.writeFlash({ fileArray: [{ data, address: 0x300000 }], flashMode: "keep", flashFreq: "keep", flashSize: "keep", eraseAll: false, compress: true, calculateMD5Hash: md5 });
    expect(Buffer.from(emu.flash.read(0x300000, data.length)).equals(data)).toBe(true);
    expect(Buffer.from(await loader.readFlash(0x300000, data.length)).equals(data)).toBe(true);
  }, 30_000);

  it("after(\"hard_reset\") does not reset (esptool-js's HardReset only releases RTS); a custom D0|R1|W100|R0 boots the app", async () => {
    const from = logs.length;
    await loader.after("hard_reset", false);
    // Each SET-CONTROL is answered before esptool-js's setRTS/setDTR resolve (host/flash/rfc2217.ts), so
    // the server has seen every line change by now: EN was never pulled low, only DTR re-asserted.
    expect(logs.slice(from).some((l) => l.startsWith("EN pulled low"))).toBe(false);
    expect(logs.slice(from)).toContain("DTR 1, RTS 0: EN high, boot strap low");
    expect(emu.circuit.inReset).toBe(false);
    // And the stub still answers (the app would not): a round trip, no waiting on a timer.
    expect(await loader.readFlashId()).toBe(0x1640ef);
    expect(emu.state).toBe("download");
    const booted = new Promise<boolean>((resolve) => emu.once("boot", resolve));
    await loader.after("custom_reset", false, "D0|R1|W100|R0");
    expect(await booted).toBe(true);
    expect(emu.state).toBe("app");
  }, 30_000);
});
