// `npm run bench`: every figure the issues name, measured in one run, with same-run baselines and
// ratios. `npm run bench -- --json` prints one JSON object per figure; `--only core,fleet` runs a subset.
// Record the command and its output in docs/BENCHMARKS.md.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../../host/repo-root.js";
import type { BenchResult } from "./result.js";

type Suite = () => Promise<BenchResult[]>;

/** Suites in the order they run. Optional ones load only when their module exists. */
const SUITES: Array<[string, string, string]> = [
  ["apps", "apps.js", "benchApps"],
  ["core", "core.js", "benchCore"],
  ["drivers-i2c", "drivers-i2c.js", "benchI2cDrivers"],
  ["drivers-pins", "drivers-pins.js", "benchPinDrivers"],
  ["fleet", "fleet.js", "benchFleet"],
  ["flash", "flash.js", "benchFlash"],
  ["bridge", "bridge.js", "benchBridge"],
  ["store", "store.js", "benchStore"],
  ["rules", "rules.js", "benchRules"],
  ["postgres", "postgres.js", "benchPostgres"],
  ["runtime", "runtime.js", "benchRuntime"],
  ["wasm3", "wasm3.js", "benchWasm3"],
  ["cli", "cli.js", "benchCli"],
];

function format(r: BenchResult): string {
  const n = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v.toPrecision(3));
  let line = `  ${r.name}: ${n(r.value)} ${r.unit}`;
  if (r.baseline !== undefined) line += ` | baseline ${n(r.baseline)}`;
  if (r.ratio !== undefined) line += ` | ratio ${r.ratio.toFixed(2)}`;
  if (r.note) line += `  (${r.note})`;
  return line;
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const onlyArg = process.argv.find((a) => a.startsWith("--only"));
  const only = onlyArg ? (onlyArg.includes("=") ? onlyArg.split("=")[1] : process.argv[process.argv.indexOf(onlyArg) + 1]).split(",") : undefined;
  const dir = join(REPO_ROOT, "dist", "tools", "bench");
  for (const [name, file, fn] of SUITES) {
    if (only && !only.includes(name)) continue;
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const mod = (await import(pathToFileURL(path).href)) as Record<string, Suite>;
    if (typeof mod[fn] !== "function") continue;
    const started = performance.now();
    const results = await mod[fn]();
    if (json) for (const r of results) console.log(JSON.stringify({ suite: name, ...r }));
    else {
      console.log(`${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      for (const r of results) console.log(format(r));
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
