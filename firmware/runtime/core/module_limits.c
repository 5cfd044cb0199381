/* The module's memory limits, read from its sections (module_limits.h; the format: WebAssembly core
 * specification 5.5, "Modules": section ids 2 import and 5 memory, limits = flags, min[, max] as
 * unsigned LEB128). Reads only the bytes it is given. */
#include "module_limits.h"

#include <stdio.h>

typedef struct { const uint8_t *p; uint32_t at, len; int bad; } reader_t;

static uint32_t u8(reader_t *r) { if (r->at >= r->len) { r->bad = 1; return 0; } return r->p[r->at++]; }
static uint32_t leb(reader_t *r) {
  uint32_t v = 0;
  for (unsigned shift = 0; shift < 35; shift += 7) {
    uint32_t b = u8(r);
    if (r->bad) return 0;
    v |= (b & 0x7Fu) << shift;
    if ((b & 0x80u) == 0) return v;
  }
  r->bad = 1;
  return 0;
}
static void skip(reader_t *r, uint32_t n) { if (n > r->len - r->at) r->bad = 1; else r->at += n; }
static void limits(reader_t *r, uint32_t *initial, uint32_t *maximum) {
  uint32_t flags = leb(r);
  *initial = leb(r);
  *maximum = (flags & 1u) ? leb(r) : IOTFW_MODULE_NO_MAXIMUM;
}

int iotfw_module_memory(const uint8_t *wasm, uint32_t len, uint32_t *initial, uint32_t *maximum) {
  reader_t r = { wasm, 8, len, len < 8 };
  *initial = 0;
  *maximum = 0;
  while (!r.bad && r.at < r.len) {
    uint32_t id = u8(&r), size = leb(&r);
    if (r.bad || size > r.len - r.at) return -1;
    uint32_t end = r.at + size;
    if (id == 5 && leb(&r) > 0) { limits(&r, initial, maximum); return r.bad ? -1 : 0; }
    if (id == 2) {
      for (uint32_t n = leb(&r); n > 0 && !r.bad; n--) {
        skip(&r, leb(&r)); /* module name */
        skip(&r, leb(&r)); /* field name */
        uint32_t kind = u8(&r);
        if (kind == 2) { limits(&r, initial, maximum); return r.bad ? -1 : 0; }
        if (kind == 0) leb(&r);                            /* function: type index */
        else if (kind == 1) { u8(&r); uint32_t a, b; limits(&r, &a, &b); } /* table: reftype, limits */
        else if (kind == 3) skip(&r, 2);                   /* global: valtype, mutability */
        else return -1;
      }
    }
    r.at = end;
  }
  return r.bad ? -1 : 0;
}

const char *iotfw_module_check_memory(const uint8_t *wasm, uint32_t len, uint32_t max_pages, char *buf, uint32_t size) {
  uint32_t initial, maximum;
  if (iotfw_module_memory(wasm, len, &initial, &maximum) != 0) { snprintf(buf, size, "module is not well-formed Wasm"); return buf; }
  if (maximum == IOTFW_MODULE_NO_MAXIMUM && initial <= max_pages) {
    snprintf(buf, size, "module sets no maximum memory size; this device allows %u pages", (unsigned)max_pages);
    return buf;
  }
  uint32_t asks = maximum == IOTFW_MODULE_NO_MAXIMUM || maximum < initial ? initial : maximum;
  if (asks > max_pages) { snprintf(buf, size, "module asks for %u pages of memory; this device allows %u", (unsigned)asks, (unsigned)max_pages); return buf; }
  return NULL;
}
