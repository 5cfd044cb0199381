// The generated HAL views must match the contract: a stale file fails the suite (run `npm run gen`).
import { describe, expect, it } from "vitest";
import { generatedFiles, loadAbi, staleFiles } from "./gen-hal.js";
import { compileAssemblyScript } from "../host/build/compile.js";
import { REPO_ROOT } from "../host/repo-root.js";
import { join } from "node:path";
import { HARDWARE_MODULE, hardwareModule } from "../host/build/hardware-module.js";
import { readFileSync as readAppJson } from "node:fs";

describe("HAL contract generation", () => {
  it("checked-in generated files are current", () => {
    expect(staleFiles()).toEqual([]);
  });

  it("every import appears in all three views with its arity", () => {
    const abi = loadAbi();
    const files = generatedFiles(abi);
    for (const f of abi.imports) {
      const n = (f.params ?? []).length;
      expect(files["firmware/hal/imports.ts"]).toContain(`@external("${abi.module}", "${f.name}")`);
      expect(files["simulator/hal/abi.generated.ts"]).toMatch(new RegExp(`\\b${f.name}\\(${Array(n).fill("\\w+: number").join(", ")}\\)`));
      const sig = files["firmware/runtime/hal_link.generated.h"].match(new RegExp(`"${f.name}", "(\\w)\\(([^)]*)\\)"`));
      expect(sig, f.name).not.toBeNull();
      expect(sig![2].length).toBe(n);
    }
  });

  it("a module compiled against the declarations imports only the contract", async () => {
    const app = join(REPO_ROOT, "firmware/apps/env-station");
    const hardware = hardwareModule(JSON.parse(readAppJson(join(app, "app.json"), "utf8")).hardware);
    const r = await compileAssemblyScript(["index.ts"], { app: { dir: app, generated: { [HARDWARE_MODULE]: hardware } } });
    expect(r.diagnostics).toBe("");
    const mod = new WebAssembly.Module(r.binary!);
    const names = new Set(loadAbi().imports.map((f) => f.name));
    for (const imp of WebAssembly.Module.imports(mod)) {
      expect(imp.module).toBe("iotfw");
      expect(names.has(imp.name)).toBe(true);
    }
    expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual(
      loadAbi().exports.map((e) => e.name).sort(),
    );
  });
});
