/* A stand-in for the sim port's iotfw_sim_serve (sim.h) that proves the rv32 toolchain without the
 * runtime core: it reads one request from the stream, runs it with Wasm3 and writes the answer.
 *   request: u32 module length | module | u8 name length | export name | u32 argument   (little-endian)
 *   answer:  'R' | i32 result            or   'E' | u32 length | Wasm3's error text
 * The export takes one i32 (or nothing) and returns an i32; the module imports nothing. Touches the
 * stream and one Wasm3 environment. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "wasm3.h"

iotfw_sim_stats_t iotfw_sim_stats;

static uint32_t get_u32(const uint8_t b[4]) {
  return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static int answer(const iotfw_sim_io_t *io, int32_t result) {
  uint8_t b[5] = { 'R', (uint8_t)result, (uint8_t)(result >> 8), (uint8_t)(result >> 16), (uint8_t)(result >> 24) };
  io->write(io->ctx, b, 5);
  io->flush(io->ctx);
  return 0;
}

static int fail(const iotfw_sim_io_t *io, M3Result r) {
  uint32_t n = (uint32_t)strlen(r);
  uint8_t h[5] = { 'E', (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
  io->write(io->ctx, h, 5);
  io->write(io->ctx, r, n);
  io->flush(io->ctx);
  return 2;
}

int iotfw_sim_serve(const iotfw_sim_io_t *io) {
  uint8_t b[4], name_len;
  char name[256];
  if (io->read(io->ctx, b, 4) != 0) return 1;
  uint32_t len = get_u32(b);
  uint8_t *module = malloc(len ? len : 1);
  if (module == NULL) return fail(io, "out of memory for the module");
  if (io->read(io->ctx, module, len) != 0 || io->read(io->ctx, &name_len, 1) != 0 ||
      io->read(io->ctx, name, name_len) != 0 || io->read(io->ctx, b, 4) != 0) { free(module); return 1; }
  name[name_len] = 0;
  uint32_t arg = get_u32(b);

  /* The same value-stack size as the sim port gives each device. */
  IM3Environment env = m3_NewEnvironment();
  IM3Runtime rt = env ? m3_NewRuntime(env, 64u * 1024u, NULL) : NULL;
  IM3Module mod = NULL;
  IM3Function f = NULL;
  M3Result r = rt ? NULL : "Wasm3: no memory for the runtime";
  if (!r) r = m3_ParseModule(env, &mod, module, len);
  if (!r) { r = m3_LoadModule(rt, mod); if (r) m3_FreeModule(mod); }
  if (!r) r = m3_FindFunction(&f, rt, name);
  if (!r) r = m3_GetArgCount(f) == 0 ? m3_CallV(f) : m3_CallV(f, arg);
  int32_t result = 0;
  if (!r) r = m3_GetResultsV(f, &result);
  int rc = r ? fail(io, r) : answer(io, result);
  if (rt) m3_FreeRuntime(rt);
  if (env) m3_FreeEnvironment(env);
  free(module);
  return rc;
}
