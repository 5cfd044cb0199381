// Test entry: two MH-Z19B drivers, the 2000 ppm range on pin 25 and the 5000 ppm range on pin 26;
// use(k) picks which one setup/fetch/read talk to (see drivers-pins.test.ts).
import "../../hal/abort";
import { Mhz19b, RANGE_2000, RANGE_5000 } from "../../drivers/mhz19b/mhz19b";
import { Sensor } from "../../drivers/sensor";

const sensors: StaticArray<Sensor> = [new Mhz19b(25, RANGE_2000), new Mhz19b(26, RANGE_5000)];
let current = 0;

export function use(k: i32): void { current = k; }
export function setup(): i32 { return sensors[current].setup(); }
export function fetch(now: u32): i32 { return sensors[current].fetch(now); }
export function read(i: i32): f64 { return sensors[current].read(i); }
