// Test entry for the aggregation core (firmware/core), compiled by firmware/tests/core*.test.ts. Exports
// the module's exports plus test hooks: synthetic channels, a TableSensor whose fetch results and
// readings come from a table the test writes into memory, a hot loop, and heap probes. Test-only.
import { Sensor } from "../../drivers/sensor";
import { addChannel, attach, setFirmware } from "../../core/index";
import { Device } from "../../core/device";
export * from "../../core/entry";
export { sample, event, fault, setWindow, setThreshold, setDeadband, setSamplePeriod } from "../../core/index";

setFirmware("core-test", "1.0.0");

const NAMES: StaticArray<string> = [
  "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11", "c12", "c13", "c14", "c15",
  "c16", "c17", "c18", "c19", "c20", "c21", "c22", "c23", "c24", "c25", "c26", "c27", "c28", "c29", "c30",
  "c31", "c32", "c33",
];

/** A channel named "c<n>" (n = how many test channels came before), unit "u". */
export function addTestChannel(kind: u8): i32 {
  const i = min(testChannels, NAMES.length - 1);
  testChannels++;
  return addChannel(NAMES[i], "u", kind);
}
let testChannels = 0;

/** A frequent channel with a 40-byte name ending in its number ("...-07") and a 12-byte unit: a dozen of
 *  them overflow a HELLO, so the table goes on in CHANNELS frames. The name is built once, at setup. */
export function addLongChannel(): i32 {
  const n = longChannels++;
  return addChannel("a-channel-name-that-is-forty-bytes-lo-" + (n < 10 ? "0" : "") + n.toString(), "twelve-bytes", 0);
}
let longChannels = 0;
/** A channel whose name and unit are 255 bytes each: its entry (514 bytes) fits in no frame. */
export function addHugeChannel(): i32 {
  return addChannel("n".repeat(255), "u".repeat(255), 0);
}

// ---- TableSensor: per sensor, a row of the table the test writes:
// i32 setupResult, i32 fetchResult, u32 fetches (written by the sensor), u32 lastFetchAt (written), then
// 8 x f64 readings. 80 bytes a row.
const MAX_TABLE_SENSORS = 4;
const ROW = 80;
const table = memory.data(MAX_TABLE_SENSORS * ROW);
export function sensorTable(): usize { return table; }

const CH_NAMES: StaticArray<string> = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];

class TableSensor extends Sensor {
  constructor(private row: usize, private nch: i32, private rareMask: u32, private minGap: u32) { super(); }
  name(): string { return "table"; }
  channelCount(): i32 { return this.nch; }
  channelName(i: i32): string { return CH_NAMES[i & 7]; }
  channelUnit(i: i32): string { return "u"; }
  isRare(i: i32): bool { return ((this.rareMask >> <u32>i) & 1) != 0; }
  setup(): i32 { return load<i32>(this.row); }
  fetch(now: u32): i32 {
    store<u32>(this.row, load<u32>(this.row, 8) + 1, 8);
    store<u32>(this.row, now, 12);
    return load<i32>(this.row, 4);
  }
  read(i: i32): f64 { return load<f64>(this.row + 16 + (<usize>i << 3)); }
  minIntervalMs(): u32 { return this.minGap; }
}

let tableSensors = 0;
/** Attach a TableSensor with nch channels (bit i of rareMask: channel i is rare); its first channel or -1. */
export function attachTableSensor(nch: i32, rareMask: u32, periodMs: u32, minIntervalMs: u32): i32 {
  if (tableSensors >= MAX_TABLE_SENSORS || nch > 8) return -1;
  const s = new TableSensor(table + <usize>(tableSensors * ROW), nch, rareMask, minIntervalMs);
  tableSensors++;
  return attach(s, periodMs);
}

// ---- a hot loop: n samples on channel ch at t0, t0+dt, ...; values cycled from valuesBuf().
const MAX_VALUES = 1024;
const values = memory.data(MAX_VALUES * 8);
export function valuesBuf(): usize { return values; }
export function feedSamples(ch: i32, n: i32, t0: u32, dt: u32, nValues: i32): void {
  let t = t0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    sampleFn(ch, load<f64>(values + (<usize>k << 3)), t);
    t += dt;
    if (++k >= nValues) k = 0;
  }
}
import { sample as sampleFn } from "../../core/index";

// ---- counters STATUS does not carry, and heap probes
export function controlRejected(): u32 { return Device.controlRejected; }
export function droppedFrames(): u32 { return Device.droppedFrames; }
export function framesSent(): u32 { return Device.framesSent; }
/** The stub runtime's bump pointer: allocate 0 bytes and free it (the last block is given back), so
 *  the probe itself moves nothing. Equal before and after = nothing was allocated in between. */
export function heapProbe(): usize {
  const p = __alloc(0);
  __free(p);
  return p;
}
export function heapBase(): usize { return __heap_base; }
/** Allocates bytes and keeps them: proves heapProbe sees an allocation. */
export function leakForTest(bytes: u32): usize { return __alloc(bytes); }
