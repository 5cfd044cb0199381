// What `iotfw doctor` checks: each tool a command needs, found or not, with what it is for and how to
// get it. Required: only Node (the CLI runs on it). Everything else serves one feature, so a missing
// one is a warning that names the feature. Reads PATH, the environment and /dev; runs nothing but
// `<tool> --version`-style probes that exit at once.
import { execFileSync } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { findIdf } from "../build/runtime.js";
import { findWasm3Source } from "../../simulator/wasm3/runtime-build.js";

export interface Check {
  name: string;
  ok: boolean;
  /** Required for the CLI to run at all (else: for the feature in `for`). */
  required: boolean;
  detail: string;
  for: string;
  /** How to get it, when it is missing. */
  fix?: string;
}

const MIN_NODE = [20, 15];

/** An executable named `name` on PATH (or in /usr/sbin, where Debian puts daemons such as mosquitto,
 *  outside a normal user's PATH), or undefined. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of [...(env.PATH ?? "").split(delimiter), "/usr/sbin"]) {
    if (!dir) continue;
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* not here */ }
  }
  return undefined;
}

/** First line of `cmd args` (a version banner), or "" when it does not answer within 5 s. */
function banner(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 });
    return out.split("\n").find((l) => l.trim())?.trim() ?? "";
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? "").split("\n")[0]?.trim() ?? "";
  }
}

function tool(name: string, forWhat: string, fix: string, versionArgs: string[] = ["--version"], env = process.env): Check {
  const path = onPath(name, env);
  return path
    ? { name, ok: true, required: false, detail: `${path}${versionArgs.length ? `: ${banner(path, versionArgs) || "found"}` : ""}`, for: forWhat }
    : { name, ok: false, required: false, detail: "not found on PATH", for: forWhat, fix };
}

/** Serial ports the user can open (Linux: /dev/ttyUSB*, ttyACM*; a board needs read and write). */
function serialAccess(): Check {
  const forWhat = "iotfw flash / monitor / bridge --serial with a board on USB";
  let ports: string[] = [];
  try { ports = readdirSync("/dev").filter((n) => /^tty(USB|ACM)\d+$/.test(n)).map((n) => `/dev/${n}`); } catch { /* no /dev */ }
  if (ports.length === 0) return { name: "serial ports", ok: true, required: false, detail: "no USB serial port plugged in (nothing to check)", for: forWhat };
  const denied = ports.filter((p) => { try { accessSync(p, constants.R_OK | constants.W_OK); return false; } catch { return true; } });
  return denied.length === 0
    ? { name: "serial ports", ok: true, required: false, detail: `${ports.join(", ")}: readable and writable`, for: forWhat }
    : { name: "serial ports", ok: false, required: false, detail: `${denied.join(", ")}: no permission`, for: forWhat,
        fix: "add yourself to the port's group (Debian/Ubuntu: sudo usermod -aG dialout $USER), then log in again" };
}

export function runChecks(env: NodeJS.ProcessEnv = process.env): Check[] {
  const [major, minor] = process.versions.node.split(".").map(Number);
  const nodeOk = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  const wasm3 = findWasm3Source();
  const idf = findIdf(env);
  const apt = (pkg: string) => `sudo apt-get install ${pkg}`;
  return [
    { name: "node", ok: nodeOk, required: true, detail: `v${process.versions.node}${nodeOk ? "" : ` (needs >= ${MIN_NODE.join(".")})`}`, for: "everything", fix: nodeOk ? undefined : "install Node.js 20.15 or newer" },
    tool("socat", "simulate --serial, emulate --pty (pseudo-terminal pairs)", apt("socat"), ["-V"], env),
    tool("mosquitto", "a local MQTT broker for bridge --upstream mqtt:// (the bridge embeds one when none is given)", apt("mosquitto"), ["-h"], env),
    tool("chromium", "the simulate --dashboard browser tests", apt("chromium"), ["--version"], env),
    tool("cmake", "simulate --engine wasm3 and the Linux runtime (builds the C runtime)", apt("cmake"), ["--version"], env),
    tool("cc", "simulate --engine wasm3 and the Linux runtime (C compiler)", apt("build-essential"), ["--version"], env),
    tool("riscv64-unknown-elf-gcc", "the runtime built for RV32IMC (the ESP32-C3's ISA) in the tests", apt("gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"), ["--version"], env),
    tool("qemu-system-riscv32", "running the RV32IMC runtime under QEMU in the tests", apt("qemu-system-misc"), ["--version"], env),
    wasm3
      ? { name: "wasm3 source", ok: true, required: false, detail: wasm3, for: "simulate --engine wasm3 (the C runtime's interpreter)" }
      : { name: "wasm3 source", ok: false, required: false, detail: "not found locally: CMake fetches Wasm3 v0.5.0 on first use (needs network)", for: "simulate --engine wasm3 offline", fix: "set IOTFW_WASM3_SRC to a Wasm3 v0.5.0 checkout (the folder holding source/)" },
    idf
      ? { name: "ESP-IDF", ok: true, required: false, detail: [idf.command, ...idf.args].join(" "), for: "iotfw build --runtime (the C runtime for a board)" }
      : { name: "ESP-IDF", ok: false, required: false, detail: "neither $IDF_PATH/tools/idf.py nor idf.py on PATH", for: "iotfw build --runtime (the C runtime for a board)", fix: "install ESP-IDF v5.1+ and run its export.sh (https://docs.espressif.com/projects/esp-idf/)" },
    serialAccess(),
  ];
}

/** The report a person reads: one line per check, a hint under each missing one, a verdict. */
export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => {
    const mark = c.ok ? "ok  " : c.required ? "FAIL" : "warn";
    const head = `${mark}  ${c.name.padEnd(width)}  ${c.detail}`;
    return c.ok ? [head] : [head, `${" ".repeat(width + 8)}needed for: ${c.for}${c.fix ? `; fix: ${c.fix}` : ""}`];
  });
  const failed = checks.filter((c) => !c.ok && c.required).length;
  const missing = checks.filter((c) => !c.ok && !c.required).length;
  lines.push("", failed ? `${failed} required check(s) failed` : missing ? `ready; ${missing} optional tool(s) missing (see above)` : "ready: everything found");
  return lines.join("\n") + "\n";
}

