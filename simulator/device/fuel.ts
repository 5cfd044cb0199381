// The simulator's watchdog budget, made deterministic: a copy of app.wasm in which every loop iteration
// spends one unit of "fuel" from an exported mutable global and traps (unreachable) when it runs out.
// The device keeps the unchanged module; only the simulator's copy is instrumented, so a tick that never
// returns (an infinite loop) becomes a trap after the same amount of work on any machine, and the fleet
// goes on. Recursion without end already traps (stack overflow). Uses wabt (wasm2wat / wat2wasm).
import wabtInit from "wabt";

export const FUEL_EXPORT = "__iotfw_fuel";

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabtPromise: Promise<Wabt> | undefined;

const FEATURES = { mutable_globals: true, sign_extension: true, sat_float_to_int: true, bulk_memory: true, multi_value: true };

/** Budget of the module's start function (AssemblyScript's top-level code), which runs during
 *  instantiation, before the host can set the counter. */
export const START_FUEL = 50_000_000;

/** Instrument a module's loops with a fuel counter exported as FUEL_EXPORT (a mutable i32 global). */
export async function instrumentFuel(binary: Uint8Array, startFuel = START_FUEL): Promise<Uint8Array> {
  const wabt = await (wabtPromise ??= wabtInit());
  const mod = wabt.readWasm(new Uint8Array(binary), { readDebugNames: false, ...FEATURES });
  let text: string;
  try { text = mod.toText({ foldExprs: false, inlineExport: false }); } finally { mod.destroy(); }

  const globalCount = (text.match(/^\s*\(global \(;\d+;\)/gm) ?? []).length
    + (text.match(/^\s*\(import "[^"]*" "[^"]*" \(global/gm) ?? []).length;
  const fuel = globalCount;
  // After each `loop` header: trap when the budget is spent, else spend one unit. A closed if/end keeps
  // every existing branch depth valid.
  const spend = `global.get ${fuel} i32.eqz if unreachable end global.get ${fuel} i32.const 1 i32.sub global.set ${fuel}`;
  const lines = text.split("\n").map((line) => (/^\s*loop\b/.test(line) ? `${line}\n${spend}` : line));
  const end = lines.lastIndexOf(lines.filter((l) => l.trim().length > 0).pop()!);
  lines[end] = lines[end].replace(/\)\s*$/, `\n  (global (;${fuel};) (mut i32) (i32.const ${startFuel}))\n  (export "${FUEL_EXPORT}" (global ${fuel})))`);

  const parsed = wabt.parseWat("instrumented.wat", lines.join("\n"), FEATURES);
  try {
    parsed.resolveNames();
    parsed.validate();
    return parsed.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally { parsed.destroy(); }
}
