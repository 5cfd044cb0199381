/* The sim port's hardware HAL: each call the module makes goes to the host as a HAL request with the
 * device's clock, its arguments and the bytes of its buffers, and the host's bus models answer with the
 * result, the clock after the call (a pulse capture or a stretched clock takes device time) and what
 * they wrote into the buffers. Time, identity and log are answered here. Pointers were bounds-checked by
 * the thunks (core/hal_dispatch.c) before these functions see them. Touches the stream and the
 * current device's clock. */
#include <string.h>

#include "hal_link.generated.h"
#include "sim_proto.h"

/* The index of an import in the link table (the host maps it back to the name: see the HELLO). */
static uint8_t import_index(const char *name) {
  for (uint8_t i = 0; i < IOTFW_HAL_IMPORT_COUNT; i++) if (strcmp(IOTFW_HAL_IMPORTS[i].name, name) == 0) return i;
  sim_fail("import missing from the link table");
  return 0;
}

/* A buffer argument (argument number arg): its bytes go to the host as they are, and the host sends them
 * back as its models left them; only an output buffer is copied back. */
typedef struct { uint8_t arg; uint8_t *at; uint32_t len; int out; } region_t;

static int32_t request(const char *name, const int32_t *args, uint8_t argc, region_t *regions, uint8_t nregions) {
  uint8_t index = import_index(name);
  uint32_t bytes = 0;
  for (uint8_t i = 0; i < nregions; i++) bytes += 5u + regions[i].len;
  sim_begin(SIM_OP_HAL, 4 + 8 + 1 + 1 + 1 + 4u * argc + bytes);
  sim_put_u32(sim_device_id(sim_current));
  sim_put_u64(*sim_device_clock(sim_current));
  sim_put_u8(index);
  sim_put_u8(argc);
  sim_put_u8(nregions);
  for (uint8_t i = 0; i < argc; i++) sim_put_u32((uint32_t)args[i]);
  for (uint8_t i = 0; i < nregions; i++) {
    sim_put_u8(regions[i].arg);
    sim_put_u32(regions[i].len);
    sim_put(regions[i].at, regions[i].len);
  }
  iotfw_sim_stats.hal_calls++;

  uint8_t op;
  uint32_t len;
  if (sim_next(&op, &len) != 0) sim_fail("end of input inside a HAL call");
  if (op != SIM_OP_HAL_REPLY) sim_fail("expected a HAL reply");
  int32_t result = (int32_t)sim_get_u32();
  *sim_device_clock(sim_current) = sim_get_u64();
  for (uint8_t i = 0; i < nregions; i++) {
    if (regions[i].out) { sim_get(regions[i].at, regions[i].len); continue; }
    uint8_t skip[64];
    for (uint32_t left = regions[i].len; left > 0;) { uint32_t n = left < sizeof skip ? left : (uint32_t)sizeof skip; sim_get(skip, n); left -= n; }
  }
  return result;
}

#define ARGS(...) (const int32_t[]){ __VA_ARGS__ }
#define NARGS(...) (uint8_t)(sizeof((int32_t[]){ __VA_ARGS__ }) / sizeof(int32_t))
#define CALL0(name, ...) request(name, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__), NULL, 0)

uint32_t iotfw_hal_time_ms(void) { return (uint32_t)(*sim_device_clock(sim_current) / 1000u); }
uint32_t iotfw_hal_time_us(void) { return (uint32_t)*sim_device_clock(sim_current); }

int32_t iotfw_hal_gpio_mode(int32_t pin, int32_t mode) { return CALL0("gpio_mode", pin, mode); }
int32_t iotfw_hal_gpio_read(int32_t pin) { return CALL0("gpio_read", pin); }
int32_t iotfw_hal_gpio_write(int32_t pin, int32_t level) { return CALL0("gpio_write", pin, level); }
int32_t iotfw_hal_gpio_watch(int32_t pin, int32_t edges) { return CALL0("gpio_watch", pin, edges); }
int32_t iotfw_hal_gpio_edges(int32_t pin, uint8_t *out, uint32_t max) {
  region_t r[] = { { 1, out, max * 8u, 1 } };
  return request("gpio_edges", ARGS(pin, 0, (int32_t)max), 3, r, 1);
}
int32_t iotfw_hal_adc_read(int32_t pin) { return CALL0("adc_read", pin); }
int32_t iotfw_hal_sys_sensor_read(int32_t sensor) { return CALL0("sys_sensor_read", sensor); }

int32_t iotfw_hal_i2c_setup(int32_t bus, uint32_t freq_hz) { return CALL0("i2c_setup", bus, (int32_t)freq_hz); }
int32_t iotfw_hal_i2c_write(int32_t bus, int32_t addr, uint8_t *data, uint32_t len) {
  region_t r[] = { { 2, data, len, 0 } };
  return request("i2c_write", ARGS(bus, addr, 0, (int32_t)len), 4, r, 1);
}
int32_t iotfw_hal_i2c_read(int32_t bus, int32_t addr, uint8_t *out, uint32_t len) {
  region_t r[] = { { 2, out, len, 1 } };
  return request("i2c_read", ARGS(bus, addr, 0, (int32_t)len), 4, r, 1);
}
int32_t iotfw_hal_i2c_write_read(int32_t bus, int32_t addr, uint8_t *data, uint32_t len, uint8_t *out, uint32_t out_len) {
  region_t r[] = { { 2, data, len, 0 }, { 4, out, out_len, 1 } };
  return request("i2c_write_read", ARGS(bus, addr, 0, (int32_t)len, 0, (int32_t)out_len), 6, r, 2);
}

int32_t iotfw_hal_pulse_out(int32_t pin, int32_t level, uint32_t width_us) { return CALL0("pulse_out", pin, level, (int32_t)width_us); }
int32_t iotfw_hal_pulse_in(int32_t pin, int32_t level, uint32_t timeout_us) { return CALL0("pulse_in", pin, level, (int32_t)timeout_us); }
int32_t iotfw_hal_pulse_train(int32_t pin, uint32_t start_low_us, uint8_t *out, uint32_t max, uint32_t timeout_us) {
  region_t r[] = { { 2, out, max * 4u, 1 } };
  return request("pulse_train", ARGS(pin, (int32_t)start_low_us, 0, (int32_t)max, (int32_t)timeout_us), 5, r, 1);
}
int32_t iotfw_hal_pwm_read(int32_t pin, uint8_t *out) {
  region_t r[] = { { 1, out, 8u, 1 } };
  return request("pwm_read", ARGS(pin, 0), 2, r, 1);
}

int32_t iotfw_hal_log(int32_t level, uint8_t *text, uint32_t len) {
  sim_begin(SIM_OP_LOG, 5 + len);
  sim_put_u32(sim_device_id(sim_current));
  sim_put_u8((uint8_t)level);
  sim_put(text, len);
  return IOTFW_OK;
}

uint32_t iotfw_hal_device_id(void) { return sim_device_id(sim_current); }
/* The simulated chip's random number generator is the host's: it answers boot_id from its salt, so both
 * engines give the same bytes (simulator/hal/host.ts boot_id). */
uint32_t iotfw_port_random32(void) { return (uint32_t)request("boot_id", NULL, 0, NULL, 0); }
int32_t iotfw_hal_board_name(uint8_t *out, uint32_t max) {
  const char *board = sim_device_board(sim_current);
  uint32_t n = (uint32_t)strlen(board);
  if (n > max) n = max;
  memcpy(out, board, n);
  return (int32_t)n;
}
