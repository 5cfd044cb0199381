// Tests of the pulse/ADC/GPIO/chip drivers as compiled Wasm (firmware/tests/entries/drv_*.ts) against the
// simulator's models through HalHost: round trips within each part's quantisation, every fault a driver
// must turn into an error value, and the timing rules (ERR_TOO_SOON, ERR_NOT_READY).
import { describe, expect, it } from "vitest";
import { Status } from "../../simulator/hal/abi.generated.js";
import { emptyWiring } from "../../simulator/hal/host.js";
import { benchPinDrivers, loadDriverEntry, pinWiring, type DriverRig } from "../../tools/bench/drivers-pins.js";
import { Dht22Model } from "../../simulator/sensors/dht22/model.js";
import { HcSr04Model, speedOfSound } from "../../simulator/sensors/hcsr04/model.js";
import { Mhz19bModel, MHZ19B } from "../../simulator/sensors/mhz19b/model.js";
import { NtcModel, PotentiometerModel, SoundLevelModel, thermistorCelsius, type ThermistorCurve } from "../../simulator/sensors/analog/models.js";
import { ButtonModel } from "../../simulator/sensors/gpio/button.js";
import { JoystickModel } from "../../simulator/sensors/gpio/joystick.js";
import { Esp32ChipModel } from "../../simulator/sensors/chip/esp32.js";
import { FixedSignal, UnpluggedSignal } from "../../simulator/sensors/signal.js";

const E = "firmware/tests/entries";
const ERR_CHECKSUM = -10, ERR_RANGE = -12, ERR_PROTOCOL = -13, ERR_TOO_SOON = -14;

async function rigWith(entry: string, pins: Record<number, unknown>, use = 0): Promise<DriverRig> {
  const rig = await loadDriverEntry(`${E}/${entry}`, pinWiring(pins), 0);
  rig.exports.use?.(use);
  return rig;
}

describe("DHT22 driver against the AM2302 model", () => {
  const temperature = new FixedSignal(0);
  const humidity = new FixedSignal(0);
  const setupDht = async (opts: Partial<ConstructorParameters<typeof Dht22Model>[0]> = {}) => {
    const model = new Dht22Model({ temperature, humidity, seed: 7, jitterUs: 2, ...opts });
    const rig = await rigWith("drv_dht22.ts", { 4: model });
    expect(rig.exports.setup()).toBe(0);
    return { rig, model };
  };

  it("decodes T and RH within 0.05 (half of the 0.1 step), below zero too", async () => {
    const { rig } = await setupDht();
    const cases = [[25.34, 60.12], [-10.7, 45.5], [-0.1, 99.9], [79.9, 0], [-39.96, 5.25], [0.04, 33.33]];
    let t = 1000;
    for (const [tc, rh] of cases) {
      temperature.value = tc;
      humidity.value = rh;
      expect(rig.fetchAt(t), `${tc} degC ${rh} %RH`).toBe(0);
      expect(Math.abs(rig.exports.read(0) - tc)).toBeLessThanOrEqual(0.05 + 1e-9);
      expect(Math.abs(rig.exports.read(1) - rh)).toBeLessThanOrEqual(0.05 + 1e-9);
      t += 2000;
    }
    temperature.value = -10.7;
    rig.fetchAt(t);
    expect(rig.exports.read(0)).toBeCloseTo(-10.7, 9); // sign bit, not two's complement
  });

  it("catches a checksum error in every one of the 40 bits", async () => {
    const { rig, model } = await setupDht({ fault: "corruptChecksum" });
    temperature.value = 21.5;
    humidity.value = 40.2;
    for (let bit = 0; bit < 40; bit++) {
      model.corruptBit = bit;
      expect(rig.fetchAt(1000 + bit * 2000), `bit ${bit}`).toBe(ERR_CHECKSUM);
      expect(rig.exports.read(0)).toBeNaN();
    }
  });

  it("no answer, unplugged or a stuck line is ERR_TIMEOUT; a truncated train is ERR_PROTOCOL", async () => {
    const { rig, model } = await setupDht({ fault: "noAnswer" });
    temperature.value = 20;
    humidity.value = 50;
    expect(rig.fetchAt(1000)).toBe(Status.ERR_TIMEOUT);
    model.fault = "stuck";
    expect(rig.fetchAt(3000)).toBe(Status.ERR_TIMEOUT);
    model.fault = "truncated";
    expect(rig.fetchAt(5000)).toBe(ERR_PROTOCOL);
    model.truncateAfterBits = 39;
    expect(rig.fetchAt(7000)).toBe(ERR_PROTOCOL);
    model.fault = "none";
    expect(rig.fetchAt(9000)).toBe(0);

    const unplugged = await setupDht({ temperature: new UnpluggedSignal(new FixedSignal(20), { fromMs: 5000 }) });
    expect(unplugged.rig.fetchAt(1000)).toBe(0);
    expect(unplugged.rig.fetchAt(5000)).toBe(Status.ERR_TIMEOUT);
  });

  it("refuses reads within 1 s of setup and within 2 s of the last read", async () => {
    const { rig } = await setupDht();
    temperature.value = 20;
    humidity.value = 50;
    expect(rig.fetchAt(500)).toBe(ERR_TOO_SOON);
    expect(rig.fetchAt(1000)).toBe(0);
    expect(rig.fetchAt(2999)).toBe(ERR_TOO_SOON);
    expect(rig.fetchAt(3000)).toBe(0);
  });

  it("reads through the datasheet's full timing spread (jitter to the min/max limits)", async () => {
    const { rig } = await setupDht({ jitterUs: 50, seed: 99 }); // clipped to each level's min..max
    temperature.value = -5.5;
    humidity.value = 72.3;
    for (let i = 0; i < 50; i++) {
      expect(rig.fetchAt(1000 + i * 2000)).toBe(0);
      expect(rig.exports.read(0)).toBeCloseTo(-5.5, 9);
    }
  });
});

describe("HC-SR04 driver against the ranger model", () => {
  const distance = new FixedSignal(100);
  const air = new FixedSignal(20);
  const jitterUs = 1;
  const setupRanger = async (fault: "none" | "noAnswer" | "stuck" = "none") => {
    const model = new HcSr04Model({ distance, airTemperature: air, seed: 3, jitterUs, fault });
    const rig = await rigWith("drv_hcsr04.ts", { 12: model, 13: model });
    expect(rig.exports.setup()).toBe(0);
    return { rig, model };
  };
  // The width is whole us, off by the jitter (clipped at 3 sigma) plus 0.5 us rounding; d = w c / 2.
  const tolCm = (airC: number) => (3 * jitterUs + 0.5) * speedOfSound(airC) * 1e-4 / 2 + 1e-9;

  it("measures 2-400 cm within the microsecond resolution", async () => {
    const { rig } = await setupRanger();
    air.value = 20;
    let t = 0;
    for (const cm of [2.5, 10, 57.3, 100, 250, 399]) {
      distance.value = cm;
      expect(rig.fetchAt(t += 60), `${cm} cm`).toBe(0);
      expect(Math.abs(rig.exports.read(0) - cm), `${cm} cm`).toBeLessThanOrEqual(tolCm(20));
    }
  });

  it("compensates for air temperature when told it", async () => {
    const { rig } = await setupRanger();
    air.value = -10;
    distance.value = 200;
    expect(rig.fetchAt(60)).toBe(0);
    expect(Math.abs(rig.exports.read(0) - 200)).toBeGreaterThan(5); // 20 degC assumed: ~5 % off
    (rig.exports.airTemperature as (c: number) => void)(-10);
    expect(rig.fetchAt(120)).toBe(0);
    expect(Math.abs(rig.exports.read(0) - 200)).toBeLessThanOrEqual(tolCm(-10));
  });

  it("out of range is ERR_RANGE, no echo is ERR_TIMEOUT, and 60 ms between pings", async () => {
    const { rig, model } = await setupRanger();
    air.value = 20;
    distance.value = 1;
    expect(rig.fetchAt(60)).toBe(ERR_RANGE);
    distance.value = 420;
    expect(rig.fetchAt(120)).toBe(ERR_RANGE);
    distance.value = 600; // beyond reach: the module's 38 ms "no echo" pulse
    expect(rig.fetchAt(180)).toBe(Status.ERR_TIMEOUT);
    expect(rig.exports.read(0)).toBeNaN();
    distance.value = 100;
    expect(rig.fetchAt(239)).toBe(ERR_TOO_SOON);
    expect(rig.fetchAt(300)).toBe(0);
    model.fault = "noAnswer";
    expect(rig.fetchAt(400)).toBe(Status.ERR_TIMEOUT);
    model.fault = "stuck";
    expect(rig.fetchAt(500)).toBe(Status.ERR_TIMEOUT);
    distance.value = NaN; // unplugged
    model.fault = "none";
    expect(rig.fetchAt(600)).toBe(Status.ERR_TIMEOUT);
  });
});

describe("MH-Z19B driver against the PWM model", () => {
  const co2 = new FixedSignal(800);
  const jitterUs = 5;
  const setupCo2 = async (rangePpm: 2000 | 5000, cycleScale = 1, fault: "none" | "noAnswer" = "none") => {
    const model = new Mhz19bModel({ co2, rangePpm, cycleScale, phaseUs: 123_456, seed: 5, jitterUs, fault });
    const rig = await rigWith("drv_mhz19b.ts", { [rangePpm === 2000 ? 25 : 26]: model }, rangePpm === 2000 ? 0 : 1);
    rig.clock.setMs(1000);
    expect(rig.exports.setup()).toBe(0); // starts the capture
    return { rig, model };
  };
  // ppm = R (M s + dh) / (M + dl) with dh, dl within 3 sigma of jitter plus 1 us rounding each.
  const tolPpm = (range: number, scale: number) => (range * 2 * (3 * jitterUs + 1)) / (MHZ19B.middleUs * scale * 0.999);

  for (const range of [2000, 5000] as const) {
    it(`reads the ${range} ppm range through +-5 % cycle variation`, async () => {
      for (const scale of [0.96, 1, 1.04]) {
        const { rig } = await setupCo2(range, scale);
        co2.value = 800;
        expect(rig.fetchAt(1500)).toBe(Status.ERR_NOT_READY); // no complete cycle yet
        let t = 4000;
        for (const ppm of [0, 400, 1234, range * 0.999, range]) {
          co2.value = ppm;
          t += 3000; // the next complete cycle starts after the change
          expect(rig.fetchAt(t), `${ppm} ppm`).toBe(0);
          expect(Math.abs(rig.exports.read(0) - ppm), `${ppm} ppm scale ${scale}`).toBeLessThanOrEqual(tolPpm(range, scale));
        }
      }
    });
  }

  it("a dead line is ERR_NOT_READY, then ERR_TIMEOUT after 2.5 s", async () => {
    const { rig } = await setupCo2(2000, 1, "noAnswer");
    expect(rig.fetchAt(2000)).toBe(Status.ERR_NOT_READY);
    expect(rig.fetchAt(3600)).toBe(Status.ERR_TIMEOUT);
    expect(rig.exports.read(0)).toBeNaN();
  });
});

describe("analog drivers against ADC sources (12 bits)", () => {
  const FULL = 4095;
  const ntcBeta: ThermistorCurve = { kind: "beta", r0: 10000, t0C: 25, beta: 3950 };
  const ntcSh: ThermistorCurve = { kind: "steinhartHart", a: 1.009249522e-3, b: 2.378405444e-4, c: 2.019202697e-7 };
  /** The driver's temperature for an ideal (unrounded) count, as the firmware computes it. */
  const ntcCelsius = (curve: ThermistorCurve, counts: number, toGround: boolean) =>
    thermistorCelsius(curve, toGround ? 10000 * counts / (FULL - counts) : 10000 * (FULL - counts) / counts);

  it("potentiometer: percent within half an LSB; rails are readings unless wired as faults", async () => {
    const pos = new FixedSignal(0);
    const rig = await rigWith("drv_analog.ts", { 34: new PotentiometerModel(pos), 35: new PotentiometerModel(pos) }, 0);
    expect(rig.exports.setup()).toBe(0);
    for (const p of [0, 12.5, 50, 87.3, 100]) {
      pos.value = p;
      expect(rig.fetchAt(0)).toBe(0);
      expect(Math.abs(rig.exports.read(0) - p)).toBeLessThanOrEqual(0.5 * 100 / FULL + 1e-9);
    }
    rig.exports.use!(1);
    pos.value = 100;
    expect(rig.fetchAt(0)).toBe(ERR_RANGE);
    pos.value = 0;
    expect(rig.fetchAt(0)).toBe(ERR_RANGE);
    pos.value = 30;
    expect(rig.fetchAt(0)).toBe(0);
  });

  for (const [k, pin, curve, toGround] of [[2, 32, ntcBeta, true], [3, 33, ntcSh, false]] as const) {
    it(`NTC ${curve.kind}: degC within one LSB through the divider; open and short are ERR_RANGE`, async () => {
      const temp = new FixedSignal(25);
      const model = new NtcModel({ temperature: temp, curve, seriesOhms: 10000, ntcToGround: toGround });
      const rig = await rigWith("drv_analog.ts", { [pin]: model }, k);
      expect(rig.exports.setup()).toBe(0);
      for (const c of [-20, 0, 18.7, 25, 60, 100]) {
        temp.value = c;
        expect(rig.fetchAt(0), `${c} degC`).toBe(0);
        const ideal = model.fraction(0) * FULL;
        const tol = Math.max(Math.abs(ntcCelsius(curve, ideal - 0.5, toGround) - c), Math.abs(ntcCelsius(curve, ideal + 0.5, toGround) - c));
        expect(Math.abs(rig.exports.read(0) - c), `${c} degC`).toBeLessThanOrEqual(tol + 1e-9);
        expect(tol).toBeLessThan(0.5); // the check means something
      }
      temp.value = NaN; // open thermistor
      expect(rig.fetchAt(0)).toBe(ERR_RANGE);
      temp.value = 1000; // as good as a short
      expect(rig.fetchAt(0)).toBe(ERR_RANGE);
    });
  }

  it("sound level: dB through the calibration within one LSB; silence and clipping are ERR_RANGE", async () => {
    const level = new FixedSignal(50);
    const rig = await rigWith("drv_analog.ts", { 36: new SoundLevelModel({ level }) }, 4);
    expect(rig.exports.setup()).toBe(0);
    for (const db of [30, 47, 50, 53, 75, 90]) {
      level.value = db;
      expect(rig.fetchAt(0), `${db} dB`).toBe(0);
      const counts = 10 ** ((db - 80) / 20) / 3.3 * FULL;
      const tol = 20 * Math.log10(counts / (counts - 0.5));
      expect(Math.abs(rig.exports.read(0) - db), `${db} dB`).toBeLessThanOrEqual(tol + 1e-9);
    }
    level.value = 0;
    expect(rig.fetchAt(0)).toBe(ERR_RANGE);
    level.value = 100;
    expect(rig.fetchAt(0)).toBe(ERR_RANGE);
  });
});

describe("GPIO drivers: button with debounce, joystick", () => {
  it("a bouncing press and release give exactly one press and one release (20 seeds)", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const button = new ButtonModel({ seed, bounceUs: 8000, bounces: [3, 10] }).press(1_000_000).release(1_500_000);
      const rig = await rigWith("drv_gpio.ts", { 14: button }, 0);
      rig.clock.setMs(100);
      expect(rig.exports.setup()).toBe(0);
      expect(rig.exports.read(0)).toBe(0);
      let transitions = 0;
      const seen: number[] = [];
      for (let t = 110; t <= 2000; t += 10) {
        const n = rig.fetchAt(t);
        expect(n).toBeGreaterThanOrEqual(0);
        if (n > 0) seen.push(rig.exports.read(0));
        transitions += n;
        if (t === 1300) expect(rig.exports.read(0)).toBe(1);
      }
      expect(transitions, `seed ${seed}`).toBe(2);
      expect(seen).toEqual([1, 0]);
      expect((rig.exports.presses as () => number)()).toBe(1);
      expect((rig.exports.releases as () => number)()).toBe(1);
    }
  });

  it("a single fetch after both transitions still counts both; a tap shorter than 20 ms counts none", async () => {
    const both = await rigWith("drv_gpio.ts", { 14: new ButtonModel({ seed: 4 }).press(200_000).release(700_000) }, 0);
    expect(both.exports.setup()).toBe(0);
    expect(both.fetchAt(1000)).toBe(2);
    expect(both.exports.read(0)).toBe(0);

    const tap = await rigWith("drv_gpio.ts", { 14: new ButtonModel({ seed: 4, bounceUs: 1000 }).press(200_000).release(212_000) }, 0);
    expect(tap.exports.setup()).toBe(0);
    let n = 0;
    for (let t = 10; t <= 500; t += 5) n += tap.fetchAt(t);
    expect(n).toBe(0);
  });

  it("a welded (stuck) button reads pressed at setup and never changes", async () => {
    const rig = await rigWith("drv_gpio.ts", { 14: new ButtonModel({ fault: "stuck" }).press(200_000).release(400_000) }, 0);
    expect(rig.exports.setup()).toBe(0);
    expect(rig.exports.read(0)).toBe(1);
    expect(rig.fetchAt(1000)).toBe(0);
  });

  it("joystick: x and y in percent within half an LSB, the button as events", async () => {
    const x = new FixedSignal(25), y = new FixedSignal(75);
    const stick = new JoystickModel(x, y, { seed: 9 });
    stick.button.press(300_000).release(600_000);
    const wiring = emptyWiring();
    stick.wire(wiring, 34, 35, 27);
    const rig = await loadDriverEntry(`${E}/drv_gpio.ts`, wiring, 0);
    rig.exports.use!(1);
    expect(rig.exports.setup()).toBe(0);
    let events = 0;
    for (let t = 50; t <= 1000; t += 50) {
      x.value = (t / 10) % 100;
      const n = rig.fetchAt(t);
      expect(n).toBeGreaterThanOrEqual(0);
      events += n;
      expect(Math.abs(rig.exports.read(0) - x.value)).toBeLessThanOrEqual(0.5 * 100 / 4095 + 1e-9);
      expect(Math.abs(rig.exports.read(1) - 75)).toBeLessThanOrEqual(0.5 * 100 / 4095 + 1e-9);
      if (t === 400) expect(rig.exports.read(2)).toBe(1);
    }
    expect(events).toBe(2);
    expect(rig.exports.read(2)).toBe(0);
  });
});

describe("chip sensors", () => {
  it("die temperature from degF within half a degree F; Hall raw, negative included", async () => {
    const temp = new FixedSignal(45.3), hall = new FixedSignal(-12);
    const wiring = emptyWiring();
    wiring.chip = new Esp32ChipModel({ temperature: temp, hall });
    const rig = await loadDriverEntry(`${E}/drv_chip.ts`, wiring, 0);
    rig.exports.use!(0);
    expect(rig.exports.setup()).toBe(0);
    for (const c of [-10, 0, 45.3, 80]) {
      temp.value = c;
      expect(rig.fetchAt(0)).toBe(0);
      expect(Math.abs(rig.exports.read(0) - c)).toBeLessThanOrEqual(0.5 / 1.8 + 1e-9);
    }
    rig.exports.use!(1);
    expect(rig.exports.setup()).toBe(0);
    for (const h of [-12, 0, 37]) {
      hall.value = h;
      expect(rig.fetchAt(0)).toBe(0);
      expect(rig.exports.read(0)).toBe(h);
    }
  });

  it("a chip without them answers ERR_UNSUPPORTED, as a value", async () => {
    const noChip = await loadDriverEntry(`${E}/drv_chip.ts`, emptyWiring(), 0);
    const noHall = emptyWiring();
    noHall.chip = new Esp32ChipModel({ temperature: new FixedSignal(40) }); // an ESP32-S3: no Hall sensor
    const s3 = await loadDriverEntry(`${E}/drv_chip.ts`, noHall, 0);
    for (const k of [0, 1]) {
      noChip.exports.use!(k);
      expect(noChip.exports.setup()).toBe(Status.ERR_UNSUPPORTED);
      expect(noChip.fetchAt(0)).toBe(Status.ERR_UNSUPPORTED);
      expect(noChip.exports.read(0)).toBeNaN();
    }
    s3.exports.use!(1);
    expect(s3.exports.setup()).toBe(Status.ERR_UNSUPPORTED);
    expect(s3.fetchAt(0)).toBe(Status.ERR_UNSUPPORTED);
    s3.exports.use!(0);
    expect(s3.exports.setup()).toBe(0);
    expect(s3.fetchAt(0)).toBe(0);
  });
});

describe("pin-driver bench", () => {
  it("runs every driver through the simulator with only good reads", async () => {
    const rows = await benchPinDrivers(20);
    expect(rows.map((r) => r.name)).toEqual(["dht22 reads", "hcsr04 reads", "mhz19b reads", "potentiometer reads",
      "ntc-beta reads", "sound reads", "button reads", "chip-temperature reads"]);
    for (const r of rows) {
      expect(r.unit).toBe("reads/s");
      expect(r.value).toBeGreaterThan(0);
    }
  });
});
