// Test entry shaped like a real app (firmware/apps/*): everything declared at top level, during the
// module's start, before init. Checks the core's state is ready by the time app code runs. Test-only.
import { Sensor } from "../../drivers/sensor";
import { addChannel, attach, setFirmware, setSamplePeriod, setThreshold, setWindow, KIND_RARE } from "../../core/index";
export * from "../../core/entry";

class Ramp extends Sensor {
  private k: i32 = 0;
  name(): string { return "ramp"; }
  channelCount(): i32 { return 2; }
  channelName(i: i32): string { return i == 0 ? "temperature" : "humidity"; }
  channelUnit(i: i32): string { return i == 0 ? "degC" : "%RH"; }
  setup(): i32 { return 0; }
  fetch(now: u32): i32 { this.k++; return 0; }
  read(i: i32): f64 { return i == 0 ? 20 + <f64>this.k : 50; }
}

setFirmware("toplevel-app", "2.3.4");
setSamplePeriod(500);
const button = addChannel("button", "", KIND_RARE);
const first = attach(new Ramp());
setWindow(first, 2000, 0);
setWindow(first + 1, 0, 8);
setThreshold(first, 25.5, NaN, 1);
export function buttonChannel(): i32 { return button; }
