// `iotfw emulate --deploy-port`: the virtual ESP32's runtime takes `iotfw deploy` and `iotfw ctl --device`
// as a board's does, the real CLI on every side: no port while the board sits in download mode; flashed
// and booted, a deploy restarts the app with the new module (same device id), written into the wasm
// partition so the next power-on boots it; a corrupt image is refused and the app runs on.
// May touch: temp folders, loopback ports and the CLI processes it starts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../build/build.js";
import { waitFor } from "../bridge/testing.js";
import { CLI, ensureCliBuilt, runCli } from "./testing.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-emulate-deploy-"));
const children: ChildProcess[] = [];
const WASM_PARTITION = 0x200000; // esp32's partition table (host/build/boards)

beforeAll(async () => {
  ensureCliBuilt();
  await buildApp({ board: "esp32", outDir: join(tmp, "env-station") });
  await buildApp({ board: "esp32", appDir: "firmware/apps/motion", outDir: join(tmp, "motion") });
}, 300_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) { c.kill("SIGTERM"); await new Promise((r) => c.once("exit", r)); }
  rmSync(tmp, { recursive: true, force: true });
});

/** A CLI process whose stdout and stderr are kept. */
function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => { out += d; });
  child.stderr!.on("data", (d) => { err += d; });
  return { child, out: () => out, err: () => err, stop: () => { child.kill("SIGINT"); return new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", (c) => r(c)))); } };
}

async function emulate(flashFile: string, extra: string[] = []) {
  const p = start(["emulate", "--chip", "esp32", "--listen", "127.0.0.1:0", "--flash-file", flashFile, "--no-pace", "--speed", "60", "--deploy-port", "0", ...extra]);
  const m = await waitFor(() => /ready on (\S+?),.*deploy port (\S+)/.exec(p.out()) ?? undefined, `emulate ready: ${p.err()}`, 20_000);
  return { ...p, where: m[1], deploy: m[2] };
}

interface Frame { type: string; device?: number; firmware?: string; appHash?: string }
const frames = (text: string): Frame[] => text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Frame);

describe("emulate --deploy-port", () => {
  it("deploy and ctl reach the emulated board's running app; the module is kept in flash; bad images are refused", async () => {
    const flashFile = join(tmp, "flash.bin");
    const emu = await emulate(flashFile);

    // In download mode no runtime runs: nobody answers on the deploy port.
    const early = await runCli(["deploy", emu.deploy, "--image", join(tmp, "motion", "wasm-partition.bin")]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/cannot deploy to 127\.0\.0\.1:\d+: connect ECONNREFUSED .*is the runtime running/);

    const flashed = await runCli(["flash", emu.where, "--plan", join(tmp, "env-station"), "--baud", "921600"]);
    expect(flashed.code, flashed.stderr).toBe(0);
    const mon = start(["monitor", emu.where, "--json", "--duration", "2m"]);
    const hellos = () => frames(mon.out()).filter((f) => f.type === "hello");
    await waitFor(() => hellos().some((h) => h.firmware?.startsWith("env-station@")), `env-station's hello: ${mon.err()}`, 30_000);

    const deployed = await runCli(["deploy", emu.deploy, "--image", join(tmp, "motion", "wasm-partition.bin")]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^deployed \S+wasm-partition\.bin to 127\.0\.0\.1:\d+: \d+ bytes in \d+ ms; the device restarted the module\n$/);
    const motion = await waitFor(() => hellos().find((h) => h.firmware?.startsWith("motion@")), "the new module's hello", 30_000);
    expect(motion.device).toBe(1); // the same device
    expect(emu.err()).toMatch(/emulate: deploy: installed the module/);
    // Written where the flasher puts it and the next boot reads it (and staged in the upper half).
    const image = readFileSync(join(tmp, "motion", "wasm-partition.bin"));
    const flash = readFileSync(flashFile);
    expect(Buffer.compare(flash.subarray(WASM_PARTITION, WASM_PARTITION + image.length), image)).toBe(0);

    const ping = await runCli(["ctl", "1", "ping", "--device", emu.deploy]);
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/^00000001: ping acknowledged in \d+ ms\n$/);
    const other = await runCli(["ctl", "2", "ping", "--device", emu.deploy]);
    expect(other.code).toBe(3);

    const corrupt = Buffer.from(image);
    corrupt[corrupt.length - 1] ^= 0xff; // the module no longer matches its SHA-256
    writeFileSync(join(tmp, "corrupt.bin"), corrupt);
    const refused = await runCli(["deploy", emu.deploy, "--image", join(tmp, "corrupt.bin")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/SHA-256|hash/i);
    expect(Buffer.compare(readFileSync(flashFile).subarray(WASM_PARTITION, WASM_PARTITION + image.length), image)).toBe(0);
    const count = frames(mon.out()).length;
    await waitFor(() => frames(mon.out()).length > count, "frames after the refusal (the app runs on)", 30_000);

    expect(await mon.stop()).toBe(130);
    expect(await emu.stop()).toBe(0);

    // Powered on again from the same flash: the deployed module boots.
    const again = await emulate(flashFile, ["--boot"]);
    const mon2 = start(["monitor", again.where, "--json", "--duration", "1m"]);
    await waitFor(() => frames(mon2.out()).find((f) => f.type === "hello" && f.firmware?.startsWith("motion@")), `motion boots from flash: ${mon2.err()}`, 30_000);
    expect(await mon2.stop()).toBe(130);
    expect(await again.stop()).toBe(0);
  }, 240_000);
});
