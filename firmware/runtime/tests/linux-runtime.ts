// Test support for the Linux port (ports/linux): build the real iotfw-runtime with CMake against the
// local Wasm3 v0.5.0 copy into a temp build folder reused across runs, and run it with its stdout link
// read back (COBS-framed frames). Used by linux-deploy.test.ts. May touch: the build folder, the
// folders it is given, one loopback port per runtime.
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { cobsDecode, decodeFrame, type Frame } from "../../../host/protocol/index.js";
import { findWasm3Source } from "../../../simulator/wasm3/runtime-build.js";
import { RUNTIME } from "./c-harness.js";

export const LINUX_PORT = join(RUNTIME, "ports", "linux");

/** Configure (once per CMake file and Wasm3 folder) and build; returns the binary. Throws with cmake's output. */
export function buildLinuxRuntime(wasm3: string): string {
  const h = createHash("sha256").update(wasm3).update(readFileSync(join(LINUX_PORT, "CMakeLists.txt")))
    .update(readFileSync(join(RUNTIME, "cmake", "wasm3.cmake")));
  const dir = join(tmpdir(), `iotfw-rt-linux-${h.digest("hex").slice(0, 16)}`);
  const cmake = (args: string[]) => {
    const r = spawnSync("cmake", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) throw new Error(`cmake ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  };
  if (!existsSync(join(dir, "CMakeCache.txt"))) {
    cmake(["-S", LINUX_PORT, "-B", dir, `-DFETCHCONTENT_SOURCE_DIR_WASM3_SRC=${wasm3}`, "-DFETCHCONTENT_FULLY_DISCONNECTED=ON"]);
  }
  cmake(["--build", dir, "--parallel", String(availableParallelism())]); // incremental: the sources change
  return join(dir, "iotfw-runtime");
}

/** Why the runtime cannot be built here, or null. */
export function linuxRuntimeMissing(): string | null {
  if (!findWasm3Source()) return "no Wasm3 v0.5.0 sources (../shared/third_party/wasm3-v0.5.0 or IOTFW_WASM3_SRC)";
  if (spawnSync("cmake", ["--version"]).status !== 0) return "cmake not installed";
  return null;
}


/** A running iotfw-runtime: its stdout link split into COBS blocks (raw) and decoded frames, its stderr lines. */
export class LinuxRuntime {
  readonly blocks: Uint8Array[] = [];
  readonly frames: Array<{ frame: Frame; at: number }> = [];
  readonly stderr: Array<{ line: string; at: number }> = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  private pending = Buffer.alloc(0);

  constructor(binary: string, args: string[], options: { stdin: "pipe" | "ignore" }) {
    this.child = spawn(binary, args, { stdio: [options.stdin, "pipe", "pipe"] });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      let zero: number;
      while ((zero = this.pending.indexOf(0)) >= 0) {
        const block = this.pending.subarray(0, zero);
        this.pending = this.pending.subarray(zero + 1);
        const bytes = block.length ? cobsDecode(block) : null;
        if (!bytes) continue;
        this.blocks.push(bytes);
        const r = decodeFrame(bytes);
        if (r.ok) this.frames.push({ frame: r.frame, at: performance.now() });
      }
    });
    let text = "";
    this.child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const line of lines) this.stderr.push({ line, at: performance.now() });
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  get pid(): number { return this.child.pid!; }
  /** Write bytes to the runtime's stdin (the downlink of the stdout link). */
  send(bytes: Uint8Array): void { (this.child.stdin as Writable).write(bytes); }
  kill(signal: NodeJS.Signals = "SIGTERM"): void { if (this.child.exitCode === null) this.child.kill(signal); }
  /** CPU seconds the process used so far (utime + stime, /proc/<pid>/stat). */
  cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux (proc(5))
  }
}

