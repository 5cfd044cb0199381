// Where the iotfw package lives on disk, found the same way from source (vitest) and from dist/ (CLI):
// the nearest folder upward holding iotfw's package.json. Firmware sources, boards and asconfig.json
// are read from here.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "iotfw") return dir;
    if (dirname(dir) === dir) throw new Error(`iotfw's package.json not found above ${start}`);
  }
}

export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
