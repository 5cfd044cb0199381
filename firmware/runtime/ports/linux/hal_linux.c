/* The hardware-specific HAL for Linux: time (CLOCK_MONOTONIC), I2C through /dev/i2c-N (I2C_RDWR ioctl,
 * one transaction for write_read), GPIO through the GPIO character device (uAPI v2 line requests,
 * edge events), pulses timed by polling the line (microsecond-accurate only on an idle core), log to
 * stderr. ADC and chip sensors: a Raspberry Pi has none (ERR_UNSUPPORTED). Written against linux/gpio.h
 * (v2, Linux 5.10+) and linux/i2c-dev.h; the test machines have no GPIO chip or I2C bus, so
 * tests/linux/test_linux_hal.c checks the system calls it makes against a fake device (docs/runtime.md
 * "The Linux port's bus path"). Touches the lines and buses the module asks for. */
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hal_link.generated.h"
#include "port.h"

const char *iotfw_linux_i2c_prefix = "/dev/i2c-";
const char *iotfw_linux_gpiochip = "/dev/gpiochip0";
const char *iotfw_linux_board = "rpi";
uint32_t iotfw_linux_device_id;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
uint32_t iotfw_hal_time_ms(void) { return (uint32_t)(now_us() / 1000u); }
uint32_t iotfw_hal_time_us(void) { return (uint32_t)now_us(); }

/* ---- GPIO: one v2 line request per pin, re-requested when its mode or edge setting changes ---- */
#define PINS 64
static int line_fd1[PINS]; /* fd + 1 of each pin's line request; 0 = none */
#define LINE_FD(pin) (line_fd1[pin] - 1)
static int request_line(int32_t pin, uint64_t flags) {
  if (pin < 0 || pin >= PINS) return IOTFW_ERR_INVALID;
  if (LINE_FD(pin) >= 0) { close(LINE_FD(pin)); line_fd1[pin] = 0; }
  int chip = open(iotfw_linux_gpiochip, O_RDONLY | O_CLOEXEC);
  if (chip < 0) return IOTFW_ERR_BUS;
  struct gpio_v2_line_request req;
  memset(&req, 0, sizeof req);
  req.offsets[0] = (uint32_t)pin;
  req.num_lines = 1;
  req.config.flags = flags;
  req.event_buffer_size = 64;
  snprintf(req.consumer, sizeof req.consumer, "iotfw");
  int r = ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req);
  close(chip);
  if (r < 0) return IOTFW_ERR_INVALID;
  line_fd1[pin] = req.fd + 1;
  return IOTFW_OK;
}
int32_t iotfw_hal_gpio_mode(int32_t pin, int32_t mode) {
  static const uint64_t flags[4] = { GPIO_V2_LINE_FLAG_INPUT, GPIO_V2_LINE_FLAG_OUTPUT,
    GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_BIAS_PULL_UP, GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN };
  return mode < 0 || mode > 3 ? IOTFW_ERR_INVALID : request_line(pin, flags[mode]);
}
int32_t iotfw_hal_gpio_read(int32_t pin) {
  if (pin < 0 || pin >= PINS || LINE_FD(pin) < 0) return IOTFW_ERR_INVALID;
  struct gpio_v2_line_values v = { .mask = 1 };
  return ioctl(LINE_FD(pin), GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0 ? IOTFW_ERR_BUS : (int32_t)(v.bits & 1u);
}
int32_t iotfw_hal_gpio_write(int32_t pin, int32_t level) {
  if (pin < 0 || pin >= PINS || LINE_FD(pin) < 0) return IOTFW_ERR_INVALID;
  struct gpio_v2_line_values v = { .mask = 1, .bits = level ? 1u : 0u };
  return ioctl(LINE_FD(pin), GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0 ? IOTFW_ERR_BUS : IOTFW_OK;
}
int32_t iotfw_hal_gpio_watch(int32_t pin, int32_t edges) {
  uint64_t e = edges == IOTFW_EDGE_RISING ? GPIO_V2_LINE_FLAG_EDGE_RISING : edges == IOTFW_EDGE_FALLING ? GPIO_V2_LINE_FLAG_EDGE_FALLING
             : edges == IOTFW_EDGE_BOTH ? GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_EDGE_FALLING : 0;
  if (edges < 0 || edges > 3) return IOTFW_ERR_INVALID;
  return request_line(pin, GPIO_V2_LINE_FLAG_INPUT | e); /* the kernel queues time-stamped edges */
}
int32_t iotfw_hal_gpio_edges(int32_t pin, uint8_t *out, uint32_t max) {
  if (pin < 0 || pin >= PINS || LINE_FD(pin) < 0) return IOTFW_ERR_INVALID;
  int fl = fcntl(LINE_FD(pin), F_GETFL);
  fcntl(LINE_FD(pin), F_SETFL, fl | O_NONBLOCK);
  uint32_t n = 0;
  struct gpio_v2_line_event ev;
  while (n < max && read(LINE_FD(pin), &ev, sizeof ev) == (ssize_t)sizeof ev) {
    uint32_t pair[2] = { (uint32_t)(ev.timestamp_ns / 1000u), ev.id == GPIO_V2_LINE_EVENT_RISING_EDGE ? 1u : 0u };
    memcpy(out + 8 * n++, pair, 8); /* little-endian hosts (ARM, x86), as Wasm memory */
  }
  fcntl(LINE_FD(pin), F_SETFL, fl);
  return (int32_t)n;
}

int32_t iotfw_hal_adc_read(int32_t pin) { (void)pin; return IOTFW_ERR_UNSUPPORTED; }
int32_t iotfw_hal_sys_sensor_read(int32_t sensor) { (void)sensor; return IOTFW_ERR_UNSUPPORTED; }

/* ---- I2C through /dev/i2c-N (Linux Documentation/i2c/dev-interface.rst) ----
 * A bus exists for the module only after i2c_setup (docs/runtime.md "Bus setup"): the core calls it once
 * per bus before the first driver on it, and a transfer on a bus never set up is ERR_INVALID without a
 * system call, as on the ESP32 and in the simulator. */
#define I2C_BUSES 32         /* the drivers keep opened buses in a u32 bitmask (firmware/drivers/i2c.ts) */
#define I2C_FREQ_MAX 1000000u /* Fast-mode Plus, the fastest any contract implementation accepts */
#define I2C_MSG_MAX 8192u    /* i2c-dev refuses longer I2C_RDWR messages (drivers/i2c/i2c-dev.c) */
static int i2c_fd1[I2C_BUSES];   /* fd + 1 of each opened bus; 0 = not set up */
int32_t iotfw_hal_i2c_setup(int32_t bus, uint32_t freq_hz) {
  if (bus < 0 || bus >= I2C_BUSES || freq_hz == 0 || freq_hz > I2C_FREQ_MAX) return IOTFW_ERR_INVALID;
  /* Already open: OK, at any frequency. There is nothing to reconfigure: i2c-dev has no ioctl for the
   * clock, which is the kernel's (device tree, e.g. dtparam=i2c_arm_baudrate on a Raspberry Pi). */
  if (i2c_fd1[bus] > 0) return IOTFW_OK;
  char path[64];
  snprintf(path, sizeof path, "%s%d", iotfw_linux_i2c_prefix, (int)bus);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  /* No such device: the board lacks that bus (ERR_INVALID). EACCES and the rest: it has one we cannot open. */
  if (fd < 0) return errno == ENOENT || errno == ENODEV || errno == ENXIO ? IOTFW_ERR_INVALID : IOTFW_ERR_BUS;
  i2c_fd1[bus] = fd + 1;
  return IOTFW_OK;
}
/* Linux Documentation/i2c/fault-codes.rst: ENXIO = the address phase got no ACK, ETIMEDOUT = the
 * transfer took too long (e.g. clock stretching), EAGAIN = arbitration lost. Some adapters report any
 * NACK as EREMOTEIO (i2c-bcm2835, the Raspberry Pi's). Anything else is a bus fault. */
static int usable(int32_t bus, int32_t addr, uint32_t len0, uint32_t len1) {
  return bus >= 0 && bus < I2C_BUSES && i2c_fd1[bus] > 0 && addr >= 0 && addr <= 0x7F /* 7-bit only */ &&
         len0 <= I2C_MSG_MAX && len1 <= I2C_MSG_MAX;
}
static int32_t transfer(int32_t bus, struct i2c_msg *msgs, uint32_t n) {
  struct i2c_rdwr_ioctl_data d = { .msgs = msgs, .nmsgs = n };
  if (ioctl(i2c_fd1[bus] - 1, I2C_RDWR, &d) >= 0) return IOTFW_OK;
  return errno == ENXIO || errno == EREMOTEIO ? IOTFW_ERR_NACK : errno == ETIMEDOUT ? IOTFW_ERR_TIMEOUT : IOTFW_ERR_BUS;
}
int32_t iotfw_hal_i2c_write(int32_t bus, int32_t addr, uint8_t *data, uint32_t len) {
  if (!usable(bus, addr, len, 0)) return IOTFW_ERR_INVALID;
  struct i2c_msg m = { .addr = (uint16_t)addr, .flags = 0, .len = (uint16_t)len, .buf = data };
  return transfer(bus, &m, 1);
}
int32_t iotfw_hal_i2c_read(int32_t bus, int32_t addr, uint8_t *out, uint32_t len) {
  if (!usable(bus, addr, len, 0)) return IOTFW_ERR_INVALID;
  struct i2c_msg m = { .addr = (uint16_t)addr, .flags = I2C_M_RD, .len = (uint16_t)len, .buf = out };
  return transfer(bus, &m, 1);
}
int32_t iotfw_hal_i2c_write_read(int32_t bus, int32_t addr, uint8_t *data, uint32_t len, uint8_t *out, uint32_t out_len) {
  /* One I2C_RDWR with two messages: the kernel puts a repeated START between them, no STOP. */
  if (!usable(bus, addr, len, out_len)) return IOTFW_ERR_INVALID;
  struct i2c_msg m[2] = { { .addr = (uint16_t)addr, .flags = 0, .len = (uint16_t)len, .buf = data },
                          { .addr = (uint16_t)addr, .flags = I2C_M_RD, .len = (uint16_t)out_len, .buf = out } };
  return transfer(bus, m, 2);
}

/* ---- pulses by polling (a user-space approximation; see docs/runtime.md "Linux") ---- */
int32_t iotfw_hal_pulse_out(int32_t pin, int32_t level, uint32_t width_us) {
  if (iotfw_hal_gpio_write(pin, level) != IOTFW_OK) return IOTFW_ERR_INVALID;
  uint64_t end = now_us() + width_us;
  while (now_us() < end) {}
  return iotfw_hal_gpio_write(pin, !level);
}
static uint64_t wait_while(int32_t pin, int level, uint64_t deadline) {
  while (iotfw_hal_gpio_read(pin) == level) if (now_us() >= deadline) return 0;
  return now_us();
}
int32_t iotfw_hal_pulse_in(int32_t pin, int32_t level, uint32_t timeout_us) {
  uint64_t deadline = now_us() + timeout_us;
  uint64_t start = wait_while(pin, !level, deadline);
  if (!start) return IOTFW_ERR_TIMEOUT;
  uint64_t end = wait_while(pin, level, deadline);
  return end ? (int32_t)(end - start) : IOTFW_ERR_TIMEOUT;
}
int32_t iotfw_hal_pulse_train(int32_t pin, uint32_t start_low_us, uint8_t *out, uint32_t max, uint32_t timeout_us) {
  if (start_low_us > 0) {
    if (iotfw_hal_gpio_mode(pin, IOTFW_GPIO_OUTPUT) != IOTFW_OK) return IOTFW_ERR_INVALID;
    iotfw_hal_pulse_out(pin, 0, start_low_us);
  }
  if (iotfw_hal_gpio_mode(pin, IOTFW_GPIO_INPUT_PULLUP) != IOTFW_OK) return IOTFW_ERR_INVALID;
  uint32_t n = 0;
  int level = iotfw_hal_gpio_read(pin);
  uint64_t since = now_us();
  while (n < max) {
    uint64_t changed = wait_while(pin, level, since + timeout_us);
    if (!changed) break;
    uint32_t entry = (uint32_t)(changed - since) | (level ? IOTFW_PULSE_LEVEL_BIT : 0u);
    memcpy(out + 4 * n++, &entry, 4);
    level = !level;
    since = changed;
  }
  return n > 0 ? (int32_t)n : IOTFW_ERR_TIMEOUT;
}
int32_t iotfw_hal_pwm_read(int32_t pin, uint8_t *out) {
  /* One cycle measured in the foreground from kernel edge timestamps (no background capture here). */
  if (iotfw_hal_gpio_watch(pin, IOTFW_EDGE_BOTH) != IOTFW_OK) return IOTFW_ERR_INVALID;
  uint8_t ev[8 * 3];
  uint32_t got = 0;
  uint64_t deadline = now_us() + 2500000u; /* abi.json: 2.5 s */
  while (got < 3 && now_us() < deadline) { int32_t n = iotfw_hal_gpio_edges(pin, ev + 8 * got, 3 - got); if (n > 0) got += (uint32_t)n; else usleep(1000); }
  if (got < 3) return IOTFW_ERR_TIMEOUT;
  uint32_t t[3], lv0;
  for (int i = 0; i < 3; i++) memcpy(&t[i], ev + 8 * i, 4);
  memcpy(&lv0, ev + 4, 4);
  uint32_t first = t[1] - t[0], second = t[2] - t[1];
  uint32_t pair[2] = { lv0 ? first : second, lv0 ? second : first };
  memcpy(out, pair, 8);
  return IOTFW_OK;
}

int32_t iotfw_hal_log(int32_t level, uint8_t *text, uint32_t len) {
  static const char *names[] = { "error", "warn", "info", "debug" };
  fprintf(stderr, "iotfw %s: %.*s\n", names[level & 3], (int)len, (const char *)text);
  return IOTFW_OK;
}
uint32_t iotfw_hal_device_id(void) { return iotfw_linux_device_id; }
/* The kernel's pool (getrandom(2)); should it fail (a seccomp filter), time and pid still differ per boot. */
uint32_t iotfw_port_random32(void) {
  uint32_t v;
  if (getrandom(&v, sizeof v, 0) == (ssize_t)sizeof v) return v;
  return (uint32_t)now_us() ^ ((uint32_t)getpid() << 16);
}
int32_t iotfw_hal_board_name(uint8_t *out, uint32_t max) {
  uint32_t n = (uint32_t)strlen(iotfw_linux_board);
  if (n > max) n = max;
  memcpy(out, iotfw_linux_board, n);
  return (int32_t)n;
}
