/* The sim port's wire protocol (docs/runtime.md "The sim port"), shared by sim_main.c and hal_sim.c;
 * simulator/wasm3/protocol.ts is the Node side and must say the same. Every message is
 *   u8 op | u32 length (little-endian) | length bytes of payload,
 * all integers little-endian. The runtime never writes unasked: it answers each host request with HAL
 * requests (each answered before it goes on), frames, logs and resets, then one DONE. */
#ifndef IOTFW_SIM_PROTO_H
#define IOTFW_SIM_PROTO_H

#include <stdint.h>

#include "sim.h"

/* host -> runtime */
#define SIM_OP_START 'S'   /* u32 dev, u64 now_us, u32 budget_ms, u32 fuel, u32 max_pages,
                              u8 board_len, board, sha256[32], module */
#define SIM_OP_RUN 'R'     /* u32 dev, u64 end_ms: every poll due before end_ms */
#define SIM_OP_CONTROL 'C' /* u32 dev, u64 at_ms, frame */
#define SIM_OP_MODULE 'M'  /* u32 dev, u64 at_ms, sha256[32], module: swap it in, restart RESET_REMOTE (a deploy) */
#define SIM_OP_STOP 'X'    /* u32 dev: free the device */
#define SIM_OP_QUIT 'Q'
#define SIM_OP_HAL_REPLY 'r' /* i32 result, u64 clock_us, every buffer of the request as the models left it */

/* runtime -> host */
#define SIM_OP_HELLO 'V'   /* u32 HAL version, u32 import count, then each import name NUL-terminated */
#define SIM_OP_HAL 'h'     /* u32 dev, u64 clock_us, u8 import index, u8 argc, u8 nregions, i32 args[argc],
                              then per buffer argument: u8 its argument number, u32 length, its bytes (the
                              pointer argument itself is sent as 0: the host places the buffer) */
#define SIM_OP_FRAME 'f'   /* u32 dev, u64 tick_ms, frame */
#define SIM_OP_LOG 'l'     /* u32 dev, u8 level, UTF-8 text */
#define SIM_OP_RESET 'x'   /* u32 dev, u64 at_ms, u64 tick_ms, u8 reason, UTF-8 detail */
#define SIM_OP_DONE 'D'    /* u32 dev, u64 next_ms (when the device is due next), i32 status (RUN: the
                              polls it served; CONTROL: the module's answer) */
#define SIM_OP_ERROR 'E'   /* UTF-8 text: the request was malformed; the runtime stops */

/* The stream of the process (sim_main.c). */
extern const iotfw_sim_io_t *iotfw_sim_io;

/* Message output: begin (op, payload length), then put bytes; the length must match what is put. */
void sim_begin(uint8_t op, uint32_t len);
void sim_put(const void *data, uint32_t n);
void sim_put_u8(uint8_t v);
void sim_put_u32(uint32_t v);
void sim_put_u64(uint64_t v);
/* Read the next message's header; its payload is read with sim_get*. Returns 0, or -1 at end of input. */
int sim_next(uint8_t *op, uint32_t *len);
int sim_get(void *out, uint32_t n);
uint32_t sim_get_u32(void);
uint64_t sim_get_u64(void);
/* Stop on a protocol violation: an ERROR message, then exit(2). */
void sim_fail(const char *why);

/* The device whose HAL calls are being served (hal_sim.c reads it). */
typedef struct sim_device sim_device_t;
uint32_t sim_device_id(const sim_device_t *d);
uint64_t *sim_device_clock(sim_device_t *d);
const char *sim_device_board(const sim_device_t *d);
extern sim_device_t *sim_current;

#endif /* IOTFW_SIM_PROTO_H */
