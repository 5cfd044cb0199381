// motion: an MPU-6050 (acceleration, rotation, die temperature) sampled at 10 Hz and summarised over
// 10 s windows, and a push button sent at once as rare events. Pins are those of an ESP32 DevKitC.
import { attach, setFirmware, setSamplePeriod, setThreshold, setWindow } from "../../core";
import { Mpu6050, MPU6050_ACCEL_Z } from "../../drivers/mpu6050";
import { Button } from "../../drivers/gpio/button";
import { BUTTON_PIN, MPU6050_ADDRESS, MPU6050_BUS } from "./hardware"; // from app.json "hardware"; the button goes to GND (internal pull-up)

setFirmware("motion", "0.1.0");
setSamplePeriod(100);

const imu = attach(new Mpu6050(MPU6050_BUS, MPU6050_ADDRESS));
for (let ch = imu; ch < imu + 7; ch++) setWindow(ch, 10_000, 0);
// Free fall or a knock: |a_z| leaves 1 g by more than half a g.
setThreshold(imu + MPU6050_ACCEL_Z, 14.7, 4.9, 0.5);
// The button is polled every 20 ms, its debounce window (firmware/drivers/gpio/button.ts).
attach(new Button(BUTTON_PIN), 20);

export * from "../../core/entry";
