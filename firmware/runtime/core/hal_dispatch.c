/* The HAL thunks: raw slots -> bounds-checked native call (see hal_dispatch.h). Every pointer argument
 * is checked here, before the port sees it, with the size the argument's doc in firmware/hal/abi.json
 * gives (len bytes; gpio_edges max x 8; pulse_train max x 4; pwm_read 8; app_hash 32). Touches only the
 * module memory it is given. */
#include "hal_dispatch.h"

#include <string.h>

#include "../hal_link.generated.h"

const char IOTFW_TRAP_OUT_OF_BOUNDS[] = "[trap] out of bounds memory access (HAL argument)";
const char IOTFW_TRAP_PANIC[] = "[trap] module panic";
const char IOTFW_TRAP_WATCHDOG[] = "[trap] watchdog: the call exceeded its budget";

uint8_t *iotfw_mem_range(uint8_t *mem, uint32_t mem_size, uint32_t offset, uint64_t len) {
  if ((uint64_t)offset + len > mem_size) return NULL;
  return mem + offset;
}

/* Slot access as Wasm3's m3ApiGetArg does it: the value sits in the first bytes of its 64-bit slot. */
static uint32_t arg_u32(const uint64_t *sp, unsigned slot) {
  uint32_t v;
  memcpy(&v, &sp[slot], sizeof v);
  return v;
}
static int32_t arg_i32(const uint64_t *sp, unsigned slot) { return (int32_t)arg_u32(sp, slot); }
static void ret_u32(uint64_t *sp, uint32_t v) { memcpy(&sp[0], &v, sizeof v); }
static void ret_i32(uint64_t *sp, int32_t v) { ret_u32(sp, (uint32_t)v); }

/* Slot 0 is the result for every import but panic; arguments follow from slot 1. */
#define A_I(n) arg_i32(sp, (n))
#define A_U(n) arg_u32(sp, (n))
#define MEM(var, slot, len)                                                  \
  uint8_t *var = iotfw_mem_range(mem, mem_size, arg_u32(sp, (slot)), (len)); \
  if (var == NULL) return IOTFW_TRAP_OUT_OF_BOUNDS
#define UNUSED_MEM (void)mem; (void)mem_size

static const char *t_time_ms(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_u32(sp, iotfw_hal_time_ms()); return NULL; }
static const char *t_time_us(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_u32(sp, iotfw_hal_time_us()); return NULL; }
static const char *t_gpio_mode(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_gpio_mode(A_I(1), A_I(2))); return NULL; }
static const char *t_gpio_read(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_gpio_read(A_I(1))); return NULL; }
static const char *t_gpio_write(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_gpio_write(A_I(1), A_I(2))); return NULL; }
static const char *t_gpio_watch(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_gpio_watch(A_I(1), A_I(2))); return NULL; }
static const char *t_gpio_edges(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(out, 2, (uint64_t)A_U(3) * 8u); /* pairs of u32 */
  ret_i32(sp, iotfw_hal_gpio_edges(A_I(1), out, A_U(3)));
  return NULL;
}
static const char *t_adc_read(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_adc_read(A_I(1))); return NULL; }
static const char *t_sys_sensor_read(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_sys_sensor_read(A_I(1))); return NULL; }
static const char *t_i2c_setup(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_i2c_setup(A_I(1), A_U(2))); return NULL; }
static const char *t_i2c_write(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(data, 3, A_U(4));
  ret_i32(sp, iotfw_hal_i2c_write(A_I(1), A_I(2), data, A_U(4)));
  return NULL;
}
static const char *t_i2c_read(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(out, 3, A_U(4));
  ret_i32(sp, iotfw_hal_i2c_read(A_I(1), A_I(2), out, A_U(4)));
  return NULL;
}
static const char *t_i2c_write_read(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(data, 3, A_U(4));
  MEM(out, 5, A_U(6));
  ret_i32(sp, iotfw_hal_i2c_write_read(A_I(1), A_I(2), data, A_U(4), out, A_U(6)));
  return NULL;
}
static const char *t_pulse_out(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_pulse_out(A_I(1), A_I(2), A_U(3))); return NULL; }
static const char *t_pulse_in(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_i32(sp, iotfw_hal_pulse_in(A_I(1), A_I(2), A_U(3))); return NULL; }
static const char *t_pulse_train(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(out, 3, (uint64_t)A_U(4) * 4u); /* u32 entries */
  ret_i32(sp, iotfw_hal_pulse_train(A_I(1), A_U(2), out, A_U(4), A_U(5)));
  return NULL;
}
static const char *t_pwm_read(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(out, 2, 8u); /* high_us, low_us */
  ret_i32(sp, iotfw_hal_pwm_read(A_I(1), out));
  return NULL;
}
static const char *t_frame_out(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(data, 1, A_U(2));
  ret_i32(sp, iotfw_hal_frame_out(data, A_U(2)));
  return NULL;
}
static const char *t_log(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(text, 2, A_U(3));
  ret_i32(sp, iotfw_hal_log(A_I(1), text, A_U(3)));
  return NULL;
}
static const char *t_device_id(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_u32(sp, iotfw_hal_device_id()); return NULL; }
static const char *t_board_name(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(out, 1, A_U(2));
  ret_i32(sp, iotfw_hal_board_name(out, A_U(2)));
  return NULL;
}
static const char *t_app_hash(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  MEM(out, 1, 32u);
  ret_i32(sp, iotfw_hal_app_hash(out));
  return NULL;
}
static const char *t_reset_info(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_u32(sp, iotfw_hal_reset_info()); return NULL; }
static const char *t_boot_id(uint64_t *sp, uint8_t *mem, uint32_t mem_size) { UNUSED_MEM; ret_u32(sp, iotfw_hal_boot_id()); return NULL; }
/* panic returns nothing: no result slot, arguments from slot 0. A null string (0) reaches the port as
 * NULL: AssemblyScript's abort() passes one when it has no message or no file name. */
static const char *t_panic(uint64_t *sp, uint8_t *mem, uint32_t mem_size) {
  if (iotfw_as_string_bytes(mem, mem_size, A_U(0)) < 0 || iotfw_as_string_bytes(mem, mem_size, A_U(1)) < 0) {
    return IOTFW_TRAP_OUT_OF_BOUNDS;
  }
  iotfw_hal_panic(A_U(0) ? mem + A_U(0) : NULL, A_U(1) ? mem + A_U(1) : NULL, A_U(2), A_U(3));
  return IOTFW_TRAP_PANIC; /* abi.json: "The runtime logs it and traps" */
}

const iotfw_hal_entry_t IOTFW_HAL_DISPATCH[] = {
  { "time_ms", "i()", t_time_ms },
  { "time_us", "i()", t_time_us },
  { "gpio_mode", "i(ii)", t_gpio_mode },
  { "gpio_read", "i(i)", t_gpio_read },
  { "gpio_write", "i(ii)", t_gpio_write },
  { "gpio_watch", "i(ii)", t_gpio_watch },
  { "gpio_edges", "i(i*i)", t_gpio_edges },
  { "adc_read", "i(i)", t_adc_read },
  { "sys_sensor_read", "i(i)", t_sys_sensor_read },
  { "i2c_setup", "i(ii)", t_i2c_setup },
  { "i2c_write", "i(ii*i)", t_i2c_write },
  { "i2c_read", "i(ii*i)", t_i2c_read },
  { "i2c_write_read", "i(ii*i*i)", t_i2c_write_read },
  { "pulse_out", "i(iii)", t_pulse_out },
  { "pulse_in", "i(iii)", t_pulse_in },
  { "pulse_train", "i(ii*ii)", t_pulse_train },
  { "pwm_read", "i(i*)", t_pwm_read },
  { "frame_out", "i(*i)", t_frame_out },
  { "log", "i(i*i)", t_log },
  { "device_id", "i()", t_device_id },
  { "board_name", "i(*i)", t_board_name },
  { "app_hash", "i(*)", t_app_hash },
  { "reset_info", "i()", t_reset_info },
  { "boot_id", "i()", t_boot_id },
  { "panic", "v(**ii)", t_panic },
};
const uint32_t IOTFW_HAL_DISPATCH_COUNT = sizeof IOTFW_HAL_DISPATCH / sizeof IOTFW_HAL_DISPATCH[0];

const iotfw_hal_entry_t *iotfw_hal_dispatch_find(const char *name) {
  for (uint32_t i = 0; i < IOTFW_HAL_DISPATCH_COUNT; i++) {
    if (strcmp(IOTFW_HAL_DISPATCH[i].name, name) == 0) return &IOTFW_HAL_DISPATCH[i];
  }
  return NULL;
}

int32_t iotfw_as_string_bytes(const uint8_t *mem, uint32_t mem_size, uint32_t ptr) {
  if (ptr == 0) return 0;
  if (ptr < 4u || ptr > mem_size) return -1;
  uint32_t len = (uint32_t)mem[ptr - 4] | ((uint32_t)mem[ptr - 3] << 8) | ((uint32_t)mem[ptr - 2] << 16) |
                 ((uint32_t)mem[ptr - 1] << 24);
  if ((uint64_t)ptr + len > mem_size || len > 0x7FFFFFFFu) return -1;
  return (int32_t)len;
}

uint32_t iotfw_as_string_to_utf8(const uint8_t *text, uint8_t *out, uint32_t max) {
  if (max == 0) return 0;
  if (text == NULL) { out[0] = 0; return 0; }
  uint32_t bytes = (uint32_t)text[-4] | ((uint32_t)text[-3] << 8) | ((uint32_t)text[-2] << 16) | ((uint32_t)text[-1] << 24);
  uint32_t units = bytes / 2u, o = 0;
  if (max == 0) return 0;
  for (uint32_t i = 0; i < units; i++) {
    uint32_t cp = (uint32_t)text[2 * i] | ((uint32_t)text[2 * i + 1] << 8);
    if (cp >= 0xD800u && cp <= 0xDBFFu && i + 1 < units) {
      uint32_t lo = (uint32_t)text[2 * i + 2] | ((uint32_t)text[2 * i + 3] << 8);
      if (lo >= 0xDC00u && lo <= 0xDFFFu) { cp = 0x10000u + ((cp - 0xD800u) << 10) + (lo - 0xDC00u); i++; }
      else cp = 0xFFFDu;
    } else if (cp >= 0xD800u && cp <= 0xDFFFu) {
      cp = 0xFFFDu;
    }
    uint8_t enc[4];
    uint32_t n;
    if (cp < 0x80u) { enc[0] = (uint8_t)cp; n = 1; }
    else if (cp < 0x800u) { enc[0] = (uint8_t)(0xC0u | (cp >> 6)); enc[1] = (uint8_t)(0x80u | (cp & 0x3Fu)); n = 2; }
    else if (cp < 0x10000u) { enc[0] = (uint8_t)(0xE0u | (cp >> 12)); enc[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu)); enc[2] = (uint8_t)(0x80u | (cp & 0x3Fu)); n = 3; }
    else { enc[0] = (uint8_t)(0xF0u | (cp >> 18)); enc[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu)); enc[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu)); enc[3] = (uint8_t)(0x80u | (cp & 0x3Fu)); n = 4; }
    if (o + n + 1u > max) break; /* keep room for the NUL; never cut inside a character */
    memcpy(out + o, enc, n);
    o += n;
  }
  out[o] = 0;
  return o;
}
