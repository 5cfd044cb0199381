// Whether a device has the memory a module asks for: the simulator's side of the runtime's check
// (firmware/runtime/core/module_limits.c), in the same words, so that a module the board cannot hold
// fails to start in both engines alike (a boot loop until a deploy replaces it). `iotfw build` refuses
// such a module outright; this is for modules that reach a device otherwise. Reads only its arguments.
import { BuildError } from "../../host/build/errors.js";
import { readMemoryLimits } from "../../host/build/wasm-check.js";

/** Why the module cannot start on a device allowing maxPages of linear memory, or undefined. */
export function memoryRefusal(binary: Uint8Array, maxPages: number): string | undefined {
  let limits;
  try { limits = readMemoryLimits(binary); } catch (e) {
    if (e instanceof BuildError) return "module is not well-formed Wasm";
    throw e;
  }
  const { initialPages, maximumPages } = limits;
  if (maximumPages === null && initialPages <= maxPages) return `module sets no maximum memory size; this device allows ${maxPages} pages`;
  const asks = maximumPages === null || maximumPages < initialPages ? initialPages : maximumPages;
  return asks > maxPages ? `module asks for ${asks} pages of memory; this device allows ${maxPages}` : undefined;
}
