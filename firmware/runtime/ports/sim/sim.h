/* The `sim` port: the real runtime (core/, engine/wasm3_engine.c, the generated link table, Wasm3) for
 * many simulated devices in one process, its hardware HAL answered by the Node simulator's bus models
 * over a byte stream (docs/runtime.md "The sim port"). The stream is synchronous: the runtime writes a
 * request and reads until the reply, so a recorded input replays the same run on another build (the
 * rv32 target under QEMU reads it from a semihosted file). Touches only the stream it is given. */
#ifndef IOTFW_SIM_H
#define IOTFW_SIM_H

#include <stddef.h>
#include <stdint.h>

/* Where the protocol flows: read exactly n bytes (0 = ok, -1 = end of stream or error), write n bytes,
 * flush what was written before a read blocks. */
typedef struct {
  void *ctx;
  int (*read)(void *ctx, void *buf, size_t n);
  int (*write)(void *ctx, const void *buf, size_t n);
  int (*flush)(void *ctx);
} iotfw_sim_io_t;

/* Serve the protocol until QUIT or end of input. Returns 0 on QUIT, 1 on end of input, 2 on a
 * malformed request (a message is written to the stream's error sink first). */
int iotfw_sim_serve(const iotfw_sim_io_t *io);

/* Counters for measurements (bench, rv32 target): HAL requests sent, polls served. */
typedef struct { uint64_t hal_calls, polls, controls; } iotfw_sim_stats_t;
extern iotfw_sim_stats_t iotfw_sim_stats;

#endif /* IOTFW_SIM_H */
