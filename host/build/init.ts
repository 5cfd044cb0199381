// `iotfw init` as a library: scaffold a new app folder (index.ts, app.json, README.md) anywhere on
// disk. Its imports use the "iotfw/..." prefix, which the compile helper maps to this installation's
// firmware library, so the app builds with `iotfw build` run inside it (or `--app <dir>` from anywhere);
// app.json records its board.
// May touch: creates the target folder and those three files in it (never overwrites without force).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { APP_ENTRY, APP_JSON, DEFAULT_BOARD } from "./app.js";
import { BuildError } from "./errors.js";

export interface InitOptions {
  /** App name (default: the folder's name, lower-cased, other characters as "-"). */
  name?: string;
  /** Overwrite existing scaffold files. */
  force?: boolean;
  /** The board app.json records (default esp32); commands run in the app use it unless told otherwise. */
  board?: string;
  cwd?: string;
}

export interface InitResult {
  dir: string;
  name: string;
  files: string[];
}

export function appNameFor(dir: string): string {
  return basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "app";
}

export function scaffoldApp(dir: string, options: InitOptions = {}): InitResult {
  const abs = resolve(options.cwd ?? process.cwd(), dir);
  const name = options.name ?? appNameFor(abs);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new BuildError("init", `app name "${name}" may only use letters, digits, ".", "_" and "-"`);
  const files: Record<string, string> = {
    [APP_ENTRY]: indexTs(name),
    [APP_JSON]: JSON.stringify({ name, version: "0.1.0", board: options.board ?? DEFAULT_BOARD, hardware: SCAFFOLD_HARDWARE }, null, 2) + "\n",
    "README.md": `# ${name}\n\nAn iotfw app for ${options.board ?? DEFAULT_BOARD} (app.json "board"). In this folder:\n\n` +
      "    iotfw build                     # -> build/<board>/\n    iotfw simulate --sensors 5      # this app, on simulated hardware\n    iotfw flash /dev/ttyUSB0\n",
  };
  if (existsSync(abs) && !options.force) {
    const clash = Object.keys(files).filter((f) => existsSync(join(abs, f)));
    if (clash.length) throw new BuildError("init", `${dir} already has ${clash.join(", ")}; use --force to overwrite`);
  }
  mkdirSync(abs, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(abs, file), text);
  return { dir: abs, name, files: Object.keys(files) };
}

/** The scaffold's one part, so that a new app has readings to show in `iotfw simulate` at once. */
const SCAFFOLD_HARDWARE = [{ part: "bme280", bus: 0, address: 0x76 }];

function indexTs(name: string): string {
  return `// ${name}: an iotfw app (AssemblyScript). Declare channels and attach sensors at top level;
// the runtime calls the exports re-exported from iotfw/core/entry. "iotfw/..." imports resolve to
// iotfw's firmware library (core, drivers, hal) when built with \`iotfw build\`. "./hardware" is
// generated from app.json "hardware", the one place parts, buses, addresses and pins are declared
// (the simulator wires its models from the same list).
import { attach, setFirmware, setSamplePeriod, setWindow } from "iotfw/core";
import { Bme280 } from "iotfw/drivers/bme280";
import { BME280_ADDRESS, BME280_BUS } from "./hardware";

setFirmware("${name}", "0.1.0");
setSamplePeriod(1000);

// A BME280 (temperature, humidity, pressure); each channel summarised every 10 s.
const bme = attach(new Bme280(BME280_BUS, BME280_ADDRESS));
for (let ch = bme; ch < bme + 3; ch++) setWindow(ch, 10_000, 0);

export * from "iotfw/core/entry";
`;
}
