// The pipe to the runtime process under faults: a malformed request is refused with the runtime's own
// words, a runtime killed mid-run is an error naming how it ended (never a hang), and closing twice is
// safe. Needs what engines.test.ts needs; skips likewise (never under CI).
import { beforeAll, describe, expect, it } from "vitest";
import { HAL_IMPORT_NAMES, HAL_VERSION } from "../hal/abi.generated.js";
import { runMessage } from "./protocol.js";
import { buildSimRuntime } from "./runtime-build.js";
import { RuntimeProcess, RuntimeProcessError } from "./runtime-process.js";

let binary: string | undefined;
let unavailable: string | undefined;
const start = () => RuntimeProcess.start(binary!, { halImports: HAL_IMPORT_NAMES, halVersion: HAL_VERSION });

describe("the sim port's process", () => {
  beforeAll(() => {
    try { binary = buildSimRuntime().binary; } catch (e) {
      if (process.env.CI) throw e;
      unavailable = (e as Error).message.split("\n")[0];
    }
  }, 300_000);

  it("says HELLO with the HAL it implements, and refuses a request for a device it does not hold", async (ctx) => {
    if (unavailable) { console.warn(`skipped: ${unavailable}`); ctx.skip(); }
    const p = await start();
    expect(p.imports).toEqual([...HAL_IMPORT_NAMES]);
    runMessage(p.out, 42, 1000);
    expect(() => p.next()).toThrow(/the runtime refused a request: RUN: no such device/);
    p.close();
    p.close();
  });

  it("a runtime that dies is an error saying how, not a hang", async (ctx) => {
    if (unavailable) { console.warn(`skipped: ${unavailable}`); ctx.skip(); }
    const p = await start();
    process.kill(p.pid!, "SIGKILL");
    runMessage(p.out, 1, 1000);
    let error: unknown;
    try { p.next(); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(RuntimeProcessError);
    expect(String(error)).toMatch(/runtime process (ended|is gone)/);
    p.close();
  });
});
