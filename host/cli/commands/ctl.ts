// `iotfw ctl <device> sleep|wake|set-window|set-rate|ping`: a command to one device through a running
// bridge's HTTP API (docs/bridge.md "Control"); waits for the device's ACK. The bridge's address and token
// come from <spool>/ctl.json, which the bridge writes at start (or --url and --token).
// May touch: reads ctl.json; talks to the bridge's HTTP API.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SPOOL_DIR } from "../../bridge/bridge.js";
import { CommandError, commandFromWords, COMMAND_USAGE, parseCommand } from "../../bridge/commands.js";
import { parseDeviceName } from "../../bridge/records.js";
import { CliError } from "../errors.js";
import { COMMAND_SUMMARIES } from "../command-summaries.js";

interface CtlFlags {
  spool: string;
  url?: string;
  token?: string;
  timeout: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("ctl")
    .description(COMMAND_SUMMARIES.ctl.summary)
    .argument("<device>", "device id, 8 hex digits as in MQTT topics (e.g. 00c0ffee)")
    .argument("<command...>", COMMAND_USAGE)
    .option("--spool <dir>", "the bridge's spool directory (its ctl.json has the address and token)", DEFAULT_SPOOL_DIR)
    .option("--url <url>", "the bridge's HTTP API, e.g. http://127.0.0.1:7601 (instead of ctl.json)")
    .option("--token <token>", "the bridge's control token (instead of ctl.json)")
    .option("--timeout <ms>", "how long to wait for the device's ACK", "5000")
    .option("--json", "print the bridge's answer as JSON")
    .action(async (deviceText: string, words: string[], flags: CtlFlags) => {
      const device = parseDeviceName(deviceText);
      if (device === null) throw new CliError(`"${deviceText}" is not a device id (up to 8 hex digits, e.g. 00c0ffee)`);
      let body: Record<string, unknown>;
      try {
        body = commandFromWords(words);
        parseCommand(body); // the same check the bridge makes, before any network
      } catch (e) {
        if (e instanceof CommandError) throw new CliError(e.message);
        throw e;
      }
      const timeoutMs = Number(flags.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout takes a positive number of ms, not "${flags.timeout}"`);
      let url = flags.url;
      let token = flags.token;
      if (!url || !token) {
        const file = join(flags.spool, "ctl.json");
        let saved: { url?: string; token?: string };
        try { saved = JSON.parse(readFileSync(file, "utf8")); } catch {
          throw new CliError(`no running bridge found: cannot read ${file} (start \`iotfw bridge\`, or give --spool, or --url and --token)`);
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
      const answer = (await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }))) as Record<string, unknown>;
      if (flags.json) process.stdout.write(JSON.stringify(answer) + "\n");
      if (!res.ok || answer.ok !== true) {
        const code = res.status === 404 || res.status === 409 ? 3 : res.status === 504 ? 4 : 1;
        throw new CliError(String(answer.error ?? `HTTP ${res.status}`), code);
      }
      if (answer.result !== 0) throw new CliError(`device ${answer.device} refused ${answer.op}: status ${answer.result}`, 5);
      if (!flags.json) process.stdout.write(`${answer.device}: ${answer.op} acknowledged in ${answer.ms} ms\n`);
    });
}
