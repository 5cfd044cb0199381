/* The HAL functions of the contract that are hardware-specific, for ESP-IDF v5.x (ESP32, -C3, -S3):
 * time (esp_timer), GPIO and edge capture (GPIO ISR into a small ring per pin), ADC1 one-shot, I2C
 * master (legacy i2c driver API), pulse out/in/train (timed with esp_timer and interrupts held off for
 * the one-wire capture), PWM capture (edge ISR), chip sensors, log (UART0), identity, Wi-Fi station
 * with reconnect. UNVERIFIED HERE: no ESP-IDF or ESP32 on the test machines; it follows the ESP-IDF
 * v5.1 API reference. Touches the pins and buses the module asks for, UART0, Wi-Fi. */
#include <string.h>

#include "driver/gpio.h"
#include "driver/i2c.h"
#include "driver/uart.h"
#include "esp_adc/adc_oneshot.h"
#include "esp_event.h"
#include "esp_mac.h"
#include "esp_netif.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "lwip/netdb.h"
#include "lwip/sockets.h"
#include "nvs_flash.h"
#include "rom/ets_sys.h"
#include "soc/soc_caps.h"

#include "hal_link.generated.h"
#include "port.h"

#define PIN_COUNT 49 /* GPIO numbers up to 48 (ESP32-S3) */
#define EDGE_RING 32 /* per watched pin; older edges are dropped first, as the HAL doc says */

/* ---- time ---- */
uint32_t iotfw_hal_time_ms(void) { return (uint32_t)(esp_timer_get_time() / 1000); }
uint32_t iotfw_hal_time_us(void) { return (uint32_t)esp_timer_get_time(); }

/* ---- GPIO and edges ---- */
typedef struct { uint32_t t_us[EDGE_RING]; uint8_t level[EDGE_RING]; uint8_t head, count; int edges; uint32_t last_us, high_us, low_us; int pwm; } pin_watch_t;
static pin_watch_t watch[PIN_COUNT];
static portMUX_TYPE watch_lock = portMUX_INITIALIZER_UNLOCKED;

static void IRAM_ATTR edge_isr(void *arg) {
  int pin = (int)(intptr_t)arg;
  pin_watch_t *w = &watch[pin];
  uint32_t now = (uint32_t)esp_timer_get_time();
  int level = gpio_get_level(pin);
  portENTER_CRITICAL_ISR(&watch_lock);
  if (w->pwm) { if (level) w->low_us = now - w->last_us; else w->high_us = now - w->last_us; }
  w->last_us = now;
  uint8_t at = (uint8_t)((w->head + w->count) % EDGE_RING);
  w->t_us[at] = now; w->level[at] = (uint8_t)level;
  if (w->count < EDGE_RING) w->count++; else w->head = (uint8_t)((w->head + 1) % EDGE_RING);
  portEXIT_CRITICAL_ISR(&watch_lock);
}

static int valid_pin(int32_t pin) { return pin >= 0 && pin < PIN_COUNT && GPIO_IS_VALID_GPIO(pin); }

int32_t iotfw_hal_gpio_mode(int32_t pin, int32_t mode) {
  if (!valid_pin(pin) || mode < 0 || mode > 3) return IOTFW_ERR_INVALID;
  if (mode == IOTFW_GPIO_OUTPUT && !GPIO_IS_VALID_OUTPUT_GPIO(pin)) return IOTFW_ERR_INVALID;
  gpio_config_t c = { .pin_bit_mask = 1ULL << pin, .mode = mode == IOTFW_GPIO_OUTPUT ? GPIO_MODE_INPUT_OUTPUT : GPIO_MODE_INPUT,
                      .pull_up_en = mode == IOTFW_GPIO_INPUT_PULLUP, .pull_down_en = mode == IOTFW_GPIO_INPUT_PULLDOWN, .intr_type = GPIO_INTR_DISABLE };
  return gpio_config(&c) == ESP_OK ? IOTFW_OK : IOTFW_ERR_INVALID;
}
int32_t iotfw_hal_gpio_read(int32_t pin) { return valid_pin(pin) ? gpio_get_level(pin) : IOTFW_ERR_INVALID; }
int32_t iotfw_hal_gpio_write(int32_t pin, int32_t level) { return valid_pin(pin) && gpio_set_level(pin, level != 0) == ESP_OK ? IOTFW_OK : IOTFW_ERR_INVALID; }

static int32_t watch_pin(int32_t pin, int edges, int pwm) {
  if (!valid_pin(pin)) return IOTFW_ERR_INVALID;
  gpio_isr_handler_remove(pin);
  memset(&watch[pin], 0, sizeof watch[pin]);
  if (edges == IOTFW_EDGE_NONE) return gpio_set_intr_type(pin, GPIO_INTR_DISABLE) == ESP_OK ? IOTFW_OK : IOTFW_ERR_INVALID;
  watch[pin].edges = edges; watch[pin].pwm = pwm;
  gpio_int_type_t t = edges == IOTFW_EDGE_RISING ? GPIO_INTR_POSEDGE : edges == IOTFW_EDGE_FALLING ? GPIO_INTR_NEGEDGE : GPIO_INTR_ANYEDGE;
  if (gpio_set_intr_type(pin, t) != ESP_OK || gpio_isr_handler_add(pin, edge_isr, (void *)(intptr_t)pin) != ESP_OK) return IOTFW_ERR_BUS;
  return IOTFW_OK;
}
int32_t iotfw_hal_gpio_watch(int32_t pin, int32_t edges) { return edges < 0 || edges > 3 ? IOTFW_ERR_INVALID : watch_pin(pin, edges, 0); }
int32_t iotfw_hal_gpio_edges(int32_t pin, uint8_t *out, uint32_t max) {
  if (!valid_pin(pin)) return IOTFW_ERR_INVALID;
  pin_watch_t *w = &watch[pin];
  uint32_t n = 0;
  portENTER_CRITICAL(&watch_lock);
  for (; n < max && w->count > 0; n++) {
    uint32_t pair[2] = { w->t_us[w->head], w->level[w->head] };
    memcpy(out + 8 * n, pair, 8); /* Xtensa and RISC-V ESP32s are little-endian, as Wasm memory */
    w->head = (uint8_t)((w->head + 1) % EDGE_RING);
    w->count--;
  }
  portEXIT_CRITICAL(&watch_lock);
  return (int32_t)n;
}

/* ---- ADC (ADC1 only: ADC2 is unusable with Wi-Fi on; boards/*.json lists the ADC1 pins) ---- */
static adc_oneshot_unit_handle_t adc1;
int32_t iotfw_hal_adc_read(int32_t pin) {
  adc_unit_t unit; adc_channel_t ch;
  if (adc_oneshot_io_to_channel(pin, &unit, &ch) != ESP_OK || unit != ADC_UNIT_1) return IOTFW_ERR_INVALID;
  adc_oneshot_chan_cfg_t cfg = { .atten = ADC_ATTEN_DB_11, .bitwidth = ADC_BITWIDTH_DEFAULT };
  int raw;
  if (adc_oneshot_config_channel(adc1, ch, &cfg) != ESP_OK || adc_oneshot_read(adc1, ch, &raw) != ESP_OK) return IOTFW_ERR_BUS;
  return raw;
}
int32_t iotfw_hal_sys_sensor_read(int32_t sensor) {
  /* temprature_sens_read() and hall_sensor_read() were removed from ESP-IDF v5 (both ESP32-only);
     the temperature_sensor driver covers -C3/-S3 but not the ESP32. Not implemented: say so. */
  (void)sensor;
  return IOTFW_ERR_UNSUPPORTED;
}

/* ---- I2C master, legacy driver (driver/i2c.h, ESP-IDF v5.1) ----
 * A bus exists for the module only after i2c_setup (docs/runtime.md "Bus setup"): the core calls it once
 * per bus before the first driver on it. Only the buses of the board file are offered, on its pins:
 * bus 0 = CONFIG_IOTFW_I2C0_SDA/SCL (Kconfig.projbuild: the defaults are boards/<board>.json's). A
 * transfer on a bus never set up is ERR_INVALID without touching the controller. */
#define I2C_BUSES 1
static const int I2C_PINS[I2C_BUSES][2] = { { CONFIG_IOTFW_I2C0_SDA, CONFIG_IOTFW_I2C0_SCL } };
static uint32_t i2c_freq[I2C_BUSES]; /* the installed driver's clock; 0 = not set up */
#define I2C_TIMEOUT pdMS_TO_TICKS(50)
/* ESP-IDF i2c.h: ESP_FAIL = the slave did not ACK, ESP_ERR_TIMEOUT = the bus stayed busy, and
 * ESP_ERR_INVALID_STATE = no driver installed (cannot happen after the check below, kept as INVALID). */
static int32_t i2c_status(esp_err_t e) {
  return e == ESP_OK ? IOTFW_OK : e == ESP_FAIL ? IOTFW_ERR_NACK : e == ESP_ERR_TIMEOUT ? IOTFW_ERR_TIMEOUT
       : e == ESP_ERR_INVALID_STATE || e == ESP_ERR_INVALID_ARG ? IOTFW_ERR_INVALID : IOTFW_ERR_BUS;
}
int32_t iotfw_hal_i2c_setup(int32_t bus, uint32_t freq_hz) {
  /* ESP-IDF i2c_config_t.master.clk_speed: "no higher than 1MHz for now". */
  if (bus < 0 || bus >= I2C_BUSES || bus >= SOC_I2C_NUM || freq_hz == 0 || freq_hz > 1000000u) return IOTFW_ERR_INVALID;
  if (i2c_freq[bus] == freq_hz) return IOTFW_OK; /* idempotent: the driver stays as it is */
  i2c_config_t c = { .mode = I2C_MODE_MASTER, .sda_io_num = I2C_PINS[bus][0], .scl_io_num = I2C_PINS[bus][1],
                     .sda_pullup_en = GPIO_PULLUP_ENABLE, .scl_pullup_en = GPIO_PULLUP_ENABLE, .master.clk_speed = freq_hz };
  /* Another frequency: take the driver down and bring it up again in the documented order
   * (i2c_param_config, then i2c_driver_install), rather than retime a running controller. */
  if (i2c_freq[bus] != 0) { i2c_driver_delete(bus); i2c_freq[bus] = 0; }
  if (i2c_param_config(bus, &c) != ESP_OK) return IOTFW_ERR_INVALID;
  if (i2c_driver_install(bus, I2C_MODE_MASTER, 0, 0, 0) != ESP_OK) return IOTFW_ERR_BUS;
  i2c_freq[bus] = freq_hz;
  return IOTFW_OK;
}
static int i2c_ready(int32_t bus, int32_t addr) { return bus >= 0 && bus < I2C_BUSES && i2c_freq[bus] != 0 && addr >= 0 && addr <= 0x7F; }
int32_t iotfw_hal_i2c_write(int32_t bus, int32_t addr, uint8_t *data, uint32_t len) {
  if (!i2c_ready(bus, addr)) return IOTFW_ERR_INVALID;
  return i2c_status(i2c_master_write_to_device(bus, (uint8_t)addr, data, len, I2C_TIMEOUT));
}
int32_t iotfw_hal_i2c_read(int32_t bus, int32_t addr, uint8_t *out, uint32_t len) {
  if (!i2c_ready(bus, addr)) return IOTFW_ERR_INVALID;
  return i2c_status(i2c_master_read_from_device(bus, (uint8_t)addr, out, len, I2C_TIMEOUT));
}
int32_t iotfw_hal_i2c_write_read(int32_t bus, int32_t addr, uint8_t *data, uint32_t len, uint8_t *out, uint32_t out_len) {
  if (!i2c_ready(bus, addr)) return IOTFW_ERR_INVALID;
  return i2c_status(i2c_master_write_read_device(bus, (uint8_t)addr, data, len, out, out_len, I2C_TIMEOUT)); /* repeated START */
}

/* ---- pulses ---- */
int32_t iotfw_hal_pulse_out(int32_t pin, int32_t level, uint32_t width_us) {
  if (!valid_pin(pin) || width_us > 100000u) return IOTFW_ERR_INVALID;
  gpio_set_level(pin, level != 0);
  esp_rom_delay_us(width_us);
  gpio_set_level(pin, level == 0);
  return IOTFW_OK;
}
/* Wait while the pin is at `level` (or is not), up to deadline; returns the time it changed, or 0. */
static int64_t wait_level(int pin, int level, int is, int64_t deadline) {
  int64_t t;
  while (((gpio_get_level(pin) == level) == is) && (t = esp_timer_get_time()) < deadline) {}
  t = esp_timer_get_time();
  return t < deadline ? t : 0;
}
int32_t iotfw_hal_pulse_in(int32_t pin, int32_t level, uint32_t timeout_us) {
  if (!valid_pin(pin)) return IOTFW_ERR_INVALID;
  int64_t deadline = esp_timer_get_time() + timeout_us;
  int64_t start = wait_level(pin, level, 0, deadline); /* until it reaches level */
  if (!start) return IOTFW_ERR_TIMEOUT;
  int64_t end = wait_level(pin, level, 1, deadline);  /* while it stays there */
  return end ? (int32_t)(end - start) : IOTFW_ERR_TIMEOUT;
}
int32_t iotfw_hal_pulse_train(int32_t pin, uint32_t start_low_us, uint8_t *out, uint32_t max, uint32_t timeout_us) {
  if (!valid_pin(pin) || max == 0) return IOTFW_ERR_INVALID;
  if (start_low_us > 0) {
    gpio_set_direction(pin, GPIO_MODE_INPUT_OUTPUT_OD);
    gpio_set_level(pin, 0);
    esp_rom_delay_us(start_low_us);
    gpio_set_level(pin, 1); /* released: open drain + pull-up */
    gpio_set_pull_mode(pin, GPIO_PULLUP_ONLY);
  }
  uint32_t n = 0;
  portDISABLE_INTERRUPTS(); /* a DHT22 answer lasts ~5 ms: hold interrupts off so no level is missed */
  int level = gpio_get_level(pin);
  int64_t since = esp_timer_get_time();
  while (n < max) {
    int64_t changed = wait_level(pin, level, 1, since + timeout_us);
    if (!changed) break;
    uint32_t entry = (uint32_t)(changed - since) | (level ? IOTFW_PULSE_LEVEL_BIT : 0u);
    memcpy(out + 4 * n++, &entry, 4);
    level = !level;
    since = changed;
  }
  portENABLE_INTERRUPTS();
  return n > 0 ? (int32_t)n : IOTFW_ERR_TIMEOUT;
}
int32_t iotfw_hal_pwm_read(int32_t pin, uint8_t *out) {
  if (!valid_pin(pin)) return IOTFW_ERR_INVALID;
  pin_watch_t *w = &watch[pin];
  if (!w->pwm) { int32_t st = watch_pin(pin, IOTFW_EDGE_BOTH, 1); return st == IOTFW_OK ? IOTFW_ERR_NOT_READY : st; }
  portENTER_CRITICAL(&watch_lock);
  uint32_t high = w->high_us, low = w->low_us, last = w->last_us;
  portEXIT_CRITICAL(&watch_lock);
  if ((uint32_t)esp_timer_get_time() - last > 2500000u) return IOTFW_ERR_TIMEOUT; /* abi.json: 2.5 s */
  if (high == 0 || low == 0) return IOTFW_ERR_NOT_READY;
  uint32_t pair[2] = { high, low };
  memcpy(out, pair, 8);
  return IOTFW_OK;
}

/* ---- log, identity ---- */
void iotfw_port_uart_write(const uint8_t *bytes, size_t len) { uart_write_bytes(UART_NUM_0, bytes, len); }
int32_t iotfw_hal_log(int32_t level, uint8_t *text, uint32_t len) {
  static const char *names[] = { "E", "W", "I", "D" };
  printf("%s iotfw: %.*s\n", names[level & 3], (int)len, (const char *)text);
  return IOTFW_OK;
}
uint32_t iotfw_hal_device_id(void) {
  uint8_t mac[6];
  esp_efuse_mac_get_default(mac);
  return ((uint32_t)mac[2] << 24) | ((uint32_t)mac[3] << 16) | ((uint32_t)mac[4] << 8) | mac[5]; /* low 32 bits */
}
/* True random once the radio runs; before that the bootloader's entropy seeding still makes it differ per
 * boot (ESP-IDF "Random Number Generation"), which is all boot_id needs. */
uint32_t iotfw_port_random32(void) { return esp_random(); }
int32_t iotfw_hal_board_name(uint8_t *out, uint32_t max) {
  uint32_t n = (uint32_t)strlen(CONFIG_IOTFW_BOARD);
  if (n > max) n = max;
  memcpy(out, CONFIG_IOTFW_BOARD, n);
  return (int32_t)n;
}

/* ---- Wi-Fi station with reconnect ---- */
static volatile int wifi_up;
static void on_wifi(void *arg, esp_event_base_t base, int32_t id, void *data) {
  (void)arg; (void)data;
  if (base == WIFI_EVENT && (id == WIFI_EVENT_STA_START || id == WIFI_EVENT_STA_DISCONNECTED)) { wifi_up = 0; esp_wifi_connect(); }
  else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) wifi_up = 1;
}
int iotfw_port_wifi_up(void) { return wifi_up; }
int iotfw_port_tcp_connect(const char *host, int port) {
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
  char p[8];
  snprintf(p, sizeof p, "%d", port);
  if (getaddrinfo(host, p, &hints, &res) != 0 || res == NULL) return -1;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s >= 0 && connect(s, res->ai_addr, res->ai_addrlen) != 0) { close(s); s = -1; }
  freeaddrinfo(res);
  return s;
}

void iotfw_port_init(void) {
  uart_driver_install(UART_NUM_0, 1024, 1024, 0, NULL, 0);
  gpio_install_isr_service(0);
  adc_oneshot_unit_init_cfg_t adc_cfg = { .unit_id = ADC_UNIT_1 };
  adc_oneshot_new_unit(&adc_cfg, &adc1);
  if (strlen(CONFIG_IOTFW_WIFI_SSID) == 0) return; /* serial link only */
  if (nvs_flash_init() != ESP_OK) { nvs_flash_erase(); nvs_flash_init(); }
  esp_netif_init();
  esp_event_loop_create_default();
  esp_netif_create_default_wifi_sta();
  wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
  esp_wifi_init(&init);
  esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_wifi, NULL);
  esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_wifi, NULL);
  wifi_config_t cfg = { 0 };
  strncpy((char *)cfg.sta.ssid, CONFIG_IOTFW_WIFI_SSID, sizeof cfg.sta.ssid);
  strncpy((char *)cfg.sta.password, CONFIG_IOTFW_WIFI_PASSWORD, sizeof cfg.sta.password);
  esp_wifi_set_mode(WIFI_MODE_STA);
  esp_wifi_set_config(WIFI_IF_STA, &cfg);
  esp_wifi_start();
}
