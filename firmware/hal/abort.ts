// AssemblyScript's abort(), routed to the HAL's panic import (asc --use abort=firmware/hal/abort/halAbort),
// so a module imports nothing but the `iotfw` contract: no `env.abort`.
import { panic } from "./imports";

export function halAbort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  panic(changetype<usize>(message), changetype<usize>(fileName), line, column);
  unreachable();
}
