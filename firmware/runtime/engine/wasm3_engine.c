/* The Wasm3 engine behind the runtime core (iotfw_engine_ops_t): parse, link every import of the
 * generated link table (IOTFW_HAL_IMPORTS) to its bounds-checking thunk (core/hal_dispatch.c) with
 * m3_LinkRawFunctionEx, instantiate, check abi_version(), and call init/tick/control.
 * UNVERIFIED HERE: compiled only where Wasm3 v0.5.0 exists (the ESP-IDF and Linux ports fetch it at the
 * user's build); these machines have no Wasm3, so this file is never compiled by `npm test`. Written
 * against wasm3.h / m3_api_defs.h of v0.5.0. Touches one Wasm3 environment and runtime. */
#include "wasm3_engine.h"

#include <string.h>

#include "m3_api_defs.h"
#include "wasm3.h"

#include "../core/hal_dispatch.h"
#include "../hal_link.generated.h"

#if defined(d_m3Use32BitSlots) && d_m3Use32BitSlots
#error "the HAL thunks read one 64-bit slot per argument (Wasm3's raw-call layout without d_m3Use32BitSlots)"
#endif

/* One raw function for every import: the link table entry rides in the import context's userdata. */
static m3ApiRawFunction(iotfw_m3_trampoline) {
  const iotfw_hal_entry_t *entry = (const iotfw_hal_entry_t *)_ctx->userdata;
  uint32_t size = 0;
  uint8_t *mem = m3_GetMemory(runtime, &size, 0);
  (void)_mem;
  if (mem == NULL) size = 0; /* a module without memory: every pointer argument traps */
  return entry->thunk(_sp, mem, size);
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
  if ((r = m3_RunStart(module)) != NULL) return r;
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
  M3Result r = m3_CallV(w->f_init);
  return r ? r : m3_GetResultsV(w->f_init, status);
}

static const char *w_tick(void *ctx, uint32_t now_ms, uint32_t *delay_ms) {
  iotfw_wasm3_t *w = ctx;
  M3Result r = m3_CallV(w->f_tick, now_ms);
  return r ? r : m3_GetResultsV(w->f_tick, delay_ms);
}

static const char *w_control(void *ctx, const uint8_t *frame, uint32_t len, int32_t *status) {
  iotfw_wasm3_t *w = ctx;
  uint32_t at = 0, size = 0;
  M3Result r = m3_CallV(w->f_control_buffer);
  if (r || (r = m3_GetResultsV(w->f_control_buffer, &at))) return r;
  uint8_t *dst = iotfw_mem_range(m3_GetMemory(w->rt, &size, 0), size, at, len);
  if (dst == NULL) return IOTFW_TRAP_OUT_OF_BOUNDS;
  memcpy(dst, frame, len);
  r = m3_CallV(w->f_control, len);
  return r ? r : m3_GetResultsV(w->f_control, status);
}

static void w_unload(void *ctx) {
  iotfw_wasm3_t *w = ctx;
  if (w->rt) m3_FreeRuntime(w->rt); /* frees the loaded module and its linear memory */
  w->rt = NULL;
}

int iotfw_wasm3_validate(iotfw_wasm3_t *w, const uint8_t *bytes, uint32_t len) {
  /* Parse only: loading would need a second 64 KiB linear memory next to the running module's. */
  if (w->env == NULL && (w->env = m3_NewEnvironment()) == NULL) return -1;
  IM3Module module = NULL;
  if (m3_ParseModule(w->env, &module, bytes, len)) return -1;
  m3_FreeModule(module);
  return 0;
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
