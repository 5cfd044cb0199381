// Benchmark of the I2C sensor drivers through the simulator: each compiled driver test entry
// (firmware/tests/entries/drv_{bme280,sht31,mpu6050,bh1750}.ts) runs against its register-level model
// through HalHost (the rig of ./drivers-pins.ts), and we count completed reads per second of wall time
// (~0.5 s per driver). City-station noisy signals make every BME280 conversion a fresh inversion of
// Bosch's compensation, as in a fleet run. Touches only the compiler, the HAL host and the models.
import type { I2cTarget } from "../../simulator/hal/buses.js";
import { emptyWiring } from "../../simulator/hal/host.js";
import { Bme280Model } from "../../simulator/sensors/bme280/index.js";
import { Sht31Model } from "../../simulator/sensors/sht31/index.js";
import { Mpu6050Model } from "../../simulator/sensors/mpu6050/index.js";
import { Bh1750Model } from "../../simulator/sensors/bh1750/index.js";
import { CITY_STATION } from "../../simulator/sensors/scenario.js";
import { FixedSignal, NoisySignal } from "../../simulator/sensors/signal.js";
import { compileEntry, loadDriverEntry } from "./drivers-pins.js";

const ENTRIES = "firmware/tests/entries";
const city = (metric: string, seed: string): NoisySignal => new NoisySignal({ ...CITY_STATION[metric], seed });

interface I2cBenchCase {
  name: string;
  entry: string;
  /** configure() arguments after the bus number. */
  args: number[];
  model(): I2cTarget;
  /** Device time between fetches: at least the part's measurement time. */
  periodMs: number;
}

const CASES: I2cBenchCase[] = [
  { name: "bme280", entry: `${ENTRIES}/drv_bme280.ts`, args: [0x76, 1, 1, 1], periodMs: 1000,
    model: () => new Bme280Model({ temperature: city("temperature", "bt"), humidity: city("humidity", "bh"), pressure: city("pressure", "bp") }) },
  { name: "sht31", entry: `${ENTRIES}/drv_sht31.ts`, args: [0x44], periodMs: 1000,
    model: () => new Sht31Model({ temperature: city("temperature", "st"), humidity: city("humidity", "sh") }) },
  { name: "mpu6050", entry: `${ENTRIES}/drv_mpu6050.ts`, args: [0x68, 0, 0], periodMs: 10,
    model: () => {
      const f = (v: number): FixedSignal => new FixedSignal(v);
      return new Mpu6050Model({ accelX: f(0.1), accelY: f(-0.2), accelZ: f(9.81), gyroX: f(1), gyroY: f(-2), gyroZ: f(0.5), temperature: f(31) });
    } },
  { name: "bh1750", entry: `${ENTRIES}/drv_bh1750.ts`, args: [0x23, 0x10, 69], periodMs: 200,
    model: () => new Bh1750Model({ illuminance: city("illuminance", "l") }) },
];

/** Reads per second (wall time) per I2C driver, each through compiled Wasm + HalHost + its model. */
export async function benchI2cDrivers(durationMs = 500): Promise<Array<{ name: string; value: number; unit: string }>> {
  const results: Array<{ name: string; value: number; unit: string }> = [];
  for (const c of CASES) {
    await compileEntry(c.entry); // compile time is not part of the figure
    const wiring = emptyWiring();
    wiring.i2c.set(0, [c.model()]);
    const rig = await loadDriverEntry(c.entry, wiring, 1000);
    (rig.exports.configure as (...a: number[]) => void)(0, ...c.args);
    if (rig.exports.setup() < 0) throw new Error(`${c.name}: setup failed`);
    let t = 2000;
    let reads = 0;
    let errors = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < durationMs) {
      for (let i = 0; i < 20; i++) {
        if (rig.fetchAt(t) >= 0) reads++; else errors++;
        t += c.periodMs;
      }
      elapsed = performance.now() - start;
    }
    if (reads === 0 || errors > 0) throw new Error(`${c.name}: ${reads} reads, ${errors} errors`);
    results.push({ name: `${c.name} reads`, value: Math.round((reads / elapsed) * 1000), unit: "reads/s" });
  }
  return results;
}
