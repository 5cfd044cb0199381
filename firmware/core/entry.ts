// STUB: the core helper replaces the bodies. The exports every iotfw module has (see docs/hal-abi.md);
// an app re-exports them: `export * from "../../core/entry";`
import { HAL_VERSION, CONTROL_MAX } from "../hal/imports";
import "../hal/abort"; // abort() -> panic (asconfig.json "use")

const controlBuf = memory.data(<i32>CONTROL_MAX);

export function abi_version(): u32 { return HAL_VERSION; }
export function init(): i32 { return 0; }
export function tick(now_ms: u32): u32 { return 1000; }
export function control_buffer(): usize { return controlBuf; }
export function control(len: u32): i32 { return 0; }
