/* The HAL thunks: the dispatch table covers exactly the generated link table (same names, order and
 * Wasm3 signatures); arguments and results travel in Wasm3's slot layout; every pointer argument is
 * bounds-checked (a range ending at the last byte passes, one byte further traps, offset + len cannot
 * wrap); panic reads AssemblyScript strings safely. */
#include <string.h>

#include "../core/hal_dispatch.h"
#include "../hal_link.generated.h"
#include "check.h"

static uint8_t mem[65536];

static const char *call(const char *name, uint64_t *sp) {
  const iotfw_hal_entry_t *e = iotfw_hal_dispatch_find(name);
  CHECK_MSG(e != NULL, name);
  return e ? e->thunk(sp, mem, sizeof mem) : "missing";
}

static uint64_t slot(uint32_t v) { uint64_t s = 0xDEADBEEF00000000ull; memcpy(&s, &v, 4); return s; } /* garbage in the upper half */
static int32_t result(const uint64_t *sp) { int32_t v; memcpy(&v, sp, 4); return v; }

void test_hal_dispatch(void) {
  CHECK_EQ(IOTFW_HAL_DISPATCH_COUNT, IOTFW_HAL_IMPORT_COUNT);
  for (uint32_t i = 0; i < IOTFW_HAL_IMPORT_COUNT; i++) {
    const iotfw_hal_entry_t *e = iotfw_hal_dispatch_find(IOTFW_HAL_IMPORTS[i].name);
    CHECK_MSG(e != NULL, IOTFW_HAL_IMPORTS[i].name);
    if (e) CHECK_MSG(strcmp(e->signature, IOTFW_HAL_IMPORTS[i].signature) == 0, IOTFW_HAL_IMPORTS[i].name);
    CHECK(strcmp(IOTFW_HAL_IMPORTS[i].module, "iotfw") == 0);
  }
  CHECK(iotfw_hal_dispatch_find("not_in_the_contract") == NULL);

  /* Scalars: result in slot 0, arguments from slot 1, upper slot halves ignored. */
  fake_now_ms = 1234;
  uint64_t sp[8] = { 0 };
  CHECK(call("time_ms", sp) == NULL);
  CHECK_EQ(result(sp), 1234);
  sp[1] = slot(7);
  CHECK(call("adc_read", sp) == NULL);
  CHECK_EQ(result(sp), 70);
  sp[1] = slot(0); sp[2] = slot(100000);
  CHECK(call("i2c_setup", sp) == NULL);
  CHECK_EQ(result(sp), IOTFW_OK);
  sp[1] = slot(0); sp[2] = slot(12345);
  CHECK(call("i2c_setup", sp) == NULL);
  CHECK_EQ(result(sp), IOTFW_ERR_INVALID);
  sp[1] = slot((uint32_t)-1);
  CHECK(call("sys_sensor_read", sp) == NULL);
  CHECK_EQ(result(sp), IOTFW_ERR_UNSUPPORTED);

  /* Pointers: the port gets the translated address. */
  mem[100] = 0xAA;
  sp[1] = slot(0); sp[2] = slot(0x76); sp[3] = slot(100); sp[4] = slot(3);
  CHECK(call("i2c_write", sp) == NULL);
  CHECK(fake_i2c_data == mem + 100 && fake_i2c_len == 3);
  /* Last byte of memory: allowed; one further: trap, and the port is not called. */
  fake_i2c_data = NULL;
  sp[3] = slot(65536 - 3);
  CHECK(call("i2c_write", sp) == NULL);
  CHECK(fake_i2c_data == mem + 65533);
  fake_i2c_data = NULL;
  sp[3] = slot(65536 - 2);
  CHECK(call("i2c_write", sp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  CHECK(fake_i2c_data == NULL);
  /* offset + len would wrap in 32 bits: still a trap. */
  sp[3] = slot(0xFFFFFFF0u); sp[4] = slot(0x20);
  CHECK(call("i2c_write", sp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  /* Sizes by element: gpio_edges max x 8, pulse_train max x 4, pwm_read 8, app_hash 32. */
  sp[1] = slot(4); sp[2] = slot(65536 - 16); sp[3] = slot(2);
  CHECK(call("gpio_edges", sp) == NULL);
  sp[3] = slot(3);
  CHECK(call("gpio_edges", sp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  sp[1] = slot(4); sp[2] = slot(0); sp[3] = slot(65536 - 40); sp[4] = slot(10); sp[5] = slot(1000);
  CHECK(call("pulse_train", sp) == NULL);
  CHECK_EQ(result(sp), 10);
  sp[4] = slot(11);
  CHECK(call("pulse_train", sp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  sp[1] = slot(4); sp[2] = slot(65536 - 7);
  CHECK(call("pwm_read", sp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  sp[1] = slot(65536 - 31);
  CHECK(call("app_hash", sp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  sp[1] = slot(0x200); sp[2] = slot(3);
  CHECK(call("board_name", sp) == NULL);
  CHECK_EQ(result(sp), 3);
  CHECK(memcmp(mem + 0x200, "esp", 3) == 0);
  sp[1] = slot(2); sp[2] = slot(0x300); sp[3] = slot(5);
  memcpy(mem + 0x300, "hello", 5);
  CHECK(call("log", sp) == NULL);
  CHECK(strcmp(fake_last_log, "hello") == 0);

  /* panic: AssemblyScript strings (UTF-16LE, byte length at ptr - 4); no result slot. */
  const uint16_t msg[] = { 'b', 'o', 'o', 'm', 0x00E9, 0xD83D, 0xDE00 }; /* "boomé😀" */
  uint32_t msg_bytes = sizeof msg;
  memcpy(mem + 0x400, &msg_bytes, 4);
  memcpy(mem + 0x404, msg, sizeof msg);
  const uint16_t file[] = { 'a', '.', 't', 's' };
  uint32_t file_bytes = sizeof file;
  memcpy(mem + 0x500, &file_bytes, 4);
  memcpy(mem + 0x504, file, sizeof file);
  uint64_t psp[4] = { slot(0x404), slot(0x504), slot(12), slot(3) };
  const char *trap = call("panic", psp);
  CHECK(trap == IOTFW_TRAP_PANIC);
  CHECK(strcmp(fake_last_log, "panic: boom\xc3\xa9\xf0\x9f\x98\x80 at a.ts:12:3") == 0);
  /* A length prefix that runs off the end of memory, or a pointer under 4: trap before reading. */
  uint32_t huge = 0x10000;
  memcpy(mem + 0x600, &huge, 4);
  psp[0] = slot(0x604);
  CHECK(call("panic", psp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  psp[0] = slot(2);
  CHECK(call("panic", psp) == IOTFW_TRAP_OUT_OF_BOUNDS);
  /* Null strings (AssemblyScript's abort() without a file name or message): the panic text, not a trap
   * of the thunk, with the simulator's placeholders. */
  psp[0] = slot(0x404); psp[1] = slot(0);
  CHECK(call("panic", psp) == IOTFW_TRAP_PANIC);
  CHECK(strcmp(fake_last_log, "panic: boom\xc3\xa9\xf0\x9f\x98\x80 at ?:12:3") == 0);
  psp[0] = slot(0);
  CHECK(call("panic", psp) == IOTFW_TRAP_PANIC);
  CHECK(strcmp(fake_last_log, "panic: abort at ?:12:3") == 0);
  /* UTF-8 conversion cuts at a character boundary and always terminates. */
  uint8_t small[6];
  CHECK_EQ(iotfw_as_string_to_utf8(mem + 0x404, small, sizeof small), 4); /* "boomé" + NUL needs 7: é is not cut */
  CHECK(strcmp((char *)small, "boom") == 0);
}
