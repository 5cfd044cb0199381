// `iotfw completion bash` run by a real bash: commands and each command's options complete, taken
// from the program itself. May touch: a temp file, the bash process it starts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "./testing.js";

describe("iotfw completion", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("bash: completes commands and the options of the command being typed", async () => {
    const r = await runCli(["completion", "bash"]);
    expect(r.code, r.stderr).toBe(0);
    const script = join(mkdtempSync(join(tmpdir(), "iotfw-completion-")), "iotfw.bash");
    writeFileSync(script, r.stdout);
    const complete = (...words: string[]) => execFileSync("bash", ["-c",
      `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _iotfw; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { encoding: "utf8" }).trim().split("\n");
    expect(complete("iotfw", "si")).toEqual(["simulate"]);
    expect(complete("iotfw", "d").sort()).toEqual(["deploy", "dev", "doctor"]);
    expect(complete("iotfw", "simulate", "--dep")).toEqual(["--deploy-port"]);
    expect(complete("iotfw", "monitor", "--no")).toEqual(["--no-hello"]);
  });

  it("zsh script names every command; another shell is refused", async () => {
    const z = await runCli(["completion", "zsh"]);
    expect(z.stdout).toMatch(/^#compdef iotfw/);
    expect(z.stdout).toContain("'simulate'");
    const bad = await runCli(["completion", "fish"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bash or zsh, not "fish"/);
  });
});
