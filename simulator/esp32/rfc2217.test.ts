// Real reset lines: the virtual ESP32 behind its RFC 2217 server (rfc2217-server.ts), paced at the baud
// rate with the flash timing model, driven by
// - a hand-written Telnet client (bytes as RFC 854/855/2217 spell them): negotiation, every answer at
//   code + 100, 255 doubled in subnegotiations and in data both ways, FLOWCONTROL-SUSPEND holding
//   answers back, a baud mismatch losing bytes;
// - Espressif's esptool v5.3.1 through pyserial's rfc2217:// with its default --before default-reset
//   (ClassicReset by SET-CONTROL) and --after hard-reset, from a chip that runs its app: chip-id;
//   --after no-reset (esp-flasher-stub ignores the FLASH_END reboot, as its sources do); write-flash of the
//   real build plan at 921600 (SET-BAUDRATE) with its hash check, and the app boots; a wrong sequence (an
//   RTS pulse, DTR never asserted) that must not reach download mode;
// - `iotfw flash rfc2217://...` (host/flash): the classic reset by the lines, the plan written, the
//   hard reset by the lines, the app booting;
// - the CLI as a user runs it: `iotfw emulate --rfc2217 --boot` and `iotfw flash rfc2217://...?ign_set_control`,
//   and the URL's options;
// - the reset circuit alone: UnixTightReset's both-lines-at-once steps, and a pulse too short for EN.
// esptool needs ../shared/third_party/esptool-v5.3.1 and Debian's python3 (esptool-harness.ts): without
// them its tests skip and say why, except under CI. May touch: a temporary folder.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { buildApp } from "../../host/build/build.js";
import { loadBoard } from "../../host/build/boards.js";
import { flashDevice } from "../../host/flash/flasher.js";
import { parseRfc2217Url } from "../../host/flash/rfc2217.js";
import { CLI, ensureCliBuilt, runCli } from "../../host/cli/testing.js";
import { comPort, CONTROL, CPC, DO, escapeIac, IAC, OPT, TelnetParser, u32be, WILL, WONT, type TelnetEvent } from "../../host/flash/telnet.js";
import { Esp32Emulator, type EmulatorOptions } from "./emulator.js";
import { esptoolMissing, runEsptool } from "./esptool-harness.js";
import { ResetCircuit } from "./reset-circuit.js";
import { serveRfc2217, type Rfc2217Port } from "./rfc2217-server.js";
import { Cmd } from "./protocol.js";
import { SlipDecoder, slipEncode } from "./slip.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-rfc2217-"));
const plan = join(tmp, "build");
let hardware: EmulatorOptions["hardware"];
let unavailable: string | undefined;
beforeAll(async () => {
  unavailable = esptoolMissing();
  if (unavailable && process.env.CI) throw new Error(unavailable);
  const built = await buildApp({ board: "esp32", outDir: plan });
  hardware = (built.manifest.app.hardware ?? []) as EmulatorOptions["hardware"];
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const need = (ctx: TestContext) => { if (unavailable) { console.warn(`skipped: ${unavailable}`); ctx.skip(); } };

/** Resolves when `cond` holds (checked every 5 ms), rejects after `ms` with what was awaited. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A paced virtual ESP32 serving RFC 2217 on 127.0.0.1, as `iotfw emulate --rfc2217` does. */
async function rig(name: string) {
  const logs: string[] = [];
  const emu = new Esp32Emulator({
    board: loadBoard("esp32"), flashFile: join(tmp, `${name}.bin`), pace: true, hardware, timeScale: 60,
    log: (t) => { logs.push(t); if (process.env.EMU_LOG) console.error("emu:", performance.now().toFixed(0), t); },
  });
  const ports: Rfc2217Port[] = [];
  const server: Server = createServer((socket) => { ports.push(serveRfc2217(emu, socket, (t) => emu.options.log?.(t))); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `rfc2217://127.0.0.1:${(server.address() as { port: number }).port}`;
  const count = (text: string) => logs.filter((l) => l.includes(text)).length;
  return {
    emu, logs, ports, url, count,
    esptool: (args: string[], env?: Record<string, string>) => runEsptool(["--chip", "esp32", "--port", url, ...args], { env }),
    async close() { await new Promise<void>((r) => server.close(() => r())); await emu.close(); },
  };
}

const DOWNLOAD = "boot strap low: download mode";
const APP = "boot strap high: booting from flash";

describe("the RFC 2217 server, byte for byte", () => {
  it("negotiates, answers each command with code + 100, doubles 255 both ways, holds answers while suspended", async () => {
    const r = await rig("raw");
    const sock: Socket = connect({ host: "127.0.0.1", port: Number(new URL(r.url.replace("rfc2217", "tcp")).port) });
    const parser = new TelnetParser();
    const events: TelnetEvent[] = [];
    let data = new Uint8Array(0);
    let raw = Buffer.alloc(0);
    sock.on("data", (c: Buffer) => {
      raw = Buffer.concat([raw, c]);
      for (const ev of parser.push(c)) {
        events.push(ev);
        if (ev.kind === "data") data = Uint8Array.from([...data, ...ev.bytes]);
      }
    });
    const has = (cmd: number, opt: number) => events.some((e) => e.kind === "option" && e.command === cmd && e.option === opt);
    const answers = (code: number) => events.filter((e): e is Extract<TelnetEvent, { kind: "sb" }> => e.kind === "sb" && e.option === OPT.COM_PORT && e.body[0] === code).map((e) => [...e.body.subarray(1)]);
    try {
      await new Promise<void>((res) => sock.once("connect", () => res()));
      await until(() => has(DO, OPT.BINARY) && has(WILL, OPT.BINARY), "the server's DO/WILL BINARY");
      sock.write(Uint8Array.of(IAC, WILL, OPT.COM_PORT, IAC, WILL, OPT.BINARY, IAC, DO, OPT.BINARY, IAC, DO, 1 /* ECHO */));
      await until(() => has(DO, OPT.COM_PORT) && has(WONT, 1), "DO COM-PORT-OPTION and WONT ECHO");
      // Agreeing to what the server asked is not answered again (no negotiation loop).
      expect(events.filter((e) => e.kind === "option" && e.option === OPT.BINARY)).toHaveLength(2);

      sock.write(comPort(CPC.SET_BAUDRATE, u32be(0)));
      await until(() => answers(101).length === 1, "SET-BAUDRATE's answer");
      expect(answers(101)[0]).toEqual(u32be(115200));
      // 65535 baud carries two 255s: doubled on the wire both ways (written by hand here), single in the value.
      const sb65535 = (code: number) => Buffer.from([IAC, 250, OPT.COM_PORT, code, 0, 0, 255, 255, 255, 255, IAC, 240]);
      sock.write(sb65535(CPC.SET_BAUDRATE));
      await until(() => answers(101).length === 2, "the second SET-BAUDRATE answer");
      expect(answers(101)[1]).toEqual([0, 0, 255, 255]);
      expect(raw.includes(sb65535(101))).toBe(true);
      expect(r.ports[0].baud).toBe(65535);
      // At 65535 the adapter cannot talk to the chip's 115200 UART: bytes are lost, not delivered.
      sock.write(slipEncode(Uint8Array.of(0, Cmd.SYNC, 36, 0, 0, 0, 0, 0, 7, 7, 0x12, 0x20, ...new Array(32).fill(0x55))));
      await until(() => r.ports[0].framingErrors > 0, "framing errors at a mismatched baud rate");
      sock.write(comPort(CPC.SET_BAUDRATE, u32be(115200)));
      sock.write(comPort(CPC.SET_DATASIZE, [8]));
      sock.write(comPort(CPC.SET_PARITY, [1]));
      sock.write(comPort(CPC.SET_STOPSIZE, [1]));
      sock.write(comPort(CPC.SET_CONTROL, [CONTROL.NO_FLOW]));
      sock.write(comPort(CPC.SET_CONTROL, [CONTROL.RTS_OFF]));
      sock.write(comPort(CPC.SET_CONTROL, [CONTROL.REQ_RTS]));
      sock.write(comPort(CPC.SET_LINESTATE_MASK, [0x08]));
      sock.write(comPort(CPC.PURGE_DATA, [3]));
      await until(() => answers(112).length === 1, "PURGE-DATA's answer");
      expect(answers(102)).toEqual([[8]]);
      expect(answers(103)).toEqual([[1]]);
      expect(answers(104)).toEqual([[1]]);
      expect(answers(105)).toEqual([[CONTROL.NO_FLOW], [CONTROL.RTS_OFF], [CONTROL.RTS_OFF]]);
      expect(answers(110)).toEqual([[0x08]]);
      expect(answers(112)).toEqual([[3]]);
      expect(r.emu.circuit.rts).toBe(false);

      // Data with 255s both ways: WRITE_REG 0xffffffff to a plain register, READ_REG it back (ROM loader).
      const reg = [0xff, 0x00, 0x00, 0x60];
      const req = (op: number, body: number[]) => slipEncode(Uint8Array.of(0, op, body.length, 0, 0, 0, 0, 0, ...body));
      const escaped = (b: Uint8Array) => Buffer.from(escapeIac(b));
      sock.write(escaped(req(Cmd.WRITE_REG, [...reg, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0])));
      sock.write(escaped(req(Cmd.READ_REG, reg)));
      await until(() => new SlipDecoder().push(data).length >= 2, "two ROM responses");
      const [, readBack] = new SlipDecoder().push(data);
      expect(readBack[1]).toBe(Cmd.READ_REG);
      expect([...readBack.subarray(4, 8)]).toEqual([255, 255, 255, 255]);
      expect(raw.includes(Buffer.alloc(8, 255))).toBe(true); // the value's four 255s, doubled

      // FLOWCONTROL-SUSPEND: the server holds its answers (and data) until RESUME (RFC 2217 section 5).
      sock.write(comPort(CPC.FLOWCONTROL_SUSPEND));
      sock.write(comPort(CPC.SET_CONTROL, [CONTROL.REQ_DTR]));
      await until(() => (r.ports[0] as unknown as { pending: unknown[] }).pending.length === 1, "the held answer");
      expect(answers(105)).toHaveLength(3);
      sock.write(comPort(CPC.FLOWCONTROL_RESUME));
      await until(() => answers(105).length === 4, "the answer after RESUME");
      expect(answers(105)[3]).toEqual([CONTROL.DTR_ON]); // pyserial's default after open: asserted
    } finally {
      sock.destroy();
      await r.close();
    }
  }, 30_000);
});

describe("rfc2217:// URLs", () => {
  it("takes pyserial's ign_set_control and timeout options and refuses others by name", () => {
    expect(parseRfc2217Url("socket://h:1")).toBeNull();
    expect(parseRfc2217Url("rfc2217://10.0.0.2:4000")).toEqual({ kind: "rfc2217", host: "10.0.0.2", port: 4000 });
    expect(parseRfc2217Url("rfc2217://[::1]:4000?ign_set_control&timeout=5")).toEqual({ kind: "rfc2217", host: "::1", port: 4000, ignoreSetControl: true, answerTimeoutMs: 5000 });
    expect(() => parseRfc2217Url("rfc2217://h:4000?logging=debug")).toThrow(/unknown option "logging=debug" \(known: ign_set_control, timeout=<seconds>\)/);
    expect(() => parseRfc2217Url("rfc2217://h")).toThrow(/expected rfc2217:\/\/host:port/);
  });
});

describe("the auto-reset circuit", () => {
  const circuit = () => {
    const seen: string[] = [];
    const c = new ResetCircuit({ hold: () => seen.push("hold"), release: (low) => seen.push(low ? "download" : "app") }, 20);
    return { c, seen };
  };
  const released = (seen: string[]) => until(() => seen.at(-1) !== "hold", "the chip leaving reset");

  it("UnixTightReset (both lines per step, TIOCMSET) reaches download mode; an RTS pulse boots the app", async () => {
    const { c, seen } = circuit();
    for (const [dtr, rts] of [[false, false], [true, true], [false, true]]) c.set({ dtr, rts });
    c.set({ dtr: true, rts: false }); // IO0 low and EN released together
    await released(seen);
    c.set({ dtr: false, rts: false });
    expect(seen).toEqual(["hold", "download"]);
    c.set({ rts: true });
    c.set({ rts: false });
    await released(seen);
    expect(seen).toEqual(["hold", "download", "hold", "app"]);
  });

  it("EN pulled low again before it crosses its threshold keeps the chip in reset", async () => {
    const { c, seen } = circuit();
    c.set({ rts: true });
    c.set({ rts: false });
    c.set({ rts: true }); // within 20 ms
    expect(c.inReset).toBe(true);
    c.set({ dtr: true, rts: false });
    await released(seen);
    expect(seen).toEqual(["hold", "hold", "download"]);
  });
});

describe("esptool v5.3.1 and iotfw flash over rfc2217://, resetting by the lines", () => {
  let r: Awaited<ReturnType<typeof rig>>;
  beforeAll(async () => {
    r = await rig("esptool");
    await r.emu.bootApp(); // the chip runs (nothing flashed yet): only the lines can bring it to the ROM
  });
  afterAll(async () => { await r?.close(); });

  it("chip-id: ClassicReset by SET-CONTROL reaches the ROM; --after hard-reset leaves it booting", async (ctx) => {
    need(ctx);
    expect(r.emu.state).toBe("app");
    const res = await r.esptool(["chip-id"]);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toContain("Chip type:          ESP32-D0WD-V3 (revision v3.1)");
    expect(res.out).toContain("Hard resetting via RTS pin...");
    expect(r.count(DOWNLOAD)).toBe(1);
    // The last time EN crossed its threshold (the hard reset) the strap was high: the app boots.
    await until(() => r.logs.filter((l) => l.includes("EN crossed its threshold")).at(-1)?.includes(APP) === true, "the hard reset's boot");
  }, 60_000);

  it("--after no-reset: esptool's FLASH_END reboot leaves esp-flasher-stub running, as its sources do", async (ctx) => {
    need(ctx);
    const res = await r.esptool(["--after", "no-reset", "read-mac"]);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toContain("Staying in bootloader.");
    expect(r.count(DOWNLOAD)).toBe(2);
    await until(() => r.count("esp-flasher-stub does not reboot") === 1, "the ignored reboot");
    expect(r.emu.state).toBe("download");
    expect(r.emu.loader.mode).toBe("esp-flasher-stub");
  }, 60_000);

  it("a wrong sequence (an RTS pulse, DTR never asserted) does not enter download mode", async (ctx) => {
    need(ctx);
    const cfg = join(tmp, "esptool.cfg");
    writeFileSync(cfg, "[esptool]\ncustom_reset_sequence = D0|R1|W0.1|R0|W0.3\n");
    const res = await r.esptool(["--connect-attempts", "1", "chip-id"], { ESPTOOL_CFGFILE: cfg });
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/Wrong boot mode detected \(0x13\)! The chip needs to be in download mode/);
    expect(r.count(DOWNLOAD)).toBe(2);
    expect(r.emu.state).toBe("app");
  }, 60_000);

  it("write-flash of the build plan at 921600 (SET-BAUDRATE), hash verified, --after hard-reset boots the app", async (ctx) => {
    need(ctx);
    const booted = new Promise<boolean>((resolve) => r.emu.once("boot", resolve));
    const res = await r.esptool(["--baud", "921600", "write-flash", "0x8000", join(plan, "partition-table.bin"), "0x200000", join(plan, "wasm-partition.bin")]);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toContain("Changing baud rate to 921600");
    expect(res.out.match(/Hash of data verified\./g)).toHaveLength(2);
    expect(r.logs.some((l) => l.includes("rfc2217: SET-BAUDRATE 921600"))).toBe(true);
    expect(r.count(DOWNLOAD)).toBe(3);
    expect(await booted).toBe(true);
  }, 60_000);

  it("iotfw flash rfc2217://: classic reset by the lines, the plan written, hard reset by the lines, the app boots", async (ctx) => {
    need(ctx); // the emulator's side needs no esptool; skipped with the others to keep one rig
    r.emu.flash.erase(0x200000, 0x10000); // so the Wasm partition has to be written again
    await r.emu.bootApp();
    const booted = new Promise<boolean>((resolve) => r.emu.once("boot", resolve));
    const downloads = r.count(DOWNLOAD);
    const result = await flashDevice({ port: r.url, planDir: plan, baud: 921600 });
    expect(result.chip).toBe("ESP32");
    expect(result.written.map((w) => w.file)).toEqual(["wasm-partition.bin"]);
    expect(result.baud).toBe(921600);
    expect(result.resetBy).toBe("lines");
    expect(r.count(DOWNLOAD)).toBe(downloads + 1);
    expect(await booted).toBe(true);
    expect(r.logs.at(-1)).not.toMatch(/cannot boot/);
  }, 60_000);
});

describe("the CLI: iotfw emulate --rfc2217 and iotfw flash rfc2217://", () => {
  it("flashes the plan onto a chip running its app and resets it into the app by the lines", async () => {
    ensureCliBuilt();
    const child = spawn(process.execPath, [CLI, "emulate", "--chip", "esp32", "--rfc2217", "127.0.0.1:0", "--boot", "-v", "--flash-file", join(tmp, "cli.bin")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => { out += d; });
    child.stderr!.on("data", (d) => { err += d; });
    try {
      await until(() => /ready on rfc2217:\/\/\S+,/.test(out), "emulate's ready line", 20_000);
      const url = /ready on (rfc2217:\/\/\S+?),/.exec(out)![1];
      // pyserial's ign_set_control option: SET-CONTROL answers not awaited (for esp_rfc2217_server).
      const r = await runCli(["flash", `${url}?ign_set_control`, "--plan", plan, "--baud", "921600"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/partition-table\.bin at 0x8000: wrote \d+ bytes, md5 [0-9a-f]{32} verified/);
      expect(r.stdout).toMatch(/reset into the app by the DTR\/RTS lines/);
      await until(() => /app booted/.test(err), "emulate's 'app booted'", 10_000);
      expect(err).toContain(DOWNLOAD);
      expect(err).toContain(APP);
    } finally {
      child.kill("SIGTERM");
      await new Promise((res) => child.once("exit", res));
    }
  }, 60_000);
});
