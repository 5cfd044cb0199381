// Test entry: the DHT22 driver on pin 4, as firmware/tests/drivers-pins.test.ts and the pin-driver bench
// run it against the simulator's model. Exports setup/fetch/read only.
import "../../hal/abort";
import { Dht22 } from "../../drivers/dht22/dht22";

const sensor = new Dht22(4);

export function setup(): i32 { return sensor.setup(); }
export function fetch(now: u32): i32 { return sensor.fetch(now); }
export function read(i: i32): f64 { return sensor.read(i); }
