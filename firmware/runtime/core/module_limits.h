/* What a Wasm module asks of the device before it runs: its linear memory, read from the binary's
 * memory section (or a memory import), checked against what the board allows (boards/<board>.json
 * memory.maxPages; `iotfw build` checks the same with host/build/wasm-check.ts). The runtime refuses to
 * start such a module and the deploy receiver refuses to install it, instead of letting the interpreter
 * run out of RAM. Reads only the bytes it is given. */
#ifndef IOTFW_MODULE_LIMITS_H
#define IOTFW_MODULE_LIMITS_H

#include <stdint.h>

/* Every board file allows one 64 KiB page (boards/<board>.json memory.maxPages). */
#define IOTFW_MODULE_MAX_PAGES_DEFAULT 1u
#define IOTFW_MODULE_NO_MAXIMUM 0xFFFFFFFFu

/* The module's memory limits in pages: 0 and 0 when it has none; maximum IOTFW_MODULE_NO_MAXIMUM when
 * it declares none. Returns 0, or -1 when the bytes are not a well-formed module header and sections. */
int iotfw_module_memory(const uint8_t *wasm, uint32_t len, uint32_t *initial, uint32_t *maximum);

/* NULL when the module's memory fits max_pages (initial and maximum), else why not, in words shared with
 * the simulator (simulator/device/virtual-device.ts): "module asks for N pages of memory; this device
 * allows M" or "module sets no maximum memory size; this device allows M pages". The text lives in buf. */
const char *iotfw_module_check_memory(const uint8_t *wasm, uint32_t len, uint32_t max_pages, char *buf, uint32_t size);

#endif /* IOTFW_MODULE_LIMITS_H */
