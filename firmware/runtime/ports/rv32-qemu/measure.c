/* Measurements of the rv32 target (measure.h): the instret CSR, a painted stack scanned for its
 * high-water mark, and counting wrappers around picolibc's allocator (linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free). Touches the unused stack below its
 * caller and the counters here. */
#define _DEFAULT_SOURCE /* sbrk() is not ISO C: picolibc declares it only outside strict -std=c11 */
#include "measure.h"

#include <malloc.h>
#include <unistd.h>

/* From rv32.ld / picolibc.ld: the stack occupies [__stack - __stack_size, __stack). __stack_size is
 * an absolute symbol, so its "address" is its value. */
extern uint32_t __stack[];
extern char __stack_size[];
extern char __heap_start[];

#define PAINT 0x5AC3A55Cu

uint64_t rv32_instret(void) {
  uint32_t hi, lo, hi2;
  do { /* re-read when the low half wrapped between the two reads */
    __asm__ volatile("rdinstreth %0" : "=r"(hi));
    __asm__ volatile("rdinstret %0" : "=r"(lo));
    __asm__ volatile("rdinstreth %0" : "=r"(hi2));
  } while (hi != hi2);
  return ((uint64_t)hi << 32) | lo;
}

uint32_t rv32_stack_size(void) { return (uint32_t)(uintptr_t)__stack_size; }

static uint32_t *stack_bottom(void) { return (uint32_t *)((uintptr_t)__stack - rv32_stack_size()); }

/* noinline: the frame being painted below must be this function's, not the caller's. */
__attribute__((noinline)) void rv32_stack_paint(void) {
  uint32_t *sp;
  __asm__ volatile("mv %0, sp" : "=r"(sp));
  /* Stop 64 words short of sp: this frame is above sp, and no interrupts are enabled that could push
   * below it; the margin is cheap insurance against painting under a live spill. */
  for (volatile uint32_t *p = stack_bottom(); p < sp - 64; p++) *p = PAINT;
}

uint32_t rv32_stack_high_water(void) {
  const uint32_t *p = stack_bottom();
  while (p < __stack && *p == PAINT) p++;
  return (uint32_t)((uintptr_t)__stack - (uintptr_t)p);
}

/* ---- the heap ---- */
rv32_heap_stats_t rv32_heap;
/* picolibc's calloc and realloc may call malloc/free themselves: only the outermost call counts. */
static int depth;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static void gained(void *p) {
  rv32_heap.live += (uint32_t)malloc_usable_size(p);
  rv32_heap.allocs++;
  if (rv32_heap.live > rv32_heap.peak) rv32_heap.peak = rv32_heap.live;
}

void *__wrap_malloc(size_t n) {
  depth++;
  void *p = __real_malloc(n);
  depth--;
  if (p != NULL && depth == 0) gained(p);
  return p;
}

void *__wrap_calloc(size_t n, size_t size) {
  depth++;
  void *p = __real_calloc(n, size);
  depth--;
  if (p != NULL && depth == 0) gained(p);
  return p;
}

void *__wrap_realloc(void *p, size_t n) {
  uint32_t old = (p != NULL && depth == 0) ? (uint32_t)malloc_usable_size(p) : 0;
  depth++;
  void *q = __real_realloc(p, n);
  depth--;
  if (depth != 0) return q;
  if (q != NULL) { rv32_heap.live -= old; gained(q); }
  else if (n == 0) rv32_heap.live -= old; /* realloc(p, 0) freed p */
  return q;
}

void __wrap_free(void *p) {
  if (p != NULL && depth == 0) rv32_heap.live -= (uint32_t)malloc_usable_size(p);
  depth++;
  __real_free(p);
  depth--;
}

uint32_t rv32_heap_arena(void) {
  void *brk = sbrk(0);
  return brk == (void *)-1 ? 0 : (uint32_t)((uintptr_t)brk - (uintptr_t)__heap_start);
}
