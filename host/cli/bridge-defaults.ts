// The bridge's defaults that `iotfw bridge` and `iotfw ctl` print in their --help, kept apart from
// host/bridge/bridge.ts so that the help does not load the bridge (mqtt, aedes, pg: several hundred ms
// before anything is printed). main.test.ts holds them equal to the bridge's own. Pure data.
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_SPOOL_DIR = join(homedir(), ".iotfw", "spool");
export const DEFAULT_HTTP = "127.0.0.1:7601";
