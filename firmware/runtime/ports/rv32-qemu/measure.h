/* Measurements of the rv32 target (main.c prints them): instructions retired, the native stack's
 * high-water mark, and the heap's peak. Bare metal under QEMU `virt`; the stack region comes from
 * rv32.ld. Touches the unused part of the stack (painted) and the heap counters. */
#ifndef IOTFW_RV32_MEASURE_H
#define IOTFW_RV32_MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* The instret CSR (64 bits read as two halves). Under QEMU it counts instructions only with
 * `-icount shift=0`; without it QEMU returns a host-time-derived value. */
uint64_t rv32_instret(void);

/* Fill the stack below the caller's frame with a pattern; rv32_stack_high_water() then finds the
 * deepest word overwritten since and returns the bytes used, counted from the top of the stack. */
void rv32_stack_paint(void);
uint32_t rv32_stack_high_water(void);
uint32_t rv32_stack_size(void);

/* The heap (malloc, calloc, realloc, free are wrapped with ld --wrap; see CMakeLists.txt). */
typedef struct {
  uint32_t live, peak;  /* bytes held (malloc_usable_size), now and at most */
  uint32_t allocs;      /* successful malloc/calloc/realloc calls */
} rv32_heap_stats_t;
extern rv32_heap_stats_t rv32_heap;
/* Bytes of the heap region sbrk has handed to malloc so far (the arena, with its fragmentation). */
uint32_t rv32_heap_arena(void);

#endif /* IOTFW_RV32_MEASURE_H */
