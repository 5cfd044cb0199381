// The I2C sensor drivers (firmware/drivers/{bme280,sht31,mpu6050,bh1750}) compiled to Wasm and run
// through the simulator's HalHost against their register-level models (simulator/sensors/...):
// round trips within each part's quantisation (bounds derived from the formulas), worked examples,
// timing, and every fault the drivers must turn into an error value. Test-only.
import { describe, expect, it } from "vitest";
import { loadDriverEntry, type DriverRig } from "../../tools/bench/drivers-pins.js";
import type { I2cTarget } from "../../simulator/hal/buses.js";
import { emptyWiring } from "../../simulator/hal/host.js";
import { FixedSignal } from "../../simulator/sensors/signal.js";
import { BOSCH_EXAMPLE_CALIBRATION, Bme280Model, REAL_PART_CALIBRATION } from "../../simulator/sensors/bme280/index.js";
import { Sht31Model, sht31Crc8 } from "../../simulator/sensors/sht31/index.js";
import { ACCEL_LSB_PER_G, GYRO_LSB_PER_DPS, Mpu6050Model, STANDARD_GRAVITY } from "../../simulator/sensors/mpu6050/index.js";
import { Bh1750Model, COUNTS_PER_LX, L_COUNT_STEP } from "../../simulator/sensors/bh1750/index.js";

const OK = 0, ERR_NACK = -1, ERR_TIMEOUT = -2, ERR_INVALID = -4, ERR_NOT_READY = -6;
const ERR_CHECKSUM = -10, ERR_CHIP_ID = -11, ERR_RANGE = -12;
const E = "firmware/tests/entries";

/** Instantiate a driver entry with models on I2C bus 0 and construct the driver with args. */
async function rig(entry: string, models: I2cTarget[], ...args: number[]): Promise<DriverRig> {
  const wiring = emptyWiring();
  wiring.i2c.set(0, models);
  const r = await loadDriverEntry(`${E}/${entry}`, wiring);
  (r.exports.configure as (...a: number[]) => void)(0, ...args);
  return r;
}

/** An AssemblyScript string returned by an export: UTF-16LE, byte length at ptr - 4. */
function asString(r: DriverRig, ptr: number): string {
  const mem = new Uint8Array((r.exports.memory as WebAssembly.Memory).buffer);
  const len = new DataView(mem.buffer).getUint32(ptr - 4, true);
  return Buffer.from(mem.subarray(ptr, ptr + len)).toString("utf16le");
}
function channels(r: DriverRig): string[] {
  const n = (r.exports.channelCount as () => number)();
  const name = r.exports.channelName as (i: number) => number, unit = r.exports.channelUnit as (i: number) => number;
  return Array.from({ length: n }, (_, i) => `${asString(r, name(i))}:${asString(r, unit(i))}`);
}

/** Half the largest output change between raw and its neighbours: the most a part that picks the
 *  raw value closest to the truth can be off by (f monotonic). */
function halfStep(f: (raw: number) => number, raw: number, step: number): number {
  return Math.max(Math.abs(f(raw + step) - f(raw)), Math.abs(f(raw) - f(raw - step))) / 2;
}

describe("BME280 driver against its register model", () => {
  // The model keeps these signals: a test changes the physical values through them.
  let sig = { T: new FixedSignal(0), H: new FixedSignal(0), P: new FixedSignal(0) };
  const bme = (T: number, H: number, P: number, extra: Partial<ConstructorParameters<typeof Bme280Model>[0]> = {}) => {
    sig = { T: new FixedSignal(T), H: new FixedSignal(H), P: new FixedSignal(P) };
    return new Bme280Model({ temperature: sig.T, humidity: sig.H, pressure: sig.P, ...extra });
  };

  it("reproduces Bosch's worked example (BMP280 datasheet section 3.12)", async () => {
    const model = bme(25, 50, 1000, { calibration: BOSCH_EXAMPLE_CALIBRATION });
    model.forcedRaw = { t: 519888, p: 415148, h: 30000 };
    const r = await rig("drv_bme280.ts", [model], 0x76, 1, 1, 1);
    expect(r.exports.setup()).toBe(OK);
    expect(r.fetchAt(10)).toBe(OK);
    expect(r.exports.read(0)).toBe(25.08);
    // The 64-bit code gives 25767233 / 256 Pa (checked independently with arbitrary-precision
    // integers); the datasheet prints 100653.27 Pa from its floating-point formula.
    expect(r.exports.read(2)).toBe(25767233 / 256 / 100);
    expect(Math.abs(r.exports.read(2) * 100 - 100653.27)).toBeLessThan(0.02);
    // Humidity: the integer code against the datasheet's double formula (section 8.1), which it
    // approximates to within its truncations (a few 1/1024 %RH).
    const c = BOSCH_EXAMPLE_CALIBRATION, tFine = 128422;
    let h = tFine - 76800.0;
    h = (30000 - (c.H4 * 64.0 + (c.H5 / 16384.0) * h)) * ((c.H2 / 65536.0) * (1.0 + (c.H6 / 67108864.0) * h * (1.0 + (c.H3 / 67108864.0) * h)));
    h = h * (1.0 - (c.H1 * h) / 524288.0);
    expect(Math.abs(r.exports.read(1) - h)).toBeLessThan(4 / 1024);
    expect(channels(r)).toEqual(["temperature:degC", "humidity:%RH", "pressure:hPa"]);
  });

  const sweep: Array<[number, number, number]> = [
    [-40, 0.5, 300], [-12.34, 15, 500.5], [0, 33.3, 750], [21.5, 55.55, 1013.25], [37.77, 80, 1050], [60, 95, 1080], [85, 99.5, 1100],
  ];
  for (const [osrs, label] of [[1, "x1 (16-bit T/P)"], [5, "x16 (20-bit T/P)"]] as const) {
    it(`round-trips T, RH, P across the range at oversampling ${label}, within the quantisation`, async () => {
      for (const calibration of [REAL_PART_CALIBRATION, BOSCH_EXAMPLE_CALIBRATION]) {
        const model = bme(0, 0, 0, { calibration });
        const r = await rig("drv_bme280.ts", [model], 0x76, osrs, osrs, osrs);
        expect(r.exports.setup()).toBe(OK);
        for (const [T, H, P] of sweep) {
          [sig.T.value, sig.H.value, sig.P.value] = [T, H, P];
          r.clock.setMs(r.clock.ms + 1000);
          const startUs = r.clock.us;
          expect(r.exports.fetch(r.clock.ms)).toBe(OK);
          const raw = model.lastRaw!, comp = model.compensation, step = osrs === 1 ? 16 : 1;
          const tFine = comp.temperature(raw.t).tFine;
          const tBound = halfStep((x) => comp.temperature(x).t / 100, raw.t, step);
          const pBound = halfStep((x) => comp.pressure(x, tFine) / 25600, raw.p, step);
          const hBound = halfStep((x) => comp.humidity(x, tFine) / 1024, raw.h, 1);
          // Sanity of the derived bounds against the datasheet's resolutions (section 3.4.2-3.4.3):
          // T moves 0.0050 degC per x1 step, under the output's 0.01 degC; P 2.62 Pa per x1 step
          // (16 bit) and 0.16 Pa at 20 bit, nominally; the step grows with P and T (2.4..3.0 Pa here).
          expect(tBound).toBeLessThanOrEqual(0.005 + 1e-12);
          expect(pBound).toBeLessThanOrEqual(osrs === 1 ? 0.016 : 0.001);
          expect(Math.abs(r.exports.read(0) - T)).toBeLessThanOrEqual(tBound + 1e-9);
          expect(Math.abs(r.exports.read(2) - P)).toBeLessThanOrEqual(pBound + 1e-9);
          expect(Math.abs(r.exports.read(1) - H)).toBeLessThanOrEqual(hBound + 1e-9);
          // Forced mode waited the conversion: typical time 1 + 2T + 2P+0.5 + 2H+0.5 ms (section 9.1).
          const ratio = osrs === 1 ? 1 : 16;
          const elapsedMs = (r.clock.us - startUs) / 1000;
          expect(elapsedMs).toBeGreaterThanOrEqual(1 + 6 * ratio + 1);
          expect(elapsedMs).toBeLessThanOrEqual(1.25 + 6.9 * ratio + 1.15 + 1.1);
        }
      }
    });
  }

  it("reports skipped measurements (0x80000 / 0x8000) as missing", async () => {
    for (const [osrsT, osrsP, osrsH, expectNaN] of [[1, 0, 1, [false, false, true]], [1, 1, 0, [false, true, false]], [0, 1, 1, [true, true, true]]] as const) {
      const r = await rig("drv_bme280.ts", [bme(20, 50, 1000)], 0x76, osrsT, osrsP, osrsH);
      expect(r.exports.setup()).toBe(OK);
      expect(r.fetchAt(100)).toBe(OK);
      expect([0, 1, 2].map((i) => Number.isNaN(r.exports.read(i)))).toEqual(expectNaN);
    }
    const model = bme(20, 50, 1000);
    const r = await rig("drv_bme280.ts", [model], 0x76, 1, 1, 1);
    expect(r.exports.setup()).toBe(OK);
    model.forcedRaw = { p: 0x80000, h: 0x8000 };
    expect(r.fetchAt(100)).toBe(OK);
    expect(Math.abs(r.exports.read(0) - 20)).toBeLessThanOrEqual(0.005);
    expect(Number.isNaN(r.exports.read(1)) && Number.isNaN(r.exports.read(2))).toBe(true);
  });

  it("answers at 0x77, and NACK / wrong chip id / hung conversion / stuck output become errors", async () => {
    const at77 = await rig("drv_bme280.ts", [bme(20, 50, 1000, { address: 0x77 })], 0x77, 1, 1, 1);
    expect(at77.exports.setup()).toBe(OK);
    expect((await rig("drv_bme280.ts", [bme(20, 50, 1000, { address: 0x77 })], 0x76, 1, 1, 1)).exports.setup()).toBe(ERR_NACK);
    expect((await rig("drv_bme280.ts", [bme(20, 50, 1000, { chipId: 0x58 })], 0x76, 1, 1, 1)).exports.setup()).toBe(ERR_CHIP_ID);
    expect((await rig("drv_bme280.ts", [bme(NaN, 50, 1000)], 0x76, 1, 1, 1)).exports.setup()).toBe(ERR_NACK);

    const model = bme(20, 50, 1000);
    const r = await rig("drv_bme280.ts", [model], 0x76, 1, 1, 1);
    expect(r.exports.setup()).toBe(OK);
    model.plugged = false;
    expect(r.fetchAt(100)).toBe(ERR_NACK);
    model.plugged = true;
    model.stuckMeasuring = true;
    const before = r.clock.us;
    expect(r.fetchAt(200)).toBe(ERR_TIMEOUT);
    expect((r.clock.us - 200_000) / 1000).toBeLessThan(9.3 + 1 + 0.2); // gave up after t_max + margin
    expect(r.clock.us).toBeGreaterThan(before);
    model.stuckMeasuring = false;
    model.stuck = true;
    expect(r.fetchAt(300)).toBe(OK);
    const t = r.exports.read(0);
    sig.T.value = 30;
    expect(r.fetchAt(400)).toBe(OK);
    expect(r.exports.read(0)).toBe(t);
  });
});

describe("SHT31 driver against its command model", () => {
  let sig = { T: new FixedSignal(0), RH: new FixedSignal(0) };
  const sht = (T: number, RH: number, address = 0x44) => {
    sig = { T: new FixedSignal(T), RH: new FixedSignal(RH) };
    return new Sht31Model({ address, temperature: sig.T, humidity: sig.RH });
  };

  it("computes the datasheet's CRC example (section 4.12: 0xBEEF -> 0x92) in driver and model", async () => {
    const r = await rig("drv_sht31.ts", [sht(20, 50)], 0x44);
    expect((r.exports.crc8 as (w: number) => number)(0xbeef)).toBe(0x92);
    expect(sht31Crc8([0xbe, 0xef])).toBe(0x92);
  });

  it("round-trips T and RH across the range within one count (T 175/65535, RH 100/65535)", async () => {
    const model = sht(0, 0);
    const r = await rig("drv_sht31.ts", [model], 0x44);
    expect(r.exports.setup()).toBe(OK);
    expect(channels(r)).toEqual(["temperature:degC", "humidity:%RH"]);
    for (const [T, RH] of [[-45, 0], [-40, 0.4], [-10.5, 12.3], [0, 33.3], [25.25, 50], [60, 81.7], [99.9, 99.9], [125, 100], [130, 100]]) {
      [sig.T.value, sig.RH.value] = [T, RH];
      const start = r.clock.us;
      r.clock.advanceUs(1000);
      expect(r.exports.fetch(r.clock.ms)).toBe(OK);
      expect(Math.abs(r.exports.read(0) - T)).toBeLessThanOrEqual(175 / 65535 / 2 + 1e-12);
      expect(Math.abs(r.exports.read(1) - RH)).toBeLessThanOrEqual(100 / 65535 / 2 + 1e-12);
      // The driver polled through NACKs for the measurement: typ 12.5 ms, max 15 ms (Table 4).
      const waitedMs = (r.clock.us - start) / 1000 - 1;
      expect(waitedMs).toBeGreaterThanOrEqual(12.5);
      expect(waitedMs).toBeLessThanOrEqual(15);
    }
  });

  it("catches every corrupted CRC byte value and every single-bit error in the reply", async () => {
    const model = sht(22, 44);
    const r = await rig("drv_sht31.ts", [model], 0x44);
    expect(r.exports.setup()).toBe(OK);
    let caught = 0, tried = 0;
    const attempt = (mask: number[]) => {
      model.corruptReply = mask;
      tried++;
      if (r.fetchAt(r.clock.ms + 20) === ERR_CHECKSUM) caught++;
    };
    for (const crcIndex of [2, 5]) for (let x = 1; x < 256; x++) attempt(Array.from({ length: 6 }, (_, i) => (i === crcIndex ? x : 0)));
    for (let bit = 0; bit < 48; bit++) attempt(Array.from({ length: 6 }, (_, i) => (i === bit >> 3 ? 1 << (bit & 7) : 0)));
    expect(caught).toBe(tried);
    model.corruptReply = null;
    expect(r.fetchAt(r.clock.ms + 20)).toBe(OK);
  });

  it("turns an absent, unplugged or stuck part into errors or frozen values", async () => {
    expect((await rig("drv_sht31.ts", [sht(20, 50, 0x45)], 0x44)).exports.setup()).toBe(ERR_NACK);
    expect((await rig("drv_sht31.ts", [sht(20, 50, 0x45)], 0x45)).exports.setup()).toBe(OK);
    expect((await rig("drv_sht31.ts", [sht(20, NaN)], 0x44)).exports.setup()).toBe(ERR_NACK);
    const model = sht(20, 50);
    const r = await rig("drv_sht31.ts", [model], 0x44);
    expect(r.exports.setup()).toBe(OK);
    model.plugged = false;
    expect(r.fetchAt(100)).toBe(ERR_NACK);
    model.plugged = true;
    expect(r.fetchAt(150)).toBe(OK);
    model.stuck = true;
    [sig.T.value, sig.RH.value] = [30, 70];
    expect(r.fetchAt(200)).toBe(OK);
    expect(Math.abs(r.exports.read(0) - 20)).toBeLessThan(0.002);
  });
});

describe("MPU-6050 driver against its register model", () => {
  let sig: FixedSignal[] = [];
  const mpu = (v: number[], extra: { whoAmI?: number; address?: number } = {}) => {
    sig = v.map((x) => new FixedSignal(x));
    const [ax, ay, az, gx, gy, gz, t] = sig;
    return new Mpu6050Model({ accelX: ax, accelY: ay, accelZ: az, gyroX: gx, gyroY: gy, gyroZ: gz, temperature: t, ...extra });
  };
  const AFS_G = [2, 4, 8, 16], FS_DPS = [250, 500, 1000, 2000];

  it("reads every full-scale setting within half an LSB, in m/s2, deg/s and degC", async () => {
    for (let a = 0; a < 4; a++) {
      for (let g = 0; g < 4; g++) {
        const fa = AFS_G[a] * STANDARD_GRAVITY, fg = FS_DPS[g];
        const truth = [0.9 * fa, -0.37 * fa, 0.01, -0.95 * fg, 0.123 * fg, 0, -12.5 + 10 * a + g];
        const model = mpu(truth);
        const r = await rig("drv_mpu6050.ts", [model], 0x68, a, g);
        expect(r.exports.setup()).toBe(OK);
        expect([model.accelRange, model.gyroRange, model.sleeping]).toEqual([a, g, false]);
        expect(r.fetchAt(10)).toBe(OK);
        for (let i = 0; i < 3; i++) {
          expect(Math.abs(r.exports.read(i) - truth[i])).toBeLessThanOrEqual((0.5 * STANDARD_GRAVITY) / ACCEL_LSB_PER_G[a] + 1e-12);
          expect(Math.abs(r.exports.read(3 + i) - truth[3 + i])).toBeLessThanOrEqual(0.5 / GYRO_LSB_PER_DPS[g] + 1e-12);
        }
        expect(Math.abs(r.exports.read(6) - truth[6])).toBeLessThanOrEqual(0.5 / 340 + 1e-12);
      }
    }
  });

  it("reports a saturated axis as missing, and NACK / WHO_AM_I / stuck faults", async () => {
    const over = mpu([3 * STANDARD_GRAVITY, 0, 9.8, 300, 0, 0, 25]);
    const r = await rig("drv_mpu6050.ts", [over], 0x68, 0, 0);
    expect(r.exports.setup()).toBe(OK);
    expect(r.fetchAt(10)).toBe(OK);
    expect(Number.isNaN(r.exports.read(0)) && Number.isNaN(r.exports.read(3))).toBe(true);
    expect(Math.abs(r.exports.read(2) - 9.8)).toBeLessThan(0.001);
    expect(channels(r)).toEqual(["accel_x:m/s2", "accel_y:m/s2", "accel_z:m/s2", "gyro_x:deg/s", "gyro_y:deg/s", "gyro_z:deg/s", "die_temperature:degC"]);

    expect((await rig("drv_mpu6050.ts", [mpu([0, 0, 0, 0, 0, 0, 25], { whoAmI: 0x70 })], 0x68, 0, 0)).exports.setup()).toBe(ERR_CHIP_ID);
    expect((await rig("drv_mpu6050.ts", [mpu([0, 0, 0, 0, 0, 0, 25], { address: 0x69 })], 0x68, 0, 0)).exports.setup()).toBe(ERR_NACK);
    expect((await rig("drv_mpu6050.ts", [mpu([0, 0, 0, 0, 0, 0, 25], { address: 0x69 })], 0x69, 0, 0)).exports.setup()).toBe(OK);
    const model = mpu([1, 2, 3, 4, 5, 6, 25]);
    const s = await rig("drv_mpu6050.ts", [model], 0x68, 1, 1);
    expect(s.exports.setup()).toBe(OK);
    expect(s.fetchAt(10)).toBe(OK);
    model.stuck = true;
    sig[0].value = -5;
    expect(s.fetchAt(20)).toBe(OK);
    expect(Math.abs(s.exports.read(0) - 1)).toBeLessThan(0.002);
    model.plugged = false;
    expect(s.fetchAt(30)).toBe(ERR_NACK);
  });
});

describe("BH1750 driver against its command model", () => {
  let sig = new FixedSignal(0);
  const bh = (lx: number, address = 0x23) => new Bh1750Model({ address, illuminance: (sig = new FixedSignal(lx)) });
  const modes = [
    { code: 0x10, res: "H", maxMs: 180 }, { code: 0x11, res: "H2", maxMs: 180 }, { code: 0x13, res: "L", maxMs: 24 },
    { code: 0x20, res: "H", maxMs: 180 }, { code: 0x21, res: "H2", maxMs: 180 }, { code: 0x23, res: "L", maxMs: 24 },
  ] as const;

  it("reads every mode at MTreg 31, 69 and 254 within half a count of its resolution", async () => {
    for (const mode of modes) {
      for (const mtreg of [31, 69, 254]) {
        const lxPerCount = (1 / COUNTS_PER_LX) * (69 / mtreg) / (mode.res === "H2" ? 2 : 1);
        const bound = (mode.res === "L" ? L_COUNT_STEP / 2 : 0.5) * lxPerCount;
        const maxMs = Math.ceil((mode.maxMs * mtreg) / 69);
        const model = bh(0);
        const r = await rig("drv_bh1750.ts", [model], 0x23, mode.code, mtreg);
        expect(r.exports.setup()).toBe(OK);
        expect(model.state.mtreg).toBe(mtreg);
        expect((r.exports.minIntervalMs as () => number)()).toBe(maxMs);
        let t = 0;
        for (const lx of [0, 0.7, 12.34, 480, 2500, 20000].filter((v) => v / lxPerCount < 65000)) {
          sig.value = lx;
          // One-time modes deliver the measurement started by the previous fetch: take two.
          for (let k = 0; k < (mode.code & 0x20 ? 2 : 1); k++) { t += maxMs + 1; expect(r.fetchAt(t)).toBe(OK); }
          expect(Math.abs(r.exports.read(0) - lx)).toBeLessThanOrEqual(bound + 1e-9);
          if (mode.code & 0x20) expect(model.state.measuring).toBe(true); // the next one was started
        }
      }
    }
  });

  it("waits for the measurement time instead of blocking, and one-time mode powers down", async () => {
    const model = bh(300);
    const r = await rig("drv_bh1750.ts", [model], 0x23, 0x20, 69);
    expect(r.exports.setup()).toBe(OK);
    expect(r.fetchAt(100)).toBe(ERR_NOT_READY); // max 180 ms at MTreg 69
    expect(r.fetchAt(181)).toBe(OK);
    expect(Math.abs(r.exports.read(0) - 300)).toBeLessThanOrEqual(0.5 / 1.2);
    expect(r.fetchAt(400)).toBe(OK);
    expect(model.state.powered).toBe(true); // measuring again
    r.clock.setMs(700);
    model.read(new Uint8Array(2), r.clock.us);
    expect(model.state).toEqual({ powered: false, mtreg: 69, measuring: false }); // one-time: powered down
    expect(channels(r)).toEqual(["illuminance:lx"]);
  });

  it("reconfigures at run time; saturation, bad MTreg, absence and stuck output are errors", async () => {
    const model = bh(100000);
    const r = await rig("drv_bh1750.ts", [model], 0x23, 0x10, 69);
    expect(r.exports.setup()).toBe(OK);
    expect(r.fetchAt(200)).toBe(ERR_RANGE); // 100000 lx * 1.2 counts/lx > 65535
    expect((r.exports.reconfigure as (m: number, t: number) => number)(0x13, 31)).toBe(OK);
    expect(model.state.mtreg).toBe(31);
    expect(r.fetchAt(220)).toBe(OK);
    expect(Math.abs(r.exports.read(0) - 100000)).toBeLessThanOrEqual((2 / 1.2) * (69 / 31));
    expect((r.exports.reconfigure as (m: number, t: number) => number)(0x10, 30)).toBe(ERR_INVALID);
    expect((r.exports.reconfigure as (m: number, t: number) => number)(0x12, 69)).toBe(ERR_INVALID);
    expect((await rig("drv_bh1750.ts", [bh(10, 0x5c)], 0x23, 0x10, 69)).exports.setup()).toBe(ERR_NACK);
    expect((await rig("drv_bh1750.ts", [bh(10, 0x5c)], 0x5c, 0x10, 69)).exports.setup()).toBe(OK);
    const dim = bh(50);
    const s = await rig("drv_bh1750.ts", [dim], 0x23, 0x10, 69);
    expect(s.exports.setup()).toBe(OK);
    expect(s.fetchAt(400)).toBe(OK);
    dim.stuck = true;
    sig.value = 800;
    expect(s.fetchAt(800)).toBe(OK);
    expect(Math.abs(s.exports.read(0) - 50)).toBeLessThanOrEqual(0.5 / 1.2);
    dim.plugged = false;
    expect(s.fetchAt(1000)).toBe(ERR_NACK);
  });
});

describe("model behaviour the drivers do not use", () => {
  it("SHT31 stretches the clock for the 0x2Cxx commands; BME280 normal mode refreshes the data registers", () => {
    const sht = new Sht31Model({ temperature: new FixedSignal(25), humidity: new FixedSignal(50), transactionUs: 0 });
    expect(sht.write(Uint8Array.of(0x2c, 0x06), 0)).toBe(OK);
    expect(sht.stretchUs(0)).toBe(12_500); // high repeatability, typical 12.5 ms (Table 4)
    const out = new Uint8Array(6);
    expect(sht.read(out, 12_500)).toBe(OK);
    expect(sht31Crc8(out.subarray(0, 2))).toBe(out[2]);
    expect(sht.read(out, 13_000)).toBe(ERR_NACK); // read once

    const T = new FixedSignal(20);
    const bme = new Bme280Model({ temperature: T, humidity: new FixedSignal(50), pressure: new FixedSignal(1000) });
    bme.write(Uint8Array.of(0xf2, 0x01, 0xf5, 0x00, 0xf4, (1 << 5) | (1 << 2) | 0b11), 0); // x1, t_sb 0.5 ms, normal
    const temp = (nowUs: number): number => {
      bme.write(Uint8Array.of(0xfa), nowUs);
      const b = new Uint8Array(3);
      bme.read(b, nowUs);
      return bme.compensation.temperature((b[0] << 12) | (b[1] << 4) | (b[2] >> 4)).t / 100;
    };
    expect(temp(9_000)).toBeCloseTo(20, 2); // first cycle done after 8 ms
    T.value = 30;
    expect(temp(9_200)).toBeCloseTo(20, 2); // the next cycle ends at 16.5 ms
    expect(temp(17_000)).toBeCloseTo(30, 2);
  });
});
