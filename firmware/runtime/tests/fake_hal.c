/* The fake port the host tests link against: the port-specific HAL functions over a fake clock and
 * canned answers, so the port-independent core can run without hardware, ESP-IDF or Wasm3. */
#include <stdint.h>
#include <string.h>

#include "../hal_link.generated.h"
#include "check.h"

unsigned fake_now_ms;
char fake_last_log[256];
int fake_log_count;
const unsigned char *fake_i2c_data;
unsigned fake_i2c_len;

uint32_t iotfw_hal_time_ms(void) { return fake_now_ms; }
uint32_t iotfw_hal_time_us(void) { return fake_now_ms * 1000u; }
int32_t iotfw_hal_gpio_mode(int32_t pin, int32_t mode) { return pin < 40 && mode <= 3 ? IOTFW_OK : IOTFW_ERR_INVALID; }
int32_t iotfw_hal_gpio_read(int32_t pin) { return pin & 1; }
int32_t iotfw_hal_gpio_write(int32_t pin, int32_t level) { (void)pin; (void)level; return IOTFW_OK; }
int32_t iotfw_hal_gpio_watch(int32_t pin, int32_t edges) { (void)pin; (void)edges; return IOTFW_OK; }
int32_t iotfw_hal_gpio_edges(int32_t pin, uint8_t *out, uint32_t max) {
  (void)pin;
  if (max > 0) { memset(out, 0xAB, 8); return 1; }
  return 0;
}
int32_t iotfw_hal_adc_read(int32_t pin) { return pin * 10; }
int32_t iotfw_hal_sys_sensor_read(int32_t sensor) { return sensor == 0 ? 120 : IOTFW_ERR_UNSUPPORTED; }
int32_t iotfw_hal_i2c_setup(int32_t bus, uint32_t freq_hz) { (void)bus; return freq_hz == 100000u || freq_hz == 400000u ? IOTFW_OK : IOTFW_ERR_INVALID; }
int32_t iotfw_hal_i2c_write(int32_t bus, int32_t addr, uint8_t *data, uint32_t len) {
  (void)bus; (void)addr;
  fake_i2c_data = data; fake_i2c_len = len;
  return IOTFW_OK;
}
int32_t iotfw_hal_i2c_read(int32_t bus, int32_t addr, uint8_t *out, uint32_t len) {
  (void)bus;
  for (uint32_t i = 0; i < len; i++) out[i] = (uint8_t)(addr + (int32_t)i);
  return IOTFW_OK;
}
int32_t iotfw_hal_i2c_write_read(int32_t bus, int32_t addr, uint8_t *data, uint32_t len, uint8_t *out, uint32_t out_len) {
  (void)bus; (void)addr; (void)data; (void)len;
  memset(out, 0x5A, out_len);
  return IOTFW_OK;
}
int32_t iotfw_hal_pulse_out(int32_t pin, int32_t level, uint32_t width_us) { (void)pin; (void)level; (void)width_us; return IOTFW_OK; }
int32_t iotfw_hal_pulse_in(int32_t pin, int32_t level, uint32_t timeout_us) { (void)pin; (void)level; return (int32_t)(timeout_us / 2u); }
int32_t iotfw_hal_pulse_train(int32_t pin, uint32_t start_low_us, uint8_t *out, uint32_t max, uint32_t timeout_us) {
  (void)pin; (void)start_low_us; (void)timeout_us;
  memset(out, 0x11, (size_t)max * 4u);
  return (int32_t)max;
}
int32_t iotfw_hal_pwm_read(int32_t pin, uint8_t *out) { (void)pin; memset(out, 0x22, 8); return IOTFW_OK; }
int32_t iotfw_hal_log(int32_t level, uint8_t *text, uint32_t len) {
  (void)level;
  if (len >= sizeof fake_last_log) len = sizeof fake_last_log - 1;
  memcpy(fake_last_log, text, len);
  fake_last_log[len] = 0;
  fake_log_count++;
  return IOTFW_OK;
}
uint32_t iotfw_hal_device_id(void) { return 0x00C0FFEEu; }
/* Distinct and predictable: the tests check that each instance draws once. */
uint32_t fake_random_draws;
uint32_t iotfw_port_random32(void) { return 0xB0070000u + fake_random_draws++; }
int32_t iotfw_hal_board_name(uint8_t *out, uint32_t max) {
  static const char name[] = "esp32";
  uint32_t n = sizeof name - 1 < max ? (uint32_t)(sizeof name - 1) : max;
  memcpy(out, name, n);
  return (int32_t)n;
}
