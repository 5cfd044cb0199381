// env-station: placeholder until the drivers land.
import { setFirmware } from "../../core";
setFirmware("env-station", "0.1.0");
export * from "../../core/entry";
