// The rv32 target (firmware/runtime/ports/rv32-qemu): find its toolchain, build it with CMake, and run
// it under qemu-system-riscv32 on a recorded sim-port stream, returning what it wrote and what it
// measured (instructions retired, native stack high-water, heap peak) and the ELF's size split by
// library. Used by rv32.test.ts and by tests comparing it with the x86-64 sim port.
// May touch: the build folder it is given, and a temporary folder per run (removed afterwards).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../../host/repo-root.js";
import { findWasm3Source } from "../../../simulator/wasm3/runtime-build.js";

export const RV32_PORT = join(REPO_ROOT, "firmware", "runtime", "ports", "rv32-qemu");
const PREFIX = "riscv64-unknown-elf-";
const QEMU = "qemu-system-riscv32";

/** The local Wasm3 v0.5.0 checkout the build uses instead of fetching it (the sim port's lookup). */
export function wasm3Source(): string {
  return findWasm3Source() ?? process.env.IOTFW_WASM3_SRC ?? join(REPO_ROOT, "..", "shared", "third_party", "wasm3-v0.5.0");
}

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    return null;
  }
}

/** Is everything the rv32 target needs installed? The reason says what to install when not. */
export function findRv32Toolchain(): { ok: true } | { ok: false; why: string } {
  const apt = "apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc cmake";
  if (run(`${PREFIX}gcc`, ["--version"]) === null) return { ok: false, why: `${PREFIX}gcc not found (${apt})` };
  const multi = run(`${PREFIX}gcc`, ["-march=rv32imc", "-mabi=ilp32", "-print-multi-directory"])?.trim() ?? "";
  if (!multi.startsWith("rv32")) return { ok: false, why: `${PREFIX}gcc has no rv32/ilp32 multilib (got "${multi}")` };
  const specs = run(`${PREFIX}gcc`, ["-print-file-name=picolibc.specs"])?.trim() ?? "";
  if (!specs.startsWith("/") || !existsSync(specs)) return { ok: false, why: `picolibc.specs not found (${apt})` };
  if (run(`${PREFIX}size`, ["--version"]) === null) return { ok: false, why: `${PREFIX}size not found (binutils-riscv64-unknown-elf)` };
  if (run(QEMU, ["--version"]) === null) return { ok: false, why: `${QEMU} not found (${apt})` };
  if (run("cmake", ["--version"]) === null) return { ok: false, why: `cmake not found (${apt})` };
  const w3 = wasm3Source();
  if (!existsSync(join(w3, "source", "wasm3.h"))) return { ok: false, why: `no Wasm3 v0.5.0 sources at ${w3} (set IOTFW_WASM3_SRC)` };
  return { ok: true };
}

/** Text, data and bss in bytes, as `size` (Berkeley) counts them: read-only data is text. */
export type SectionSize = { text: number; data: number; bss: number };

export type Rv32Build = {
  /** The runtime with the sim port (iotfw-rv32.elf), or the Wasm3-only stub when ports/sim has no sources. */
  elf: string;
  /** iotfw-rv32-stub.elf: main.c + stub_serve.c + Wasm3 (always built). */
  stubElf: string;
  /** The whole ELF (Berkeley); bss without the stack region, which is `stack`. Then what of it came from
   *  libwasm3.a, from iotfw's objects (core, engine, port), and from picolibc/libgcc, by the linker map. */
  size: SectionSize & { stack: number; wasm3: SectionSize; runtime: SectionSize; libc: SectionSize };
};

/** A build folder under the OS temp folder keyed by the rv32 build's configuration files, so runs reuse
 *  one configured Wasm3 build and a change to the CMake files or the linker script starts afresh. */
export function defaultRv32BuildDir(): string {
  const h = createHash("sha256");
  for (const f of ["CMakeLists.txt", "toolchain-rv32.cmake", "rv32.ld"]) h.update(readFileSync(join(RV32_PORT, f)));
  h.update(readFileSync(join(REPO_ROOT, "firmware", "runtime", "cmake", "wasm3.cmake")));
  h.update(wasm3Source());
  return join(tmpdir(), `iotfw-rv32-${h.digest("hex").slice(0, 16)}`);
}

/** Configure (once) and build the rv32 target into outDir; throws with the compiler's output on failure. */
export function buildRv32(outDir: string): Rv32Build {
  const exec = (args: string[]) => {
    const r = spawnSync("cmake", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) throw new Error(`cmake ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  };
  if (!existsSync(join(outDir, "CMakeCache.txt"))) {
    exec(["-S", RV32_PORT, "-B", outDir, `-DCMAKE_TOOLCHAIN_FILE=${join(RV32_PORT, "toolchain-rv32.cmake")}`,
      `-DFETCHCONTENT_SOURCE_DIR_WASM3_SRC=${wasm3Source()}`, "-DFETCHCONTENT_FULLY_DISCONNECTED=ON"]);
  }
  exec(["--build", outDir, "--parallel", String(availableParallelism())]);
  const stubElf = join(outDir, "iotfw-rv32-stub.elf");
  const simElf = join(outDir, "iotfw-rv32.elf");
  const elf = existsSync(simElf) ? simElf : stubElf;
  return { elf, stubElf, size: elfSize(elf) };
}

function elfSize(elf: string): Rv32Build["size"] {
  // Berkeley: "   text	   data	    bss	    dec	    hex	filename" then one line of numbers.
  const berkeley = execFileSync(`${PREFIX}size`, ["-B", elf], { encoding: "utf8" }).trim().split("\n")[1].trim().split(/\s+/).map(Number);
  const sysv = execFileSync(`${PREFIX}size`, ["-A", elf], { encoding: "utf8" });
  const stack = Number(/^\.stack\s+(\d+)/m.exec(sysv)?.[1] ?? 0);
  const parts = mapSplit(elf.replace(/\.elf$/, ".map"));
  return { text: berkeley[0], data: berkeley[1], bss: berkeley[2] - stack, stack, ...parts };
}

/** Sum the input sections the linker kept (ld's map, after "Linker script and memory map") by where they
 *  came from. An input section's line is " name 0xADDR 0xSIZE file", its name alone on the line above
 *  when long; output-section lines start in column 0 and are skipped. */
function mapSplit(mapFile: string): { wasm3: SectionSize; runtime: SectionSize; libc: SectionSize } {
  const zero = (): SectionSize => ({ text: 0, data: 0, bss: 0 });
  const out = { wasm3: zero(), runtime: zero(), libc: zero() };
  if (!existsSync(mapFile)) return out;
  const text = readFileSync(mapFile, "utf8");
  const lines = text.slice(text.indexOf("Linker script and memory map")).split("\n");
  let pending = "";
  for (const line of lines) {
    const alone = /^ (\S+)$/.exec(line);
    if (alone) { pending = alone[1]; continue; }
    const m = /^ (\S+)?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    const name = m ? (m[1] ?? pending) : "";
    pending = "";
    if (!m || !name || name.startsWith("*") || !/\.(o|obj)\)?$/.test(m[3])) continue;
    const bytes = parseInt(m[2], 16);
    const kind: keyof SectionSize | null =
      /^\.(text|rodata|srodata|rdata|init|fini)/.test(name) ? "text"
      : /^\.(data|sdata|tdata)/.test(name) ? "data"
      : /^(\.(bss|sbss|tbss)|COMMON)/.test(name) ? "bss" : null;
    if (kind === null) continue; // debug and attribute sections take no target memory
    const file = m[3];
    const group = file.includes("libwasm3.a(") ? out.wasm3 : /\/CMakeFiles\//.test(file) || !file.startsWith("/") ? out.runtime : out.libc;
    group[kind] += bytes;
  }
  return out;
}

export type Rv32Stats = {
  instret: number; stackHighWater: number; heapPeak: number;
  stackSize: number; heapArena: number; allocs: number; halCalls: number; polls: number; controls: number;
  /** iotfw_sim_serve's return value, or -1 when the sim port ended the program with exit(). */
  serve: number;
};

/** The QEMU command line (run with cwd = the folder holding sim-in.bin). -icount shift=0: one
 *  instruction per virtual ns, and without it QEMU's instret CSR is not an instruction count. */
export function qemuArgs(elf: string): string[] {
  return ["-machine", "virt", "-nographic", "-bios", "none", "-kernel", elf,
    "-semihosting-config", "enable=on,target=native", "-icount", "shift=0"];
}

/** Run the rv32 ELF on one input stream: what it wrote, its exit code, and its measurements. */
export function runRv32(elf: string, input: Uint8Array, opts: { timeoutMs?: number } = {}): { output: Buffer; exitCode: number; stats: Rv32Stats } {
  const dir = mkdtempSync(join(tmpdir(), "iotfw-rv32-run-"));
  try {
    writeFileSync(join(dir, "sim-in.bin"), input);
    const r = spawnSync(QEMU, qemuArgs(elf), { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: opts.timeoutMs ?? 60_000 });
    if (r.error || r.status === null) throw new Error(`${QEMU} did not finish (${r.error?.message ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    // QEMU 7.2 writes the semihost console (picolibc's stdout) to its own stderr.
    const json = `${r.stdout}\n${r.stderr}`.split("\n").reverse().find((l) => l.startsWith("{\"instret\""));
    if (json === undefined) throw new Error(`no measurements from the rv32 program (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    const j = JSON.parse(json) as Record<string, number>;
    const outFile = join(dir, "sim-out.bin");
    return {
      output: existsSync(outFile) ? readFileSync(outFile) : Buffer.alloc(0),
      exitCode: r.status,
      stats: {
        instret: j.instret, stackHighWater: j.stack_high_water, heapPeak: j.heap_peak, stackSize: j.stack_size,
        heapArena: j.heap_arena, allocs: j.allocs, halCalls: j.hal_calls, polls: j.polls, controls: j.controls, serve: j.serve,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
