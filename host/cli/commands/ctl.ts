// `iotfw ctl <device> sleep|wake|set-window|set-rate|ping`: a command to one device, and wait for the
// device's ACK; through a running bridge's HTTP API (docs/bridge.md "Control"), whose address and token
// come from <spool>/ctl.json, which the bridge writes at start (or --url and --token); or, with --device
// host:port, straight to the device's deploy port as a CONTROL frame (host/deploy/protocol.ts), e.g. to
// `iotfw simulate --deploy-port`. Both ways end in the same answer, printed and mapped to exit codes alike.
// May touch: reads ctl.json; talks to the bridge's HTTP API or to one device's deploy port.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SPOOL_DIR } from "../bridge-defaults.js";
import { CommandError, commandFromWords, COMMAND_USAGE, parseCommand } from "../../bridge/commands.js";
import { parseDeviceName } from "../../bridge/records.js";
import type { ControlCommand } from "../../protocol/index.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

interface CtlFlags {
  spool: string;
  url?: string;
  token?: string;
  device?: string;
  timeout: string;
  json?: boolean;
}

/** What either way answers: as the bridge's HTTP API gives it (docs/bridge.md "Control"). */
interface Answer { ok?: boolean; device?: string; op?: string; result?: number; ms?: number; error?: string }

export function register(program: Command): void {
  program
    .command("ctl")
    .description(COMMAND_SUMMARIES.ctl.summary)
    .argument("<device>", "device id, 8 hex digits as in MQTT topics (e.g. 00c0ffee)")
    .argument("<command...>", COMMAND_USAGE)
    .option("--spool <dir>", "the bridge's spool directory (its ctl.json has the address and token)", DEFAULT_SPOOL_DIR)
    .option("--url <url>", "the bridge's HTTP API, e.g. http://127.0.0.1:7601 (instead of ctl.json)")
    .option("--token <token>", "the bridge's control token (instead of ctl.json)")
    .option("--device <host:port>", "no bridge: send to the device's deploy port (as iotfw deploy takes it, e.g. 127.0.0.1:7602 of iotfw simulate --deploy-port)")
    .option("--timeout <ms>", "how long to wait for the device's ACK", "5000")
    .option("--json", "print the answer as JSON")
    .action(async (deviceText: string, words: string[], flags: CtlFlags) => {
      const device = parseDeviceName(deviceText);
      if (device === null) throw new CliError(`"${deviceText}" is not a device id (up to 8 hex digits, e.g. 00c0ffee)`);
      let body: Record<string, unknown>;
      let command: ControlCommand;
      try {
        body = commandFromWords(words);
        command = parseCommand(body); // the same check the bridge makes, before any network
      } catch (e) {
        if (e instanceof CommandError) throw new CliError(e.message);
        throw e;
      }
      const timeoutMs = Number(flags.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout takes a positive number of ms, not "${flags.timeout}"`);
      if (flags.device && (flags.url || flags.token)) throw new CliError("give either --device (straight to a device) or --url/--token (through a bridge), not both");
      const { answer, status } = flags.device
        ? await viaDevicePort(flags.device, device, command, timeoutMs)
        : await viaBridge(flags, device, body, timeoutMs);
      if (flags.json) process.stdout.write(JSON.stringify(answer) + "\n");
      if (status !== 200 || answer.ok !== true) {
        const code = status === 404 || status === 409 ? 3 : status === 504 ? 4 : 1;
        throw new CliError(String(answer.error ?? `HTTP ${status}`), code);
      }
      if (answer.result !== 0) throw new CliError(`device ${answer.device} refused ${answer.op}: status ${answer.result}`, 5);
      if (!flags.json) process.stdout.write(`${answer.device}: ${answer.op} acknowledged in ${answer.ms} ms\n`);
    });
}

async function viaBridge(flags: CtlFlags, device: number, body: Record<string, unknown>, timeoutMs: number): Promise<{ answer: Answer; status: number }> {
  let url = flags.url;
  let token = flags.token;
  if (!url || !token) {
    const file = join(flags.spool, "ctl.json");
    let saved: { url?: string; token?: string };
    try { saved = JSON.parse(readFileSync(file, "utf8")); } catch {
      throw new CliError(`no running bridge found: cannot read ${file} (start \`iotfw bridge\`, or give --spool, or --url and --token, or --device host:port for a device's own port)`);
    }
    url ??= saved.url;
    token ??= saved.token;
  }
  const target = `${url!.replace(/\/+$/, "")}/devices/${device.toString(16).padStart(8, "0")}/control`;
  let res: Response;
  try {
    res = await fetch(target, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ ...body, timeoutMs }), signal: AbortSignal.timeout(timeoutMs + 5000),
    });
  } catch (e) {
    throw new CliError(`cannot reach the bridge at ${url}: ${e instanceof Error ? (e.cause as Error | undefined)?.message ?? e.message : String(e)}`);
  }
  const answer = (await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }))) as Answer;
  return { answer, status: res.ok ? 200 : res.status };
}

/** The device's own port: the CONTROL frame a bridge would send on its link, and its ACK back. The
 *  statuses are the bridge's HTTP ones, so both ways exit alike (unknown device 404, no ACK 504). */
async function viaDevicePort(address: string, device: number, command: ControlCommand, timeoutMs: number): Promise<{ answer: Answer; status: number }> {
  const [{ DeployError, parseDeployAddress, sendControl }, { ControlStatus }, { decodeFrame, encodeFrame }] = await Promise.all([
    import("../../deploy/client.js"), import("../../deploy/protocol.js"), import("../../protocol/index.js"),
  ]);
  const name = device.toString(16).padStart(8, "0");
  const commandId = (Date.now() & 0x7fffffff) || 1; // the ACK names it; one command per connection
  const frame = encodeFrame({ type: "control", device, seq: commandId, t: 0, ...command });
  const started = performance.now();
  let reply: Awaited<ReturnType<typeof sendControl>>;
  try {
    reply = await sendControl(parseDeployAddress(address), frame, { timeoutMs });
  } catch (e) {
    if (e instanceof DeployError) throw new CliError(e.message);
    throw e;
  }
  const ms = Math.round(performance.now() - started);
  if (reply.status === ControlStatus.UNKNOWN_DEVICE) return { answer: { ok: false, error: `device ${name} is unknown at ${address}` }, status: 404 };
  if (reply.status !== ControlStatus.OK) return { answer: { ok: false, error: `${address} refused the control request (status ${reply.status})` }, status: 400 };
  const ack = reply.ack ? decodeFrame(reply.ack) : undefined;
  if (!ack?.ok || ack.frame.type !== "ack") return { answer: { ok: false, error: `device ${name} did not acknowledge ${command.op}` }, status: 504 };
  return { answer: { ok: true, device: name, op: command.op, result: ack.frame.result, ms }, status: 200 };
}
