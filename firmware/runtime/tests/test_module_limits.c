/* Host tests of core/module_limits.c: a module's memory limits read from hand-made sections (defined
 * memory, imported memory after a function import, no maximum, no memory, truncated) and the refusal
 * texts the simulator shares (simulator/device/module-limits.ts). */
#include <string.h>

#include "../core/module_limits.h"
#include "check.h"

#define HEADER 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00

void test_module_limits(void) {
  uint32_t initial, maximum;
  char why[96];
  /* (memory 1 1): section 5, size 4, one memory, flags 1, min 1, max 1 */
  const uint8_t one[] = { HEADER, 5, 4, 1, 1, 1, 1 };
  CHECK_EQ(iotfw_module_memory(one, sizeof one, &initial, &maximum), 0);
  CHECK_EQ(initial, 1);
  CHECK_EQ(maximum, 1);
  CHECK(iotfw_module_check_memory(one, sizeof one, 1, why, sizeof why) == NULL);
  /* (memory 2 2) behind a type section: refused with the simulator's words */
  const uint8_t two[] = { HEADER, 1, 4, 1, 0x60, 0, 0, 5, 4, 1, 1, 2, 2 };
  CHECK(iotfw_module_check_memory(two, sizeof two, 1, why, sizeof why) != NULL);
  CHECK(strcmp(why, "module asks for 2 pages of memory; this device allows 1") == 0);
  /* (memory 1) without a maximum */
  const uint8_t open_ended[] = { HEADER, 5, 3, 1, 0, 1 };
  CHECK_EQ(iotfw_module_memory(open_ended, sizeof open_ended, &initial, &maximum), 0);
  CHECK_EQ(maximum, IOTFW_MODULE_NO_MAXIMUM);
  CHECK(iotfw_module_check_memory(open_ended, sizeof open_ended, 1, why, sizeof why) != NULL);
  CHECK(strcmp(why, "module sets no maximum memory size; this device allows 1 pages") == 0);
  /* An imported memory after a function import: (import "a" "f" (func (type 0))) (import "a" "m" (memory 1 3)) */
  const uint8_t imported[] = { HEADER, 2, 15, 2, 1, 'a', 1, 'f', 0, 0, 1, 'a', 1, 'm', 2, 1, 1, 3 };
  CHECK_EQ(iotfw_module_memory(imported, sizeof imported, &initial, &maximum), 0);
  CHECK_EQ(initial, 1);
  CHECK_EQ(maximum, 3);
  /* No memory at all: nothing to refuse */
  const uint8_t none[] = { HEADER };
  CHECK_EQ(iotfw_module_memory(none, sizeof none, &initial, &maximum), 0);
  CHECK_EQ(initial, 0);
  CHECK(iotfw_module_check_memory(none, sizeof none, 1, why, sizeof why) == NULL);
  /* A section that claims more bytes than there are, and a stray LEB128 */
  const uint8_t truncated[] = { HEADER, 5, 40, 1, 1 };
  CHECK_EQ(iotfw_module_memory(truncated, sizeof truncated, &initial, &maximum), -1);
  CHECK(strcmp(iotfw_module_check_memory(truncated, sizeof truncated, 1, why, sizeof why), "module is not well-formed Wasm") == 0);
  const uint8_t endless_leb[] = { HEADER, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 };
  CHECK_EQ(iotfw_module_memory(endless_leb, sizeof endless_leb, &initial, &maximum), -1);
  CHECK_EQ(iotfw_module_memory(one, 4, &initial, &maximum), -1); /* shorter than the header */
}
