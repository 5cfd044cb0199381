// Host checks of the C runtime (issue 7, "What CI can check here"): the port-independent core compiles
// with gcc -std=c11 -Wall -Wextra -Werror and its C unit tests pass against real bytes (Wasm partition
// images from host/build/wasm-image.ts, frames from docs/protocol-vectors.json framed by host/protocol);
// the generated link table agrees with firmware/hal/abi.json. Needs gcc (Debian package). May touch: a
// temporary folder only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../host/repo-root.js";
import { compileCoreTests, GCC_FLAGS, RUNTIME, writeFixtures } from "./c-harness.js";

describe("C runtime core on the host (gcc)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "iotfw-runtime-c-"));
    await writeFixtures(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("every port-independent source compiles alone with -std=c11 -Wall -Wextra -Werror", () => {
    for (const f of readdirSync(join(RUNTIME, "core")).filter((n) => n.endsWith(".c"))) {
      execFileSync("gcc", [...GCC_FLAGS, "-c", join(RUNTIME, "core", f), "-o", join(dir, `${f}.o`)], { stdio: "pipe" });
    }
  });

  it("the Linux port's HAL (hal_linux.c: GPIO uAPI v2, i2c-dev) compiles against this host's kernel headers (not run: no GPIO chip here)", () => {
    execFileSync("gcc", [...GCC_FLAGS, "-D_GNU_SOURCE", "-I", RUNTIME, "-c", join(RUNTIME, "ports", "linux", "hal_linux.c"), "-o", join(dir, "hal_linux.o")], { stdio: "pipe" });
  });

  it("the C unit tests pass: image check, frame queue, framing, HAL dispatch, scheduling, deploy, HMAC keys", () => {
    const exe = compileCoreTests(dir);
    let out: string;
    try {
      out = execFileSync(exe, [dir], { encoding: "utf8" });
    } catch (e) {
      throw new Error(`C tests failed:\n${(e as { stdout?: string }).stdout ?? e}`);
    }
    const summary = out.trim().split("\n").pop()!;
    const m = /^(\d+) passed, (\d+) failed$/.exec(summary);
    expect(m, out).not.toBeNull();
    expect(Number(m![2]), out).toBe(0);
    expect(Number(m![1])).toBeGreaterThan(200);
  });

  it("the generated link table lists every import of abi.json with its Wasm3 signature, in order", () => {
    const src = join(dir, "print-table.c");
    writeFileSync(src, `#include <stdio.h>\n#include "${join(RUNTIME, "hal_link.generated.h")}"\n` +
      `int main(void) { printf("%u %s\\n", IOTFW_HAL_VERSION, IOTFW_HAL_MODULE);\n` +
      `  for (unsigned i = 0; i < IOTFW_HAL_IMPORT_COUNT; i++) printf("%s %s %s\\n", IOTFW_HAL_IMPORTS[i].module, IOTFW_HAL_IMPORTS[i].name, IOTFW_HAL_IMPORTS[i].signature);\n  return 0; }\n`);
    execFileSync("gcc", [...GCC_FLAGS, "-o", join(dir, "print-table"), src], { stdio: "pipe" });
    const lines = execFileSync(join(dir, "print-table"), { encoding: "utf8" }).trim().split("\n");
    const abi = JSON.parse(readFileSync(join(REPO_ROOT, "firmware/hal/abi.json"), "utf8")) as {
      version: number; module: string; imports: Array<{ name: string; params?: [string, string][]; result?: string }>;
    };
    // Wasm3's signature letters (m3_LinkRawFunction): i = i32, F = f64, * = pointer, v = void.
    const letter = (t: string) => ({ i32: "i", u32: "i", ptr: "*", f64: "F", void: "v" } as Record<string, string>)[t];
    const expected = abi.imports.map((f) => `${abi.module} ${f.name} ${letter(f.result ?? "void")}(${(f.params ?? []).map(([, t]) => letter(t)).join("")})`);
    expect(lines[0]).toBe(`${abi.version} ${abi.module}`);
    expect(lines.slice(1)).toEqual(expected);
  });
});
