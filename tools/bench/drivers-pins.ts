// Benchmark of the pin/ADC/GPIO/chip drivers through the simulator: each compiled driver test entry
// (firmware/tests/entries/drv_*.ts) runs against its model through HalHost, and we count completed reads
// per second of wall time (~0.5 s per driver). Also the rig the driver tests use to run a compiled entry
// against models (loadDriverEntry). Touches only the compiler, the simulator's HAL host and the models.
import { compileAssemblyScript } from "../../host/build/compile.js";
import type { DeviceWiring } from "../../simulator/hal/buses.js";
import { HalHost, VirtualClock, emptyWiring } from "../../simulator/hal/host.js";
import { Dht22Model } from "../../simulator/sensors/dht22/model.js";
import { HcSr04Model } from "../../simulator/sensors/hcsr04/model.js";
import { Mhz19bModel } from "../../simulator/sensors/mhz19b/model.js";
import { NtcModel, PotentiometerModel, SoundLevelModel } from "../../simulator/sensors/analog/models.js";
import { ButtonModel } from "../../simulator/sensors/gpio/button.js";
import { Esp32ChipModel } from "../../simulator/sensors/chip/esp32.js";
import { CITY_STATION } from "../../simulator/sensors/scenario.js";
import { FixedSignal, NoisySignal } from "../../simulator/sensors/signal.js";

/** What every driver test entry exports; some add use(k) to pick one of several drivers, and more. */
export interface DriverExports {
  setup(): number;
  fetch(now: number): number;
  read(i: number): number;
  use?(k: number): void;
  [name: string]: unknown;
}

export interface DriverRig {
  exports: DriverExports;
  clock: VirtualClock;
  wiring: DeviceWiring;
  host: HalHost;
  /** Set the clock to ms (never backwards: a pulse capture may have advanced it) and fetch there. */
  fetchAt(ms: number): number;
}

const modules = new Map<string, Promise<WebAssembly.Module>>();

/** Compile a test entry once per process (repo-relative path). */
export function compileEntry(entry: string): Promise<WebAssembly.Module> {
  let m = modules.get(entry);
  if (!m) {
    m = compileAssemblyScript([entry]).then((r) => {
      if (!r.ok || !r.binary) throw new Error(`${entry} did not compile:\n${r.diagnostics}`);
      return new WebAssembly.Module(r.binary as Uint8Array<ArrayBuffer>);
    });
    modules.set(entry, m);
  }
  return m;
}

/** Instantiate a compiled test entry against wiring on a fresh virtual clock starting at startMs. */
export async function loadDriverEntry(entry: string, wiring: DeviceWiring, startMs = 0): Promise<DriverRig> {
  const clock = new VirtualClock();
  clock.setMs(startMs);
  const host = new HalHost({ deviceId: 1, board: "esp32", appHash: new Uint8Array(32), clock, wiring, onFrame: () => {} });
  const instance = await WebAssembly.instantiate(await compileEntry(entry), host.imports());
  host.bind(instance.exports.memory as WebAssembly.Memory);
  const exports = instance.exports as unknown as DriverExports;
  return {
    exports, clock, wiring, host,
    fetchAt(ms: number): number {
      if (ms * 1000 > clock.us) clock.setMs(ms);
      return exports.fetch(clock.ms);
    },
  };
}

/** A wiring with one pin device on each of the given pins. */
export function pinWiring(pins: Record<number, unknown>, adcBits = 12): DeviceWiring {
  const w = emptyWiring(adcBits);
  for (const [pin, dev] of Object.entries(pins)) w.pins.set(Number(pin), dev as never);
  return w;
}

const ENTRIES = "firmware/tests/entries";
const city = (metric: string, seed: string): NoisySignal => new NoisySignal({ ...CITY_STATION[metric], seed });

interface BenchCase {
  name: string;
  entry: string;
  use?: number;
  wiring(): DeviceWiring;
  periodMs: number;
}

const CASES: BenchCase[] = [
  { name: "dht22", entry: `${ENTRIES}/drv_dht22.ts`, periodMs: 2000,
    wiring: () => pinWiring({ 4: new Dht22Model({ temperature: city("temperature", "t"), humidity: city("humidity", "h") }) }) },
  { name: "hcsr04", entry: `${ENTRIES}/drv_hcsr04.ts`, periodMs: 60,
    wiring: () => { const m = new HcSr04Model({ distance: new FixedSignal(123.4) }); return pinWiring({ 12: m, 13: m }); } },
  { name: "mhz19b", entry: `${ENTRIES}/drv_mhz19b.ts`, use: 0, periodMs: 1004,
    wiring: () => pinWiring({ 25: new Mhz19bModel({ co2: new FixedSignal(800), rangePpm: 2000 }) }) },
  { name: "potentiometer", entry: `${ENTRIES}/drv_analog.ts`, use: 0, periodMs: 10,
    wiring: () => pinWiring({ 34: new PotentiometerModel(new FixedSignal(42)) }) },
  { name: "ntc-beta", entry: `${ENTRIES}/drv_analog.ts`, use: 2, periodMs: 10,
    wiring: () => pinWiring({ 32: new NtcModel({ temperature: city("temperature", "n"), seriesOhms: 10000,
      curve: { kind: "beta", r0: 10000, t0C: 25, beta: 3950 } }) }) },
  { name: "sound", entry: `${ENTRIES}/drv_analog.ts`, use: 4, periodMs: 10,
    wiring: () => pinWiring({ 36: new SoundLevelModel({ level: city("noise", "s") }) }) },
  { name: "button", entry: `${ENTRIES}/drv_gpio.ts`, use: 0, periodMs: 10,
    wiring: () => {
      const b = new ButtonModel({ seed: 1 });
      for (let i = 0; i < 1000; i++) b.set(i % 2 === 0, 1_000_000 + i * 100_000); // a press or release every 100 ms
      return pinWiring({ 14: b });
    } },
  { name: "chip-temperature", entry: `${ENTRIES}/drv_chip.ts`, use: 0, periodMs: 10,
    wiring: () => { const w = emptyWiring(); w.chip = new Esp32ChipModel({ temperature: new FixedSignal(45) }); return w; } },
];

/** Reads per second (wall time) per driver, each through compiled Wasm + HalHost + its model. */
export async function benchPinDrivers(durationMs = 500): Promise<Array<{ name: string; value: number; unit: string }>> {
  const results: Array<{ name: string; value: number; unit: string }> = [];
  // Compile everything first: compile time is not part of the figures, and the engine's background
  // tier-up of the compiler itself (binaryen) would otherwise slow the first driver's warm-up.
  for (const c of CASES) await compileEntry(c.entry);
  for (const c of CASES) {
    const rig = await loadDriverEntry(c.entry, c.wiring(), 1000);
    rig.exports.use?.(c.use ?? 0);
    if (rig.exports.setup() < 0) throw new Error(`${c.name}: setup failed`);
    let t = 2000;
    const runFor = (ms: number): { reads: number; errors: number; elapsed: number } => {
      let reads = 0;
      let errors = 0;
      const start = performance.now();
      let elapsed = 0;
      while (elapsed < ms) {
        for (let i = 0; i < 100; i++) {
          if (rig.fetchAt(t) >= 0) reads++; else errors++;
          t += c.periodMs;
        }
        elapsed = performance.now() - start;
      }
      return { reads, errors, elapsed };
    };
    runFor(durationMs); // warm-up: the engine tiers the Wasm and the model up over the first reads
    const { reads, errors, elapsed } = runFor(durationMs);
    if (reads === 0 || errors > 0) throw new Error(`${c.name}: ${errors} failed reads of ${reads + errors}; the bench measures good reads only`);
    results.push({ name: `${c.name} reads`, value: Math.round((reads / elapsed) * 1000), unit: "reads/s" });
  }
  return results;
}
