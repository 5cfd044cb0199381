/* The Wasm3 engine behind the runtime core (iotfw_engine_ops_t): parse, link every import of the
 * generated link table (IOTFW_HAL_IMPORTS) to its bounds-checking thunk (core/hal_dispatch.c) with
 * m3_LinkRawFunctionEx, instantiate, check abi_version(), and call init/tick/control. Written against
 * Wasm3 v0.5.0 and run by `npm test` with it (the sim port on x86-64 and on rv32 under QEMU; the Linux
 * port). Touches one Wasm3 environment and runtime. */
#include "wasm3_engine.h"

#include <string.h>

#include "wasm3.h"

#include "../core/hal_dispatch.h"
#include "../core/module_limits.h"
#include "../hal_link.generated.h"

/* Wasm3 passes a raw function's arguments as one 64-bit slot each (m3ApiGetArg: `_sp++` on a
 * uint64_t *), the result slot first, whatever d_m3Use32BitSlots says about the interpreter's own
 * registers: that is the layout the thunks read, and all this file relies on. */

/* One raw function for every import: the link table entry rides in the import context's userdata. */
static const void *iotfw_m3_trampoline(IM3Runtime runtime, IM3ImportContext ctx, uint64_t *sp, void *mem_unused) {
  const iotfw_hal_entry_t *entry = (const iotfw_hal_entry_t *)ctx->userdata;
  uint32_t size = 0;
  uint8_t *mem = m3_GetMemory(runtime, &size, 0);
  (void)mem_unused;
  if (mem == NULL) size = 0; /* a module without memory: every pointer argument traps */
  return entry->thunk(sp, mem, size);
}

static const char *find(IM3Runtime rt, IM3Function *out, const char *name) {
  M3Result r = m3_FindFunction(out, rt, name);
  return r ? "module lacks an export the runtime calls (abi_version, init, tick, control_buffer, control)" : NULL;
}

static const char *link_hal(IM3Module module) {
  for (uint32_t i = 0; i < IOTFW_HAL_IMPORT_COUNT; i++) {
    const iotfw_hal_import_t *imp = &IOTFW_HAL_IMPORTS[i];
    const iotfw_hal_entry_t *entry = iotfw_hal_dispatch_find(imp->name);
    if (entry == NULL || strcmp(entry->signature, imp->signature) != 0) return "runtime's HAL dispatch disagrees with hal_link.generated.h";
    M3Result r = m3_LinkRawFunctionEx(module, imp->module, imp->name, imp->signature, iotfw_m3_trampoline, entry);
    if (r && r != m3Err_functionLookupFailed) return r; /* lookup failed = the module does not import it: fine */
  }
  return NULL;
}

/* Fill the fuel counter before a call (the simulator's instrumented copy only). */
static void refuel(iotfw_wasm3_t *w) {
  if (w->fuel == NULL || w->fuel_per_call == 0) return;
  M3TaggedValue v;
  v.type = c_m3Type_i32;
  v.value.i32 = w->fuel_per_call;
  m3_SetGlobal(w->fuel, &v);
}

/* A trap after the fuel ran out is the watchdog, not the module's fault. */
static const char *outcome(iotfw_wasm3_t *w, M3Result r) {
  if (r == NULL || w->fuel == NULL || w->fuel_per_call == 0) return r;
  M3TaggedValue v;
  if (m3_GetGlobal(w->fuel, &v) == NULL && v.type == c_m3Type_i32 && v.value.i32 == 0) return IOTFW_TRAP_WATCHDOG;
  return r;
}

static const char *w_load(void *ctx, const uint8_t *bytes, uint32_t len) {
  iotfw_wasm3_t *w = ctx;
  if (w->env == NULL && (w->env = m3_NewEnvironment()) == NULL) return "Wasm3: no memory for the environment";
  w->rt = m3_NewRuntime(w->env, w->stack_bytes, NULL);
  if (w->rt == NULL) return "Wasm3: no memory for the runtime";
  IM3Module module = NULL;
  M3Result r = m3_ParseModule(w->env, &module, bytes, len);
  if (r) return r;
  r = m3_LoadModule(w->rt, module);
  if (r) { m3_FreeModule(module); return r; }
  if ((r = link_hal(module)) != NULL) return r;
  w->fuel = m3_FindGlobal(module, IOTFW_FUEL_EXPORT);
  /* The start function (AssemblyScript's top-level code) spends the counter's initial fuel. */
  if ((r = outcome(w, m3_RunStart(module))) != NULL) return r;
  const char *e;
  if ((e = find(w->rt, &w->f_abi, IOTFW_EXPORT_ABI_VERSION)) || (e = find(w->rt, &w->f_init, IOTFW_EXPORT_INIT)) ||
      (e = find(w->rt, &w->f_tick, IOTFW_EXPORT_TICK)) || (e = find(w->rt, &w->f_control_buffer, IOTFW_EXPORT_CONTROL_BUFFER)) ||
      (e = find(w->rt, &w->f_control, IOTFW_EXPORT_CONTROL))) return e;
  uint32_t abi = 0;
  if ((r = m3_CallV(w->f_abi)) || (r = m3_GetResultsV(w->f_abi, &abi))) return r;
  if (abi != IOTFW_HAL_VERSION) return "module's abi_version() is not the HAL version this runtime implements";
  return NULL;
}

static const char *w_init(void *ctx, int32_t *status) {
  iotfw_wasm3_t *w = ctx;
  refuel(w);
  M3Result r = outcome(w, m3_CallV(w->f_init));
  return r ? r : m3_GetResultsV(w->f_init, status);
}

static const char *w_tick(void *ctx, uint32_t now_ms, uint32_t *delay_ms) {
  iotfw_wasm3_t *w = ctx;
  refuel(w);
  M3Result r = outcome(w, m3_CallV(w->f_tick, now_ms));
  return r ? r : m3_GetResultsV(w->f_tick, delay_ms);
}

static const char *w_control(void *ctx, const uint8_t *frame, uint32_t len, int32_t *status) {
  iotfw_wasm3_t *w = ctx;
  uint32_t at = 0, size = 0;
  refuel(w);
  M3Result r = outcome(w, m3_CallV(w->f_control_buffer));
  if (r || (r = m3_GetResultsV(w->f_control_buffer, &at))) return r;
  /* Memory first, then its size: as arguments of one call their order of evaluation is unspecified, and
   * gcc passed the size before m3_GetMemory had set it (every control frame trapped). */
  uint8_t *mem = m3_GetMemory(w->rt, &size, 0);
  uint8_t *dst = iotfw_mem_range(mem, size, at, len);
  if (dst == NULL) return IOTFW_TRAP_OUT_OF_BOUNDS;
  memcpy(dst, frame, len);
  refuel(w);
  r = outcome(w, m3_CallV(w->f_control, len));
  return r ? r : m3_GetResultsV(w->f_control, status);
}

static void w_unload(void *ctx) {
  iotfw_wasm3_t *w = ctx;
  if (w->rt) m3_FreeRuntime(w->rt); /* frees the loaded module and its linear memory */
  w->rt = NULL;
  w->fuel = NULL;
}

int iotfw_wasm3_validate(iotfw_wasm3_t *w, const uint8_t *bytes, uint32_t len, uint32_t max_pages) {
  char why[96];
  if (iotfw_module_check_memory(bytes, len, max_pages, why, sizeof why) != NULL) return -1;
  /* Parse only: loading would need a second 64 KiB linear memory next to the running module's. */
  if (w->env == NULL && (w->env = m3_NewEnvironment()) == NULL) return -1;
  IM3Module module = NULL;
  if (m3_ParseModule(w->env, &module, bytes, len)) return -1;
  m3_FreeModule(module);
  return 0;
}

void iotfw_wasm3_free(iotfw_wasm3_t *w) {
  w_unload(w);
  if (w->env) m3_FreeEnvironment(w->env);
  w->env = NULL;
}

void iotfw_wasm3_engine(iotfw_wasm3_t *w, uint32_t stack_bytes, iotfw_engine_ops_t *ops) {
  memset(w, 0, sizeof *w);
  w->stack_bytes = stack_bytes;
  ops->ctx = w;
  ops->load = w_load;
  ops->init = w_init;
  ops->tick = w_tick;
  ops->control = w_control;
  ops->unload = w_unload;
}
