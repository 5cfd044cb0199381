// A deliberately buggy app for the watchdog tests (host/simulate/session.test.ts) and the two-engine
// differential test (simulator/wasm3/engines.test.ts), not an example: a counter sensor whose fetch
// misbehaves on some devices once device time reaches 5 s, on their first life only (reset_info tells
// the module it was restarted). Devices 1, 2 and 5 stay healthy.
//   3: endless loop (the watchdog)          4: abort() with a message, no file name
//   6: assert(): a message and a file name  7: a load outside memory (a Wasm trap)
//   8: a HAL buffer outside memory (trap)   9: waits 1.2 s of device time in HAL calls (over budget)
//  10: panic with neither message nor file
import { attach, setFirmware, setSamplePeriod, setWindow } from "../../../core";
import { Sensor } from "../../../drivers/sensor";
import { device_id, reset_info, i2c_write, pulse_in, panic } from "../../../hal/imports";

class Counter extends Sensor {
  private n: f64 = 0;
  name(): string { return "counter"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "count"; }
  channelUnit(i: i32): string { return "1"; }
  setup(): i32 { return 0; }
  fetch(now: u32): i32 {
    const misbehave = reset_info() == 0 && now >= 5000;
    const id = device_id();
    if (misbehave && id == 3) { let spin: u32 = 1; while (spin != 0) spin = spin * 3 + 1; }
    if (misbehave && id == 4) abort("device 4 gives up");
    if (misbehave && id == 6) assert(now < 5000, "device 6 asserts");
    if (misbehave && id == 7) this.n += <f64>load<u32>(<usize>0xFFFFFFF0);
    if (misbehave && id == 8) i2c_write(0, 0x10, <usize>0xFFF0, 64);
    if (misbehave && id == 9) { pulse_in(13, 1, 600_000); pulse_in(13, 1, 600_000); }
    if (misbehave && id == 10) panic(0, 0, 0, 0);
    this.n += 1;
    return 0;
  }
  read(i: i32): f64 { return this.n; }
}

setFirmware("buggy", "0.0.1");
setSamplePeriod(1000);
setWindow(attach(new Counter()), 10_000, 0);

export * from "../../../core/entry";
