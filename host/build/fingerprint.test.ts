// A build is reused only when nothing it read has changed: the app's files, the firmware library, the
// board, the compiler options.
import { appendFileSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildApp } from "./build.js";
import { scaffoldApp } from "./init.js";

describe("build reuse", () => {
  it("reuses an unchanged build and rebuilds when the app or the board changes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-reuse-"));
    const app = join(dir, "probe");
    scaffoldApp(app);
    const out = join(dir, "out");
    const first = await buildApp({ board: "esp32", appDir: app, outDir: out, reuse: true });
    const wasmTime = () => statSync(join(out, "app.wasm")).mtimeMs;
    const t1 = wasmTime();
    const again = await buildApp({ board: "esp32", appDir: app, outDir: out, reuse: true });
    expect(again.manifest.inputsSha256).toBe(first.manifest.inputsSha256);
    expect(Buffer.from(again.binary).equals(Buffer.from(first.binary))).toBe(true);
    expect(wasmTime()).toBe(t1); // nothing written: the build was reused

    appendFileSync(join(app, "index.ts"), "\n// a change\n");
    const changed = await buildApp({ board: "esp32", appDir: app, outDir: out, reuse: true });
    expect(changed.manifest.inputsSha256).not.toBe(first.manifest.inputsSha256);

    const otherBoard = await buildApp({ board: "esp32c3", appDir: app, outDir: out, reuse: true });
    expect(otherBoard.manifest.board).toBe("esp32c3");
    expect(otherBoard.manifest.inputsSha256).not.toBe(changed.manifest.inputsSha256);
  });
});
