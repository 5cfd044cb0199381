// The ports cannot be built here (no ESP-IDF, no Wasm3), so check what can be: each port's build lists
// every file of the portable core, so a core file added later is not left out of a device build.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../host/repo-root.js";

const RUNTIME = join(REPO_ROOT, "firmware", "runtime");
const CORE = readdirSync(join(RUNTIME, "core")).filter((f) => f.endsWith(".c")).sort();

describe("port build files", () => {
  for (const file of ["ports/esp-idf/main/CMakeLists.txt", "ports/linux/CMakeLists.txt"]) {
    it(`${file} compiles every core source`, () => {
      const text = readFileSync(join(RUNTIME, file), "utf8");
      const listed = [...text.matchAll(/\$\{RT\}\/core\/([\w-]+\.c)/g)].map((m) => m[1]).sort();
      expect(listed).toEqual(CORE);
    });
  }
});
