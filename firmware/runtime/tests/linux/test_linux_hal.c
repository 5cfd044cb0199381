/* Host test of the Linux port's bus path and state file: hal_linux.c's I2C and GPIO functions against
 * the fake /dev of test_linux_fake_dev.c (system calls checked one by one), and ports/linux/state.c's
 * boot accounting (one watchdog exit counts once). Built and run by tests/linux-hal.test.ts:
 *   gcc ... -Wl,--wrap=open,--wrap=close,--wrap=ioctl,--wrap=read,--wrap=fcntl  <state-dir>
 * Prints failures and "N passed, N failed". Touches only files in the directory it is given. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/gpio.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "hal_link.generated.h"
#include "ports/linux/port.h"
#include "ports/linux/state.h"
#include "test_linux_fake_dev.h"

int check_passed, check_failed;

static void test_i2c_setup(void) {
  fake_reset();
  uint8_t reg = 0xD0, id = 0;
  /* Never set up: refused before any system call. */
  CHECK_EQ(iotfw_hal_i2c_write(FAKE_BUS, FAKE_BME280, &reg, 1), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_read(FAKE_BUS, FAKE_BME280, &id, 1), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_write_read(FAKE_BUS, FAKE_BME280, &reg, 1, &id, 1), IOTFW_ERR_INVALID);
  CHECK_EQ(fake_syscalls, 0);
  /* Frequencies outside (0, 1 MHz] and buses the board lacks. */
  CHECK_EQ(iotfw_hal_i2c_setup(FAKE_BUS, 0), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_setup(FAKE_BUS, 1000001u), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_setup(-1, 400000), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_setup(32, 400000), IOTFW_ERR_INVALID);
  CHECK_EQ(fake_syscalls, 0);
  CHECK_EQ(iotfw_hal_i2c_setup(3, 400000), IOTFW_ERR_INVALID); /* /dev/i2c-3: ENOENT */
  CHECK_EQ(iotfw_hal_i2c_setup(4, 400000), IOTFW_ERR_BUS);     /* /dev/i2c-4: EACCES */
  CHECK_EQ(iotfw_hal_i2c_write(3, FAKE_BME280, &reg, 1), IOTFW_ERR_INVALID);
  CHECK_EQ(fake_opens, 2);
  /* Set up: one open; again at the same or another frequency: OK, no second open. */
  CHECK_EQ(iotfw_hal_i2c_setup(FAKE_BUS, 400000), IOTFW_OK);
  CHECK_EQ(iotfw_hal_i2c_setup(FAKE_BUS, 400000), IOTFW_OK);
  CHECK_EQ(iotfw_hal_i2c_setup(FAKE_BUS, 100000), IOTFW_OK);
  CHECK_EQ(iotfw_hal_i2c_setup(FAKE_BUS, 1000000u), IOTFW_OK);
  CHECK_EQ(fake_opens, 3);
  CHECK_EQ(fake_i2c_other_ioctls, 0);
}

static void test_i2c_transfers(void) {
  /* The bus stays set up from test_i2c_setup (the HAL keeps it for the process, as a board does). */
  fake_reset();
  uint8_t reg = 0xD0, out[8] = { 0 };
  /* write_read: ONE I2C_RDWR, two messages (repeated START): write the register, read the id. */
  CHECK_EQ(iotfw_hal_i2c_write_read(FAKE_BUS, FAKE_BME280, &reg, 1, out, 1), IOTFW_OK);
  CHECK_EQ(fake_i2c_rdwr_calls, 1);
  CHECK_EQ(fake_nmsgs, 2);
  CHECK_EQ(fake_msgs[0].addr, 0x76); CHECK_EQ(fake_msgs[0].flags, 0); CHECK_EQ(fake_msgs[0].len, 1); CHECK_EQ(fake_msgs[0].data[0], 0xD0);
  CHECK_EQ(fake_msgs[1].addr, 0x76); CHECK_EQ(fake_msgs[1].flags, I2C_M_RD); CHECK_EQ(fake_msgs[1].len, 1);
  CHECK_EQ(out[0], 0x60);
  /* write: one message, no read flag; register/data pairs reach the registers (ctrl_meas = 0x27). */
  uint8_t cfg[2] = { 0xF4, 0x27 };
  CHECK_EQ(iotfw_hal_i2c_write(FAKE_BUS, FAKE_BME280, cfg, 2), IOTFW_OK);
  CHECK_EQ(fake_nmsgs, 1); CHECK_EQ(fake_msgs[0].flags, 0); CHECK_EQ(fake_msgs[0].len, 2);
  CHECK_EQ(fake_bme280_regs[0xF4], 0x27);
  /* read: one message with I2C_M_RD, from the pointer the last write left (auto-increment). */
  fake_bme280_regs[0xF7] = 0x65; fake_bme280_regs[0xF8] = 0x5A; fake_bme280_regs[0xF9] = 0xC0;
  reg = 0xF7;
  CHECK_EQ(iotfw_hal_i2c_write(FAKE_BUS, FAKE_BME280, &reg, 1), IOTFW_OK);
  CHECK_EQ(iotfw_hal_i2c_read(FAKE_BUS, FAKE_BME280, out, 3), IOTFW_OK);
  CHECK_EQ(fake_nmsgs, 1); CHECK_EQ(fake_msgs[0].flags, I2C_M_RD); CHECK_EQ(fake_msgs[0].len, 3);
  CHECK(out[0] == 0x65 && out[1] == 0x5A && out[2] == 0xC0);
  CHECK_EQ(fake_i2c_rdwr_calls, 4);
  /* Faults: nobody at the address (ENXIO), a data NACK as i2c-bcm2835 reports it (EREMOTEIO), a
   * timeout (ETIMEDOUT), lost arbitration (EAGAIN) and a plain I/O error. */
  CHECK_EQ(iotfw_hal_i2c_write_read(FAKE_BUS, 0x77, &reg, 1, out, 1), IOTFW_ERR_NACK);
  CHECK_EQ(fake_msgs[0].addr, 0x77);
  fake_next_errno = EREMOTEIO; CHECK_EQ(iotfw_hal_i2c_write(FAKE_BUS, FAKE_BME280, &reg, 1), IOTFW_ERR_NACK);
  fake_next_errno = ETIMEDOUT; CHECK_EQ(iotfw_hal_i2c_read(FAKE_BUS, FAKE_BME280, out, 1), IOTFW_ERR_TIMEOUT);
  fake_next_errno = EAGAIN; CHECK_EQ(iotfw_hal_i2c_read(FAKE_BUS, FAKE_BME280, out, 1), IOTFW_ERR_BUS);
  fake_next_errno = EIO; CHECK_EQ(iotfw_hal_i2c_write_read(FAKE_BUS, FAKE_BME280, &reg, 1, out, 1), IOTFW_ERR_BUS);
  /* Refused without a system call: 10-bit or negative addresses, messages i2c-dev would refuse. */
  int before = fake_syscalls;
  CHECK_EQ(iotfw_hal_i2c_write(FAKE_BUS, 0x80, &reg, 1), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_read(FAKE_BUS, -1, out, 1), IOTFW_ERR_INVALID);
  static uint8_t big[8193];
  CHECK_EQ(iotfw_hal_i2c_write(FAKE_BUS, FAKE_BME280, big, sizeof big), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_i2c_write_read(FAKE_BUS, FAKE_BME280, &reg, 1, big, sizeof big), IOTFW_ERR_INVALID);
  CHECK_EQ(fake_syscalls, before);
  CHECK_EQ(fake_i2c_other_ioctls, 0);
}

static void test_gpio(void) {
  fake_reset();
  /* Never requested: refused without a system call. */
  CHECK_EQ(iotfw_hal_gpio_read(5), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_gpio_write(5, 1), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_gpio_mode(64, IOTFW_GPIO_INPUT), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_hal_gpio_mode(5, 4), IOTFW_ERR_INVALID);
  CHECK_EQ(fake_syscalls, 0);
  /* One GPIO_V2_GET_LINE_IOCTL per mode, with the uAPI v2 flags of that mode. */
  static const struct { int32_t mode; uint64_t flags; } modes[] = {
    { IOTFW_GPIO_INPUT, GPIO_V2_LINE_FLAG_INPUT },
    { IOTFW_GPIO_OUTPUT, GPIO_V2_LINE_FLAG_OUTPUT },
    { IOTFW_GPIO_INPUT_PULLUP, GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_BIAS_PULL_UP },
    { IOTFW_GPIO_INPUT_PULLDOWN, GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN },
  };
  for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    CHECK_EQ(iotfw_hal_gpio_mode(5, modes[i].mode), IOTFW_OK);
    CHECK_EQ(fake_line_flags[5], modes[i].flags);
  }
  CHECK_EQ(fake_line_requests, 4);
  CHECK_EQ(fake_line_closes, 3); /* each new mode releases the previous request */
  CHECK(strcmp(fake_line_consumer, "iotfw") == 0);
  /* Levels through the line fd; writing an input is the kernel's EPERM -> ERR_BUS. */
  fake_line_level[5] = 1;
  CHECK_EQ(iotfw_hal_gpio_read(5), 1);
  CHECK_EQ(iotfw_hal_gpio_write(5, 0), IOTFW_ERR_BUS);
  CHECK_EQ(iotfw_hal_gpio_mode(6, IOTFW_GPIO_OUTPUT), IOTFW_OK);
  CHECK_EQ(iotfw_hal_gpio_write(6, 1), IOTFW_OK);
  CHECK_EQ(fake_line_level[6], 1);
  CHECK_EQ(iotfw_hal_gpio_write(6, 0), IOTFW_OK);
  CHECK_EQ(fake_line_level[6], 0);
  /* Edges: the request carries the edge flags; events come back as (us, level) pairs, non-blocking. */
  CHECK_EQ(iotfw_hal_gpio_watch(7, IOTFW_EDGE_BOTH), IOTFW_OK);
  CHECK_EQ(fake_line_flags[7], GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_EDGE_FALLING);
  CHECK_EQ(iotfw_hal_gpio_watch(8, IOTFW_EDGE_RISING), IOTFW_OK);
  CHECK_EQ(fake_line_flags[8], GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING);
  CHECK_EQ(iotfw_hal_gpio_watch(8, IOTFW_EDGE_FALLING), IOTFW_OK);
  CHECK_EQ(fake_line_flags[8], GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_FALLING);
  CHECK_EQ(iotfw_hal_gpio_watch(8, 4), IOTFW_ERR_INVALID);
  fake_line_event(7, 5000000000ull, 1);
  fake_line_event(7, 5000250000ull, 0);
  uint8_t ev[8 * 4];
  uint32_t pair[4];
  CHECK_EQ(iotfw_hal_gpio_edges(7, ev, 4), 2);
  memcpy(pair, ev, sizeof pair);
  CHECK_EQ(pair[0], 5000000u); CHECK_EQ(pair[1], 1u);
  CHECK_EQ(pair[2], 5000250u); CHECK_EQ(pair[3], 0u);
  CHECK_EQ(iotfw_hal_gpio_edges(7, ev, 4), 0); /* none left: EAGAIN, not a blocked read */
}

/* The state file: how the last process ended is counted exactly once at the next start. */
static void test_state(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/reset.state", dir);
  remove(path);
  iotfw_reset_record_t rec;
  memset(&rec, 0xAB, sizeof rec);
  CHECK_EQ(iotfw_linux_state_boot(path, &rec), IOTFW_RESET_POWER_ON); /* first start */
  CHECK_EQ(iotfw_reset_record_info(&rec), IOTFW_RESET_POWER_ON);
  uint32_t last = 0;
  iotfw_reset_record_t seen;
  CHECK(iotfw_linux_state_load(path, &seen, &last) && last == IOTFW_LINUX_EXIT_RUNNING);
  /* A watchdog exit (main.c on_alarm) says so without touching the record: the boot counts it once. */
  CHECK_EQ(iotfw_linux_state_save(path, &rec, IOTFW_RESET_WATCHDOG), 0);
  CHECK_EQ(iotfw_linux_state_boot(path, &rec), IOTFW_RESET_WATCHDOG);
  CHECK_EQ(iotfw_reset_record_info(&rec), (1u << 8) | IOTFW_RESET_WATCHDOG);
  /* A deploy in that process (the runtime notes REMOTE and main.c saves it), then a second watchdog exit. */
  iotfw_reset_record_note(&rec, IOTFW_RESET_REMOTE);
  iotfw_linux_state_save(path, &rec, IOTFW_LINUX_EXIT_RUNNING);
  iotfw_linux_state_save(path, &rec, IOTFW_RESET_WATCHDOG);
  iotfw_linux_state_boot(path, &rec);
  CHECK_EQ(iotfw_reset_record_info(&rec), (3u << 8) | IOTFW_RESET_WATCHDOG);
  /* A crash of the runtime itself counts as a trap. */
  iotfw_linux_state_save(path, &rec, IOTFW_RESET_TRAP);
  iotfw_linux_state_boot(path, &rec);
  CHECK_EQ(iotfw_reset_record_info(&rec), (4u << 8) | IOTFW_RESET_TRAP);
  /* A clean stop (SIGTERM) and an unseen death (the file still says RUNNING) start afresh. */
  iotfw_linux_state_save(path, &rec, IOTFW_RESET_POWER_ON);
  iotfw_linux_state_boot(path, &rec);
  CHECK_EQ(iotfw_reset_record_info(&rec), IOTFW_RESET_POWER_ON);
  iotfw_reset_record_note(&rec, IOTFW_RESET_TRAP);
  iotfw_linux_state_save(path, &rec, IOTFW_LINUX_EXIT_RUNNING);
  CHECK_EQ(iotfw_linux_state_boot(path, &rec), IOTFW_LINUX_EXIT_RUNNING);
  CHECK_EQ(iotfw_reset_record_info(&rec), IOTFW_RESET_POWER_ON);
  /* The old format (a bare 16-byte record whose reason was counted again) is not a state file. */
  FILE *f = fopen(path, "wb");
  iotfw_reset_record_note(&rec, IOTFW_RESET_WATCHDOG);
  fwrite(&rec, sizeof rec, 1, f);
  fclose(f);
  CHECK_EQ(iotfw_linux_state_boot(path, &rec), IOTFW_RESET_POWER_ON);
  CHECK_EQ(iotfw_reset_record_info(&rec), IOTFW_RESET_POWER_ON);
  remove(path);
}

int main(int argc, char **argv) {
  test_i2c_setup();
  test_i2c_transfers();
  test_gpio();
  test_state(argc > 1 ? argv[1] : ".");
  printf("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}
