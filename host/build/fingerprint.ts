// What a build depends on, as one SHA-256: the app's files, the firmware library it compiles against
// (firmware/core, drivers, hal), asconfig.json, the HAL contract, the board and the compiler version and
// target. `simulate` reuses a build whose recorded fingerprint matches ("builds the app if needed");
// `iotfw build` always compiles. Paths enter relative to their root, so moving a checkout keeps it.
// May touch: reads those files.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "../repo-root.js";
import type { Board } from "./boards.js";
import { ascVersion } from "./compile.js";

const LIBRARY_DIRS = ["firmware/core", "firmware/drivers", "firmware/hal"];

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name === "node_modules" || name === "build" || name.startsWith(".")) continue;
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|json)$/.test(name)) out.push(path);
  }
  return out;
}

export function buildFingerprint(appDir: string, board: Board, target: string): string {
  const h = createHash("sha256");
  const add = (label: string, data: string | Buffer) => { h.update(label); h.update("\0"); h.update(data); h.update("\0"); };
  add("asc", ascVersion);
  add("target", target);
  add("board", JSON.stringify({ ...board, source: undefined }));
  add("asconfig", readFileSync(join(REPO_ROOT, "asconfig.json")));
  for (const dir of LIBRARY_DIRS) {
    for (const f of sourceFiles(join(REPO_ROOT, dir))) add(relative(REPO_ROOT, f), readFileSync(f));
  }
  for (const f of sourceFiles(appDir)) add(`app/${relative(appDir, f)}`, readFileSync(f));
  return h.digest("hex");
}
