// env-station: a city environment station. BME280 (temperature, humidity, pressure), SHT31 (a second,
// more accurate temperature/humidity), BH1750 (illuminance), MH-Z19B (CO2 over PWM) and an analog sound
// level, summarised over 60 s windows; alerts at once on CO2 and temperature. Wiring: app.json
// "hardware", the one place pins and addresses are declared: the simulator wires its models from it and
// "./hardware" is generated from it (host/build/hardware-module.ts). Pins are an ESP32 DevKitC's; bus 0
// is boards/esp32.json's SDA 21, SCL 22; the sound level's pin 34 is ADC1 channel 6, input only.
import { attach, setFirmware, setSamplePeriod, setThreshold, setWindow } from "../../core";
import { Bme280, BME280_TEMPERATURE } from "../../drivers/bme280";
import { Sht31 } from "../../drivers/sht31";
import { Bh1750 } from "../../drivers/bh1750";
import { Mhz19b } from "../../drivers/mhz19b/mhz19b";
import { SoundLevel } from "../../drivers/analog/sound";
import {
  BH1750_ADDRESS, BH1750_BUS, BME280_ADDRESS, BME280_BUS, MHZ19B_PIN, MHZ19B_RANGE_PPM, SHT31_ADDRESS, SHT31_BUS, SOUND_PIN,
} from "./hardware";

const WINDOW_MS: u32 = 60_000;

setFirmware("env-station", "0.1.0");
setSamplePeriod(1000);

const bme = attach(new Bme280(BME280_BUS, BME280_ADDRESS));
attach(new Sht31(SHT31_BUS, SHT31_ADDRESS));
attach(new Bh1750(BH1750_BUS, BH1750_ADDRESS));
// MH-Z19B: one PWM cycle is 1004 ms (datasheet v1.0, "PWM output"), so read it every 5 s.
const co2 = attach(new Mhz19b(MHZ19B_PIN, MHZ19B_RANGE_PPM), 5000);
attach(new SoundLevel(SOUND_PIN));

for (let ch = 0; ch < 8; ch++) setWindow(ch, WINDOW_MS, 0);
// Alerts: heat above 30 degC (clear below 29), frost below 0 degC; CO2 above 1000 ppm, the common
// indoor-air guideline (clear below 900).
setThreshold(bme + BME280_TEMPERATURE, 30, 0, 1);
setThreshold(co2, 1000, NaN, 100);

export * from "../../core/entry";
