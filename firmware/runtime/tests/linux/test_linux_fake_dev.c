/* A fake /dev for the Linux HAL test: hal_linux.c is linked with -Wl,--wrap=open,--wrap=close,
 * --wrap=ioctl,--wrap=read,--wrap=fcntl, so its system calls on /dev/i2c-N and /dev/gpiochip0 land here
 * (every other path and fd goes to the real call). The I2C bus holds a BME280 register model; the GPIO
 * chip records each line request (GPIO uAPI v2, linux/gpio.h) and serves levels and edge events.
 * Kernel facts used: i2c-dev's I2C_RDWR (Documentation/i2c/dev-interface.rst); a missing address gets
 * ENXIO (Documentation/i2c/fault-codes.rst). BME280 facts: BST-BME280-DS002 section 5.4.1 (chip id 0x60
 * at 0xD0), 6.2.1 (a write is register/data pairs), 6.2.2 (reads auto-increment the register).
 * Touches nothing real: no device node exists on the test machine. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test_linux_fake_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

int __real_open(const char *path, int flags, ...);
int __real_close(int fd);
int __real_ioctl(int fd, unsigned long request, ...);
ssize_t __real_read(int fd, void *buf, size_t n);
int __real_fcntl(int fd, int cmd, ...);

#define I2C_FD(bus) (1000 + (bus))
#define CHIP_FD 2000
#define LINE_FD(pin) (3000 + (pin))
#define IS_I2C_FD(fd) ((fd) >= 1000 && (fd) < 1032)
#define IS_LINE_FD(fd) ((fd) >= 3000 && (fd) < 3000 + FAKE_LINES)

int fake_opens, fake_syscalls, fake_i2c_rdwr_calls, fake_i2c_other_ioctls;
fake_msg_t fake_msgs[4];
unsigned fake_nmsgs;
int fake_next_errno;
uint8_t fake_bme280_regs[256];
static uint8_t reg_pointer;

uint64_t fake_line_flags[FAKE_LINES];
int fake_line_requests, fake_line_closes;
char fake_line_consumer[32];
int fake_line_level[FAKE_LINES];
static int line_fl[FAKE_LINES];
static struct gpio_v2_line_event events[FAKE_LINES][8];
static int event_count[FAKE_LINES];

void fake_reset(void) {
  fake_opens = fake_syscalls = fake_i2c_rdwr_calls = fake_i2c_other_ioctls = 0;
  fake_nmsgs = 0;
  fake_next_errno = 0;
  memset(fake_msgs, 0, sizeof fake_msgs);
  memset(fake_bme280_regs, 0, sizeof fake_bme280_regs);
  fake_bme280_regs[0xD0] = 0x60; /* chip id */
  fake_bme280_regs[0xF4] = 0x00; /* ctrl_meas after reset: sleep mode */
  reg_pointer = 0;
}

void fake_line_event(int pin, uint64_t timestamp_ns, int rising) {
  struct gpio_v2_line_event *e = &events[pin][event_count[pin]++];
  memset(e, 0, sizeof *e);
  e->timestamp_ns = timestamp_ns;
  e->id = rising ? GPIO_V2_LINE_EVENT_RISING_EDGE : GPIO_V2_LINE_EVENT_FALLING_EDGE;
  e->offset = (uint32_t)pin;
}

int __wrap_open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  unsigned mode = (flags & O_CREAT) ? va_arg(ap, unsigned) : 0u;
  va_end(ap);
  if (strncmp(path, "/dev/i2c-", 9) == 0) {
    fake_syscalls++; fake_opens++;
    int bus = path[9] - '0';
    if (bus == FAKE_BUS && path[10] == 0) return I2C_FD(bus);
    if (bus == 4 && path[10] == 0) { errno = EACCES; return -1; }
    errno = ENOENT;
    return -1;
  }
  if (strcmp(path, "/dev/gpiochip0") == 0) { fake_syscalls++; fake_opens++; return CHIP_FD; }
  if (strncmp(path, "/dev/", 5) == 0) { errno = ENOENT; return -1; } /* nothing real under /dev is touched */
  return __real_open(path, flags, mode);
}

int __wrap_close(int fd) {
  if (IS_I2C_FD(fd) || fd == CHIP_FD) { fake_syscalls++; return 0; }
  if (IS_LINE_FD(fd)) { fake_syscalls++; fake_line_closes++; fake_line_flags[fd - 3000] = 0; return 0; }
  return __real_close(fd);
}

/* The BME280 on the wire: a write sets the register pointer, then writes register/data pairs. */
static void bme280_write(const uint8_t *d, uint16_t len) {
  if (len == 0) return;
  reg_pointer = d[0];
  if (len >= 2) fake_bme280_regs[d[0]] = d[1];
  for (uint16_t i = 2; i + 1 < len; i += 2) fake_bme280_regs[d[i]] = d[i + 1];
}
static void bme280_read(uint8_t *d, uint16_t len) {
  for (uint16_t i = 0; i < len; i++) d[i] = fake_bme280_regs[(uint8_t)(reg_pointer + i)];
  reg_pointer = (uint8_t)(reg_pointer + len);
}

static int i2c_rdwr(struct i2c_rdwr_ioctl_data *d) {
  fake_i2c_rdwr_calls++;
  fake_nmsgs = d->nmsgs;
  for (unsigned i = 0; i < d->nmsgs && i < 4; i++) {
    fake_msgs[i].addr = d->msgs[i].addr; fake_msgs[i].flags = d->msgs[i].flags; fake_msgs[i].len = d->msgs[i].len;
    if (!(d->msgs[i].flags & I2C_M_RD)) memcpy(fake_msgs[i].data, d->msgs[i].buf, d->msgs[i].len < 64 ? d->msgs[i].len : 64);
  }
  if (fake_next_errno) { errno = fake_next_errno; fake_next_errno = 0; return -1; }
  for (unsigned i = 0; i < d->nmsgs; i++) if (d->msgs[i].addr != FAKE_BME280) { errno = ENXIO; return -1; }
  for (unsigned i = 0; i < d->nmsgs; i++) {
    if (d->msgs[i].flags & I2C_M_RD) bme280_read(d->msgs[i].buf, d->msgs[i].len);
    else bme280_write(d->msgs[i].buf, d->msgs[i].len);
  }
  return (int)d->nmsgs; /* i2c-dev returns the number of messages transferred */
}

int __wrap_ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (IS_I2C_FD(fd)) {
    fake_syscalls++;
    if (request == I2C_RDWR) return i2c_rdwr(arg);
    fake_i2c_other_ioctls++;
    errno = ENOTTY;
    return -1;
  }
  if (fd == CHIP_FD && request == GPIO_V2_GET_LINE_IOCTL) {
    fake_syscalls++;
    struct gpio_v2_line_request *req = arg;
    if (req->num_lines != 1 || req->offsets[0] >= FAKE_LINES) { errno = EINVAL; return -1; }
    int pin = (int)req->offsets[0];
    fake_line_requests++;
    fake_line_flags[pin] = req->config.flags;
    memcpy(fake_line_consumer, req->consumer, sizeof fake_line_consumer);
    fake_line_consumer[sizeof fake_line_consumer - 1] = 0;
    event_count[pin] = 0;
    line_fl[pin] = O_RDONLY;
    req->fd = LINE_FD(pin);
    return 0;
  }
  if (IS_LINE_FD(fd)) {
    fake_syscalls++;
    int pin = fd - 3000;
    struct gpio_v2_line_values *v = arg;
    if (request == GPIO_V2_LINE_GET_VALUES_IOCTL) { v->bits = (uint64_t)(fake_line_level[pin] & 1) & v->mask; return 0; }
    if (request == GPIO_V2_LINE_SET_VALUES_IOCTL) {
      if (!(fake_line_flags[pin] & GPIO_V2_LINE_FLAG_OUTPUT)) { errno = EPERM; return -1; } /* the kernel refuses inputs */
      if (v->mask & 1u) fake_line_level[pin] = (int)(v->bits & 1u);
      return 0;
    }
    errno = ENOTTY;
    return -1;
  }
  if (fd == CHIP_FD) { fake_syscalls++; errno = ENOTTY; return -1; }
  return __real_ioctl(fd, request, arg);
}

ssize_t __wrap_read(int fd, void *buf, size_t n) {
  if (!IS_LINE_FD(fd)) return __real_read(fd, buf, n);
  fake_syscalls++;
  int pin = fd - 3000;
  if (event_count[pin] == 0) {
    if (!(line_fl[pin] & O_NONBLOCK)) { errno = EDEADLK; return -1; } /* a real read would block for ever */
    errno = EAGAIN;
    return -1;
  }
  if (n < sizeof events[0][0]) { errno = EINVAL; return -1; }
  memcpy(buf, &events[pin][0], sizeof events[0][0]);
  memmove(&events[pin][0], &events[pin][1], sizeof events[0][0] * (size_t)--event_count[pin]);
  return (ssize_t)sizeof events[0][0];
}

int __wrap_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  int arg = va_arg(ap, int);
  va_end(ap);
  if (!IS_LINE_FD(fd)) return __real_fcntl(fd, cmd, arg);
  fake_syscalls++;
  if (cmd == F_GETFL) return line_fl[fd - 3000];
  if (cmd == F_SETFL) { line_fl[fd - 3000] = arg; return 0; }
  errno = EINVAL;
  return -1;
}
