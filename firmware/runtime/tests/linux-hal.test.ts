// The Linux port's bus path on a machine without I2C or GPIO (docs/runtime.md "The Linux port's bus
// path: what is exercised"): tests/linux/test_linux_hal.c links ports/linux/hal_linux.c with its
// open/close/ioctl/read/fcntl wrapped (ld --wrap) onto a fake /dev (a BME280 on /dev/i2c-1, a GPIO
// chip) and checks every system call; it also checks the state file's reset accounting (state.c).
// Plus: the ESP-IDF port's I2C pins default to the board files'. Needs gcc. May touch: a temp folder.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../host/repo-root.js";
import { GCC_FLAGS, RUNTIME } from "./c-harness.js";

const WRAPPED = ["open", "close", "ioctl", "read", "fcntl"];

describe("Linux HAL against a fake /dev (gcc, ld --wrap)", () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "iotfw-linux-hal-")); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("I2C (setup, transfers, repeated START, NACK/timeout mapping), GPIO line requests and the state file", () => {
    const core = readdirSync(join(RUNTIME, "core")).filter((f) => f.endsWith(".c")).map((f) => join(RUNTIME, "core", f));
    const exe = join(dir, "linux-hal-tests");
    // No _FORTIFY_SOURCE: it would turn open() into __open_2, which the wrap does not catch.
    execFileSync("gcc", [...GCC_FLAGS, "-D_GNU_SOURCE", "-U_FORTIFY_SOURCE", "-O1", "-I", RUNTIME, "-o", exe,
      join(RUNTIME, "tests", "linux", "test_linux_hal.c"), join(RUNTIME, "tests", "linux", "test_linux_fake_dev.c"),
      join(RUNTIME, "ports", "linux", "hal_linux.c"), join(RUNTIME, "ports", "linux", "state.c"), ...core,
      `-Wl,${WRAPPED.map((f) => `--wrap=${f}`).join(",")}`], { stdio: "pipe" });
    let out: string;
    try {
      out = execFileSync(exe, [dir], { encoding: "utf8" });
    } catch (e) {
      throw new Error(`Linux HAL tests failed:\n${(e as { stdout?: string }).stdout ?? e}`);
    }
    const m = /^(\d+) passed, (\d+) failed$/m.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![2]), out).toBe(0);
    expect(Number(m![1])).toBeGreaterThan(90);
  });

  it("the ESP-IDF port's I2C bus 0 pins default to the board files' (Kconfig.projbuild)", () => {
    const kconfig = readFileSync(join(RUNTIME, "ports", "esp-idf", "main", "Kconfig.projbuild"), "utf8");
    const target: Record<string, string> = { ESP32: "", "ESP32-C3": "IDF_TARGET_ESP32C3", "ESP32-S3": "IDF_TARGET_ESP32S3" };
    const pin = (name: string, chip: string): number => {
      const block = new RegExp(`config IOTFW_I2C0_${name}\\n([\\s\\S]*?)(?=\\n  config|\\nendmenu)`).exec(kconfig)![1];
      const conditional = [...block.matchAll(/default (\d+) if ([\w |]+)/g)].find((d) => target[chip] && d[2].includes(target[chip]));
      return Number(conditional?.[1] ?? /default (\d+)\s*$/m.exec(block.replace(/default \d+ if .*\n/g, ""))![1]);
    };
    for (const f of readdirSync(join(REPO_ROOT, "boards")).filter((n) => n.endsWith(".json"))) {
      const board = JSON.parse(readFileSync(join(REPO_ROOT, "boards", f), "utf8"));
      const bus0 = (board.pins?.i2c ?? board.i2c ?? []).find((b: { bus: number }) => b.bus === 0);
      expect(bus0, f).toBeDefined();
      expect([pin("SDA", board.chip), pin("SCL", board.chip)], f).toEqual([bus0.sda, bus0.scl]);
    }
  });
});
