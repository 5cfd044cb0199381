// iotfw doctor (host/cli/doctor.ts): tools found on PATH with their version banner, missing ones with
// the feature they serve and how to get them; only Node is required. The CLI prints one JSON array.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatChecks, runChecks } from "./doctor.js";
import { ensureCliBuilt, runCli } from "./testing.js";

describe("iotfw doctor", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("finds what is on PATH, names what is missing with its feature and a fix", () => {
    const bin = mkdtempSync(join(tmpdir(), "iotfw-doctor-"));
    writeFileSync(join(bin, "cmake"), "#!/bin/sh\necho 'cmake version 9.9.9'\n");
    chmodSync(join(bin, "cmake"), 0o755);
    const checks = runChecks({ PATH: bin });
    const by = (n: string) => checks.find((c) => c.name === n)!;
    expect(by("node")).toMatchObject({ ok: true, required: true });
    expect(by("cmake")).toMatchObject({ ok: true, detail: `${join(bin, "cmake")}: cmake version 9.9.9` });
    expect(by("socat")).toMatchObject({ ok: false, required: false, fix: "sudo apt-get install socat" });
    expect(by("socat").for).toMatch(/--serial/);
    expect(by("ESP-IDF").ok).toBe(false);
    const text = formatChecks(checks);
    expect(text).toMatch(/^ok {4}node/m);
    expect(text).toMatch(/^warn {2}socat +not found on PATH\n +needed for: .*fix: sudo apt-get install socat$/m);
    expect(text).toMatch(/ready; \d+ optional tool\(s\) missing/);
  });

  it("the CLI: exit 0 with Node alone; --json is one array", async () => {
    const r = await runCli(["doctor", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const checks = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean }>;
    expect(checks.find((c) => c.name === "node")?.ok).toBe(true);
  }, 60_000);
});
