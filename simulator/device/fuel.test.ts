// The fuel watchdog turns an endless loop into a trap after a fixed budget, and leaves finite work intact.
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { FUEL_EXPORT, instrumentFuel } from "./fuel.js";

async function watModule(wat: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const m = wabt.parseWat("t.wat", wat, {});
  return m.toBinary({}).buffer;
}

const SOURCE = `(module
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "forever") (loop $l (br $l))))`;

describe("fuel instrumentation", () => {
  it("finite loops give the same result when the budget suffices", async () => {
    const { instance } = await WebAssembly.instantiate(await instrumentFuel(await watModule(SOURCE)));
    const fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = 1_000;
    expect((instance.exports.sum as (n: number) => number)(100)).toBe(4950);
    expect(fuel.value).toBe(1_000 - 101); // one unit per iteration, the exit test included
  });

  it("an endless loop traps once the budget is spent", async () => {
    const { instance } = await WebAssembly.instantiate(await instrumentFuel(await watModule(SOURCE)));
    const fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = 50_000;
    expect(() => (instance.exports.forever as () => void)()).toThrow(WebAssembly.RuntimeError);
    expect(fuel.value).toBe(0);
  });

  it("a loop over budget traps instead of finishing", async () => {
    const { instance } = await WebAssembly.instantiate(await instrumentFuel(await watModule(SOURCE)));
    (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value = 10;
    expect(() => (instance.exports.sum as (n: number) => number)(100)).toThrow(/unreachable/);
  });
});
