// App figures for `npm run bench`: each example app's app.wasm size and linear memory, built for the
// esp32 board exactly as `iotfw build` does (target: env-station at most 16 KiB and one page).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../../host/build/build.js";
import { REPO_ROOT } from "../../host/repo-root.js";
import type { BenchResult } from "./result.js";

export const EXAMPLE_APPS = ["env-station", "motion", "field-node"];

export async function benchApps(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const app of EXAMPLE_APPS) {
    const r = await buildApp({ board: "esp32", appDir: join(REPO_ROOT, "firmware", "apps", app), outDir: mkdtempSync(join(tmpdir(), "iotfw-bench-")) });
    out.push({ name: `${app} app.wasm size`, value: r.manifest.sizeBytes / 1024, unit: "KiB", note: app === "env-station" ? "target <= 16 KiB" : undefined });
    out.push({ name: `${app} linear memory`, value: r.manifest.memory.maximumPages, unit: "pages (64 KiB)", note: "target 1" });
  }
  return out;
}
