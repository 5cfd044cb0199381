// Fixture: forgets `export * from "iotfw/core/entry"`, so the module lacks init/tick/control.
import { setFirmware } from "iotfw/core";

setFirmware("missing-exports", "0.0.1");
