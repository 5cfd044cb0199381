// A deliberately buggy app for the simulator's watchdog test (host/simulate/session.test.ts), not an
// example: a counter sensor whose fetch loops forever on device 3 and aborts on device 4 once device
// time reaches 5 s, on their first life only (reset_info tells the module it was restarted).
import { attach, setFirmware, setSamplePeriod, setWindow } from "../../../core";
import { Sensor } from "../../../drivers/sensor";
import { device_id, reset_info } from "../../../hal/imports";

class Counter extends Sensor {
  private n: f64 = 0;
  name(): string { return "counter"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "count"; }
  channelUnit(i: i32): string { return "1"; }
  setup(): i32 { return 0; }
  fetch(now: u32): i32 {
    const firstLife = reset_info() == 0;
    if (firstLife && now >= 5000 && device_id() == 3) { let spin: u32 = 1; while (spin != 0) spin = spin * 3 + 1; }
    if (firstLife && now >= 5000 && device_id() == 4) abort("device 4 gives up");
    this.n += 1;
    return 0;
  }
  read(i: i32): f64 { return this.n; }
}

setFirmware("buggy", "0.0.1");
setSamplePeriod(1000);
setWindow(attach(new Counter()), 10_000, 0);

export * from "../../../core/entry";
