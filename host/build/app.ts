// What an iotfw app is on disk: a folder with index.ts (the entry, ending with
// `export * from "iotfw/core/entry";` or a relative path to firmware/core/entry) and app.json
// ({"name", "version"}, optional "board" and "ascArgs"; unknown fields are kept). Also which app a
// command acts on: --app, else the app in the current folder, else the example. May touch: reads the
// app folder.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import { BuildError } from "./errors.js";
import { parseJsonText } from "../json-text.js";

export const DEFAULT_APP_DIR = join(REPO_ROOT, "firmware", "apps", "env-station");
/** The board of an app whose app.json names none, when no --board is given. */
export const DEFAULT_BOARD = "esp32";
export const APP_ENTRY = "index.ts";
export const APP_JSON = "app.json";

export interface AppJson {
  name: string;
  version: string;
  /** The board it is built for when no --board is given (`iotfw init` writes it). */
  board?: string;
  /** Extra asc arguments (advanced; the board checks still apply to what they produce). */
  ascArgs?: string[];
  [field: string]: unknown;
}

export interface App {
  /** Absolute folder. */
  dir: string;
  /** The folder as the user gave it (for messages). */
  label: string;
  json: AppJson;
  /** Problems that do not stop the build. */
  warnings: string[];
}

/** Load the app at `dir` (resolved against cwd); `label` is how messages name it. */
export function loadApp(dir: string, options: { cwd?: string; label?: string } = {}): App {
  const abs = resolve(options.cwd ?? process.cwd(), dir);
  const label = options.label ?? dir;
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new BuildError("invalid-app", `app folder ${label} not found`);
  if (!existsSync(join(abs, APP_ENTRY))) throw new BuildError("invalid-app", `app folder ${label} has no ${APP_ENTRY} (its entry file)`);
  const warnings: string[] = [];
  const jsonPath = join(abs, APP_JSON);
  let json: AppJson;
  if (!existsSync(jsonPath)) {
    json = { name: basename(abs), version: "0.0.0" };
    warnings.push(`${label} has no ${APP_JSON}; using name "${json.name}" and version "0.0.0"`);
  } else {
    let raw: unknown;
    try {
      raw = parseJsonText(readFileSync(jsonPath, "utf8"));
    } catch (e) {
      throw new BuildError("invalid-app", `${label}/${APP_JSON} is not valid JSON: ${(e as Error).message}`);
    }
    json = validateAppJson(raw, `${label}/${APP_JSON}`);
  }
  return { dir: abs, label, json, warnings };
}

export function validateAppJson(raw: unknown, where: string): AppJson {
  const fail = (msg: string): never => { throw new BuildError("invalid-app", `${where}: ${msg}`); };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("must be a JSON object");
  const o = raw as Record<string, unknown>;
  if (typeof o.name !== "string" || !o.name) fail(`"name" must be a non-empty string`);
  if (typeof o.version !== "string" || !o.version) fail(`"version" must be a non-empty string`);
  if (o.board !== undefined && (typeof o.board !== "string" || !o.board)) fail(`"board" must be a board name such as "esp32"`);
  if (o.ascArgs !== undefined && (!Array.isArray(o.ascArgs) || o.ascArgs.some((a) => typeof a !== "string"))) fail(`"ascArgs" must be an array of strings`);
  return o as AppJson;
}

/** The app a command acts on, as its folder and the label messages use: `--app` when given; else the
 *  current folder when it is an app (app.json and index.ts), so that commands run inside an app act on
 *  it; else the example app. Outside the iotfw checkout the fallback comes with a warning: building
 *  the example where the user expected their own app must not go unnoticed. */
export function resolveAppDir(flag: string | undefined, cwd = process.cwd()): { dir: string; label: string; warning?: string } {
  if (flag !== undefined) return { dir: flag, label: flag };
  const here = resolve(cwd);
  if (existsSync(join(here, APP_JSON)) && existsSync(join(here, APP_ENTRY))) return { dir: here, label: basename(here) };
  const inCheckout = here === REPO_ROOT || here.startsWith(REPO_ROOT + sep);
  return {
    dir: DEFAULT_APP_DIR, label: "firmware/apps/env-station",
    warning: inCheckout ? undefined : `no app in ${here} (no ${APP_JSON} and ${APP_ENTRY}): using the example app env-station; give --app <dir>, or make one with iotfw init <dir>`,
  };
}

/** The board to build `app` for: --board, else its app.json "board", else DEFAULT_BOARD. */
export function boardFor(app: App, flag: string | undefined): string {
  return flag ?? app.json.board ?? DEFAULT_BOARD;
}
