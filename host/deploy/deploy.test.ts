// End to end: a simulated device (VirtualDevice run in real time + the deploy server on a free loopback
// port) running app A; `iotfw deploy` (the real CLI, spawned) builds app B and sends it; the device
// restarts with B (its next HELLO carries B's app hash, EVENT RESET reason RESET_REMOTE) and keeps its id.
// A corrupt or wrong-ABI image is refused with a clear error and A keeps running. Also the wire format
// of the deploy answer and address parsing. May touch: temporary folders, loopback ports it opens.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type BuildResult } from "../build/build.js";
import { DEFAULT_APP_DIR } from "../build/app.js";
import { encodeWasmImage } from "../build/wasm-image.js";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { decodeFrame, EventKind, type Frame } from "../protocol/index.js";
import { createDeviceFactory, type HardwarePart } from "../../simulator/fleet/wiring.js";
import { SimulatedRuntime, startDeployServer, type DeployServer } from "../../simulator/device/deploy-server.js";
import { HAL_VERSION, HalConst } from "../../simulator/hal/abi.generated.js";
import { DeployError, deployImage, parseDeployAddress } from "./client.js";
import { sendRawDeploy } from "./testing.js";
import { waitFor } from "../bridge/testing.js";
import { DeployStatus, deployRequest, type DeployAnswer } from "./protocol.js";

const DEVICE_ID = 0x00c0ffee;

/** Resolve when predicate holds, polling; reject after timeoutMs. */


describe("iotfw deploy against a simulated device", () => {
  let dir: string;
  let appA: BuildResult;
  let appBDir: string;
  let runtime: SimulatedRuntime;
  let server: DeployServer;
  const frames: Frame[] = [];
  const answers: DeployAnswer[] = [];
  const hashOf = (b: BuildResult) => b.manifest.sha256.slice(0, 16);
  const hellos = () => frames.filter((f): f is Extract<Frame, { type: "hello" }> => f.type === "hello");

  beforeAll(async () => {
    ensureCliBuilt();
    dir = mkdtempSync(join(tmpdir(), "iotfw-deploy-"));
    appA = await buildApp({ board: "esp32", outDir: join(dir, "build-a") });
    // App B: the same station as another firmware version (a different module, a different hash).
    appBDir = join(dir, "app-b");
    cpSync(DEFAULT_APP_DIR, appBDir, { recursive: true });
    const index = join(appBDir, "index.ts");
    writeFileSync(index, readFileSync(index, "utf8").replace('setFirmware("env-station", "0.1.0")', 'setFirmware("env-station", "0.2.0")'));
    const appJson = JSON.parse(readFileSync(join(appBDir, "app.json"), "utf8"));
    writeFileSync(join(appBDir, "app.json"), JSON.stringify({ ...appJson, version: "0.2.0" }, null, 2));

    const factory = createDeviceFactory({ hardware: (appA.manifest.app.hardware as HardwarePart[] | undefined) ?? [], seed: 7, adcBits: 12 });
    runtime = new SimulatedRuntime({
      id: DEVICE_ID, board: "esp32", wiring: factory.wiring(DEVICE_ID),
      onFrame: (bytes) => { const r = decodeFrame(bytes); if (r.ok) frames.push(r.frame); },
    });
    runtime.install(await runtime.prepare(appA.binary), Buffer.from(appA.manifest.sha256, "hex"));
    server = await startDeployServer({ runtime, onDeploy: (a) => answers.push(a) });
    await waitFor(() => hellos().some((h) => h.appHash === hashOf(appA)), "app A's hello");
  }, 120_000);

  afterAll(async () => {
    runtime?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a wrong-ABI image with a clear error; app A keeps running", async () => {
    const before = runtime.device;
    const image = join(dir, "abi-next.bin");
    writeFileSync(image, encodeWasmImage(appA.binary, HAL_VERSION + 1));
    const r = await runCli(["deploy", server.address, "--image", image]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`refused the image: the module was built for HAL ABI v${HAL_VERSION + 1}, but the device implements v${HAL_VERSION}`));
    expect(answers.at(-1)).toEqual({ status: DeployStatus.BAD_ABI, detail: HAL_VERSION });
    expect(runtime.device).toBe(before);
    const clock = before!.clock.ms;
    await waitFor(() => before!.clock.ms > clock + 500, "app A to tick on");
  }, 30_000);

  it("refuses a corrupted image (SHA-256 mismatch) and one that is not an image; app A keeps running", async () => {
    const before = runtime.device;
    const corrupt = encodeWasmImage(appA.binary, HAL_VERSION);
    corrupt[64 + 100] ^= 0xff;
    expect(await sendRawDeploy(server.port, deployRequest(corrupt))).toEqual({ status: DeployStatus.BAD_HASH, detail: 0 });
    expect(await sendRawDeploy(server.port, Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).toEqual({ status: DeployStatus.BAD_REQUEST, detail: 0 });
    // The client refuses to send a corrupted image at all, naming the problem.
    await expect(deployImage({ host: "127.0.0.1", port: server.port }, corrupt)).rejects.toThrow(/SHA-256 does not match/);
    const file = join(dir, "corrupt.bin");
    writeFileSync(file, corrupt);
    const r = await runCli(["deploy", server.address, "--image", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corrupt\.bin is not a Wasm partition image: .*SHA-256/);
    expect(runtime.device).toBe(before);
  }, 30_000);

  it("builds app B, sends it, and the device restarts with B, RESET_REMOTE, same id", async () => {
    const before = runtime.device!;
    const helloCount = hellos().length;
    const firstNew = frames.length;
    const r = await runCli(["deploy", server.address, "--app", appBDir, "--board", "esp32", "--out", join(dir, "build-b")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployed env-station 0\.2\.0 \(sha256 [0-9a-f]{16}\.\.\.\) to 127\.0\.0\.1:\d+: \d+ bytes .*restarted the module/);
    const manifestB = JSON.parse(readFileSync(join(dir, "build-b", "manifest.json"), "utf8")) as { sha256: string };
    expect(manifestB.sha256).not.toBe(appA.manifest.sha256);
    await waitFor(() => hellos().length > helloCount, "app B's hello");
    const hello = hellos().at(-1)!;
    expect(hello.appHash).toBe(manifestB.sha256.slice(0, 16));
    expect(hello.firmware).toBe("env-station@0.2.0");
    expect(hello.device).toBe(DEVICE_ID);
    const reset = frames.slice(firstNew).find((f) => f.type === "event" && f.kind === EventKind.RESET);
    expect(reset).toMatchObject({ type: "event", device: DEVICE_ID, code: HalConst.RESET_REMOTE });
    expect(runtime.device).not.toBe(before);
    expect(runtime.device!.resets).toBe(before.resets + 1);
    expect(answers.at(-1)).toEqual({ status: DeployStatus.OK, detail: 0 });
  }, 60_000);

  it("says plainly when nothing listens or the address is not one", async () => {
    const closed = await startDeployServer({ runtime });
    const port = closed.port;
    await closed.close();
    const r = await runCli(["deploy", `127.0.0.1:${port}`, "--image", appA.files.image]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot deploy to 127\.0\.0\.1:\d+: .*ECONNREFUSED.*nothing listens there/);
    expect(() => parseDeployAddress("my-device")).toThrow(DeployError);
    const bad = await runCli(["deploy", "my-device", "--image", appA.files.image]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"my-device" is not a device address: give host:port/);
  }, 30_000);
});
