// Every port builds the whole portable core: each port's build file takes its sources from
// cmake/runtime-sources.cmake, and that file, evaluated by CMake itself, lists every core/*.c. The
// ESP-IDF app cannot be built here, so this is what keeps a core file added later in its build; the
// sim, Linux and rv32 ports are built by other tests. Needs cmake.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../host/repo-root.js";

const RUNTIME = join(REPO_ROOT, "firmware", "runtime");
const CORE = readdirSync(join(RUNTIME, "core")).filter((f) => f.endsWith(".c")).sort();

describe("port build files", () => {
  it("cmake/runtime-sources.cmake lists every core source and the engine", () => {
    const script = join(mkdtempSync(join(tmpdir(), "iotfw-ports-")), "print.cmake");
    writeFileSync(script, `include(${join(RUNTIME, "cmake", "runtime-sources.cmake")})\nmessage("\${IOTFW_CORE_SOURCES}|\${IOTFW_ENGINE_SOURCES}")\n`);
    const run = spawnSync("cmake", ["-P", script], { encoding: "utf8" }); // message() writes to stderr
    expect(run.status, run.stderr).toBe(0);
    const [core, engine] = run.stderr.trim().split("|");
    expect(core.split(";").map((p) => basename(p)).sort()).toEqual(CORE);
    expect(basename(engine)).toBe("wasm3_engine.c");
  });

  for (const file of ["ports/esp-idf/main/CMakeLists.txt", "ports/linux/CMakeLists.txt", "ports/sim/CMakeLists.txt", "ports/rv32-qemu/CMakeLists.txt"]) {
    it(`${file} compiles the core and the engine from cmake/runtime-sources.cmake`, () => {
      const text = readFileSync(join(RUNTIME, file), "utf8");
      expect(text).toMatch(/cmake\/runtime-sources\.cmake\)/);
      expect(text).toMatch(/\$\{(IOTFW_)?CORE_SOURCES\}/);
      expect(text).toMatch(/\$\{IOTFW_ENGINE_SOURCES\}/);
      expect(text).not.toMatch(/\/core\/[\w-]+\.c/); // no hand-kept list beside it
    });
  }
});
