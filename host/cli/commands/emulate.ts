// `iotfw emulate`: a virtual ESP32 (simulator/esp32) on a pty, a TCP port, or an RFC 2217 port (which
// carries DTR/RTS to the board's auto-reset circuit), with its flash in a file. It starts in download
// mode (--boot: the app), flashing tools talk to its ROM bootloader, and after a reset it boots the
// flashed app and sends its frames on the same link.
// Runs until SIGINT/SIGTERM. May touch: the flash file, the pty/port it opens, a socat it starts (--pty).
import type { Command } from "commander";
import { createServer, type Server } from "node:net";
import { loadApp, DEFAULT_APP_DIR } from "../../build/app.js";
import { loadBoard } from "../../build/boards.js";
import type { OpenLink } from "../../link/open.js";
import { createPtyPair, type PtyPair } from "../../link/pty.js";
import type { Esp32Emulator } from "../../../simulator/esp32/emulator.js";
import { serveRfc2217 } from "../../../simulator/esp32/rfc2217-server.js";
import { DEFAULT_EN_DELAY_MS } from "../../../simulator/esp32/reset-circuit.js";
import { CHIP_BOARDS } from "../../../simulator/esp32/chip.js";
import type { HardwarePart } from "../../../simulator/fleet/wiring.js";
import { CliError } from "../errors.js";
import { portOption } from "../port-option.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

interface EmulateOpts {
  chip: string; serial?: string; listen?: string; rfc2217?: string; enDelay: string; pty?: boolean; flashFile: string; app?: string; pace: boolean;
  dropRate?: string; corruptRate?: string; seed: string; speed: string; deviceId: string; boot?: boolean; verbose?: boolean;
  deployPort?: string;
}

const rate = (text: string | undefined, name: string): number | undefined => {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!(v >= 0 && v <= 1)) throw new CliError(`--${name} ${text}: expected a probability between 0 and 1`);
  return v;
};

export function register(program: Command): void {
  program
    .command("emulate")
    .description(COMMAND_SUMMARIES.emulate.summary)
    .option("-c, --chip <chip>", `chip: ${Object.keys(CHIP_BOARDS).join(", ")}`, "esp32")
    .option("--serial <path>", "open this pty (one end of a socat pair) as the chip's UART")
    .option("--pty", "create a pty pair and print the path to connect to")
    .option("--listen <host:port>", "accept a TCP connection as the chip's UART (connect with socket://host:port)")
    .option("--rfc2217 <host:port>", "serve the UART over RFC 2217, with DTR/RTS wired to the auto-reset circuit (connect with rfc2217://host:port)")
    .option("--en-delay <ms>", "ms from EN's release to the chip leaving reset (the EN capacitor)", String(DEFAULT_EN_DELAY_MS))
    .requiredOption("-f, --flash-file <file>", "flash contents (created 0xFF-filled at the chip's flash size)")
    .option("-a, --app <dir>", "app whose app.json \"hardware\" is wired to sensor models (default: env-station)")
    .option("--no-pace", "deliver bytes at once instead of at the baud rate")
    .option("--drop-rate <p>", "probability that a byte from the host is lost")
    .option("--corrupt-rate <p>", "probability that a byte from the host arrives corrupted")
    .option("--seed <n>", "seed for faults and sensor models", "1")
    .option("--speed <x>", "app time per wall-clock time (1 = real time)", "1")
    .option("--device-id <n>", "the device id: the app's, and the last 3 bytes of the factory MAC (24:0a:c4:..)", "1")
    .option("--boot", "power on into the app instead of download mode")
    .option("--deploy-port <port>", "while the app runs, take `iotfw deploy`, `iotfw dev --device` and `iotfw ctl --device` on 127.0.0.1:<port>, as the runtime does on a board (0: any free port)")
    .option("-v, --verbose", "log the emulator's events to stderr")
    .action(async (opts: EmulateOpts) => {
      const boardName = CHIP_BOARDS[opts.chip];
      if (!boardName) throw new CliError(`--chip ${opts.chip}: unknown chip (known: ${Object.keys(CHIP_BOARDS).join(", ")})`);
      const modes = [opts.serial !== undefined, opts.listen !== undefined, opts.rfc2217 !== undefined, !!opts.pty].filter(Boolean).length;
      if (modes !== 1) throw new CliError("give exactly one of --serial <pty path>, --pty, --listen <host:port> or --rfc2217 <host:port>");
      const enDelayMs = Number(opts.enDelay);
      if (!(enDelayMs >= 0 && enDelayMs <= 10_000)) throw new CliError(`--en-delay ${opts.enDelay}: expected milliseconds from 0 to 10000`);
      const deviceId = Number(opts.deviceId);
      if (!(Number.isInteger(deviceId) && deviceId >= 0 && deviceId <= 0xffffffff)) throw new CliError(`--device-id ${opts.deviceId}: expected an integer from 0 to 4294967295`);
      const deployPort = opts.deployPort === undefined ? undefined : portOption("--deploy-port", opts.deployPort);
      const speed = Number(opts.speed);
      if (!(speed > 0)) throw new CliError(`--speed ${opts.speed}: expected a positive number`);
      let hardware: HardwarePart[];
      try {
        hardware = (loadApp(opts.app ?? DEFAULT_APP_DIR).json.hardware ?? []) as HardwarePart[];
      } catch (e) { throw new CliError((e as Error).message); }
      const board = loadBoard(boardName);
      // Loaded here, not at the top: this command's --help must not load the emulator (wabt) and serialport (issue 13: <= 150 ms).
      const [{ Esp32Emulator }, { openLink, LinkError }] = await Promise.all([import("../../../simulator/esp32/emulator.js"), import("../../link/open.js")]);
      let emu: Esp32Emulator;
      try {
        emu = new Esp32Emulator({
          board, flashFile: opts.flashFile, pace: opts.pace, hardware, seed: Number(opts.seed), timeScale: speed, deviceId, enDelayMs,
          faults: { dropRate: rate(opts.dropRate, "drop-rate"), corruptRate: rate(opts.corruptRate, "corrupt-rate"), seed: Number(opts.seed) },
          log: opts.verbose ? (t) => process.stderr.write(`emulate: ${t}\n`) : undefined,
        });
      } catch (e) { throw new CliError(`${opts.flashFile}: ${(e as Error).message}`); }

      let link: OpenLink | undefined;
      let pair: PtyPair | undefined;
      let server: Server | undefined;
      let where: string;
      try {
        const listen = opts.listen ?? opts.rfc2217;
        if (listen !== undefined) {
          const flag = opts.listen !== undefined ? "--listen" : "--rfc2217";
          const m = /^(.*):(\d+)$/.exec(listen);
          if (!m) throw new CliError(`${flag} ${listen}: expected host:port`);
          const log = opts.verbose ? (t: string) => process.stderr.write(`emulate: ${t}\n`) : undefined;
          server = createServer((socket) => {
            if (opts.rfc2217 !== undefined) { serveRfc2217(emu, socket, log); return; }
            socket.setNoDelay(true);
            emu.attach(socket);
          });
          await new Promise<void>((resolve, reject) => { server!.once("error", reject); server!.listen(Number(m[2]), m[1] || "127.0.0.1", () => resolve()); });
          const addr = server.address() as { address: string; port: number };
          where = `${opts.rfc2217 !== undefined ? "rfc2217" : "socket"}://${addr.address.includes(":") ? `[${addr.address}]` : addr.address}:${addr.port}`;
        } else {
          let path = opts.serial;
          if (opts.pty) { pair = await createPtyPair(); path = pair.a; }
          link = await openLink({ kind: "serial", path: path!, baudRate: 115200 });
          emu.attach(link.stream);
          where = pair ? pair.b : path!;
        }
      } catch (e) {
        await emu.close();
        await pair?.close();
        if (e instanceof LinkError) throw new CliError(e.message);
        if (e instanceof CliError) throw e;
        throw new CliError(`cannot open the chip's UART: ${(e as Error).message}`);
      }
      let deploy: import("../../../simulator/esp32/deploy-port.js").EmulatorDeployPort | undefined;
      if (deployPort !== undefined) {
        const { EmulatorDeployPort } = await import("../../../simulator/esp32/deploy-port.js");
        try {
          deploy = await EmulatorDeployPort.start(emu, "127.0.0.1", deployPort, (t) => process.stderr.write(`emulate: ${t}\n`));
        } catch (e) {
          await emu.close();
          await link?.close();
          await pair?.close();
          server?.close();
          throw new CliError(`--deploy-port ${deployPort}: ${(e as Error).message}`);
        }
      }
      if (opts.boot) void emu.bootApp();
      emu.on("boot", (ok: boolean) => process.stderr.write(`emulate: ${ok ? "app booted" : "app could not boot (reason sent on the link)"}\n`));
      process.stdout.write(`virtual ${board.chip} (board ${board.name}) ready on ${where}, flash ${opts.flashFile}, ${opts.boot ? "booting the app" : "in download mode"}` +
        `${deploy ? `, deploy port ${deploy.address} (while the app runs)` : ""}\n`);

      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await deploy?.close();
      await emu.close();
      await link?.close();
      await pair?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    });
}
