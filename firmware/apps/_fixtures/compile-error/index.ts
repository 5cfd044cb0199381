// Fixture: a type error on line 5, column 22 (iotfw build must report file:line:column).
import { setFirmware } from "iotfw/core";

setFirmware("compile-error", "0.0.1");
const reading: i32 = undefinedSensorValue;

export * from "iotfw/core/entry";
