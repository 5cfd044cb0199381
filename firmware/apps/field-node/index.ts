// field-node: an outdoor node with a DHT22 (temperature, humidity), an HC-SR04 (distance: a water or
// snow level), a potentiometer (a set point), and the ESP32's own die temperature and Hall sensor.
// Summaries every 5 minutes. Pins are those of an ESP32 DevKitC.
import { attach, setFirmware, setSamplePeriod, setThreshold, setWindow } from "../../core";
import { Dht22 } from "../../drivers/dht22/dht22";
import { HcSr04 } from "../../drivers/hcsr04/hcsr04";
import { Potentiometer } from "../../drivers/analog/potentiometer";
import { ChipTemperature, HallSensor } from "../../drivers/chip/chip";

import { DHT22_PIN, HCSR04_ECHO_PIN, HCSR04_TRIGGER_PIN, POTENTIOMETER_PIN } from "./hardware"; // from app.json "hardware"

setFirmware("field-node", "0.1.0");
setSamplePeriod(2000);   // the DHT22's minimum interval between reads (datasheet 7.4)

const air = attach(new Dht22(DHT22_PIN));
const level = attach(new HcSr04(HCSR04_TRIGGER_PIN, HCSR04_ECHO_PIN));
attach(new Potentiometer(POTENTIOMETER_PIN));
attach(new ChipTemperature(), 10_000);
attach(new HallSensor(), 10_000);

for (let ch = 0; ch < 7; ch++) setWindow(ch, 300_000, 0);
setThreshold(air, 35, -5, 1);       // heat and frost
setThreshold(level, NaN, 20, 5);    // the level came within 20 cm of the sensor

export * from "../../core/entry";
