/* The Wasm3 engine for the runtime core (see wasm3_engine.c). Compiled only where Wasm3 exists. */
#ifndef IOTFW_WASM3_ENGINE_H
#define IOTFW_WASM3_ENGINE_H

#include <stdint.h>

#include "../core/runtime.h"
#include "wasm3.h"

typedef struct {
  IM3Environment env;
  IM3Runtime rt;
  IM3Function f_abi, f_init, f_tick, f_control_buffer, f_control;
  uint32_t stack_bytes;
  /* The simulator's deterministic watchdog (simulator/device/fuel.ts): when the module exports the
   * counter IOTFW_FUEL_EXPORT and fuel_per_call > 0, every init, tick and control starts with that much
   * fuel, and a trap with the counter at 0 is reported as IOTFW_TRAP_WATCHDOG. A module built for a
   * board has no such export, and the runtime's time budget is its watchdog. */
  uint32_t fuel_per_call;
  IM3Global fuel;
} iotfw_wasm3_t;

#define IOTFW_FUEL_EXPORT "__iotfw_fuel"

/* Wasm3's value stack per module on a device (ESP-IDF port): env-station's deepest call chain needs
 * under 2 KiB of it; a module that needs more traps with "[trap] stack overflow" on every target. */
#define IOTFW_WASM3_VALUE_STACK (8u * 1024u)

/* Fill ops with the Wasm3 engine; stack_bytes is Wasm3's value stack (m3_NewRuntime). */
void iotfw_wasm3_engine(iotfw_wasm3_t *w, uint32_t stack_bytes, iotfw_engine_ops_t *ops);
/* Would this device run the module? Its memory fits max_pages (core/module_limits.h) and Wasm3 parses it,
 * without instantiating it (the deploy receiver's validate step): 0 when so. */
int iotfw_wasm3_validate(iotfw_wasm3_t *w, const uint8_t *bytes, uint32_t len, uint32_t max_pages);
/* Free the environment (after ops->unload); w can be set up again with iotfw_wasm3_engine. */
void iotfw_wasm3_free(iotfw_wasm3_t *w);

#endif /* IOTFW_WASM3_ENGINE_H */
