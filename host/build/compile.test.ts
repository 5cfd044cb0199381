// The compile helper's app support: "iotfw/..." imports reach firmware/ from an app anywhere on disk
// (mounted for the compiler at firmware/apps/__external__), with diagnostics naming the app's files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileAssemblyScript, formatDiagnostic, rewriteIotfwImports } from "./compile.js";

const tmp = mkdtempSync(join(tmpdir(), "iotfw-compile-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("rewriteIotfwImports", () => {
  it("rewrites import and export specifiers only, keeping lines", () => {
    const src = [
      `import { setFirmware } from "iotfw/core";`,
      `import 'iotfw/hal/abort';`,
      `import * as core from "iotfw";`,
      `export * from "iotfw/core/entry";`,
      `const label = "iotfw/core";`,
      `import { x } from "./iotfw/local";`,
    ].join("\n");
    expect(rewriteIotfwImports(src, "firmware/apps/__external__/index.ts").split("\n")).toEqual([
      `import { setFirmware } from "../../core";`,
      `import '../../hal/abort';`,
      `import * as core from "../../core";`,
      `export * from "../../core/entry";`,
      `const label = "iotfw/core";`,
      `import { x } from "./iotfw/local";`,
    ]);
    expect(rewriteIotfwImports(`import "iotfw/hal/imports";`, "firmware/apps/__external__/lib/x.ts")).toBe(`import "../../../hal/imports";`);
  });
});

describe("compileAssemblyScript with an app outside the repository", () => {
  it("compiles an app with a subfolder, importing the HAL through iotfw/...", async () => {
    const app = join(tmp, "sub-app");
    mkdirSync(join(app, "lib"), { recursive: true });
    writeFileSync(join(app, "lib", "clock.ts"), `import { time_ms } from "iotfw/hal/imports";\nexport function now(): u32 { return time_ms(); }\n`);
    writeFileSync(join(app, "index.ts"), `import { now } from "./lib/clock";\nexport function uptime(): u32 { return now(); }\nexport * from "iotfw/core/entry";\n`);
    const r = await compileAssemblyScript(["index.ts"], { app: { dir: app, label: "sub-app" } });
    expect(r.diagnostics).toBe("");
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(r.binary!));
    expect(imports.every((i) => i.module === "iotfw")).toBe(true); // abort went to the HAL panic, not env.abort
    expect(imports.map((i) => i.name)).toContain("time_ms");
  });

  it("reports errors in app files under the app's label with line and column", async () => {
    const app = join(tmp, "err-app");
    mkdirSync(join(app, "lib"), { recursive: true });
    writeFileSync(join(app, "lib", "bad.ts"), `import { time_ms } from "iotfw/hal/imports";\n\nexport const t: string = time_ms();\n`);
    writeFileSync(join(app, "index.ts"), `import { t } from "./lib/bad";\nexport * from "iotfw/core/entry";\n`);
    const r = await compileAssemblyScript(["index.ts"], { app: { dir: app, label: "apps/err-app" } });
    expect(r.ok).toBe(false);
    const errors = r.messages.filter((m) => m.category === "error");
    expect(errors[0]).toMatchObject({ file: "apps/err-app/lib/bad.ts", line: 3, column: 26, code: 2322 });
    expect(r.diagnostics.split("\n")[0]).toBe(formatDiagnostic(errors[0]));
  });
});
