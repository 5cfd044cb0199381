/* One deploy connection served on a connected BSD socket: the part of the deploy path both ports share
 * (POSIX sockets on Linux, lwIP's on ESP-IDF). Protocol: docs/runtime.md "Deploy". */
#ifndef IOTFW_DEPLOY_SOCKET_H
#define IOTFW_DEPLOY_SOCKET_H

#include <stdint.h>

#include "deploy.h"

/* A control request on the deploy port (docs/runtime.md "Control on the deploy port"):
 *   request:  "IOTC" | u32 big-endian frame length | one CONTROL frame, as a bridge sends it on a link
 *   answer:   "IOTC" | i32 big-endian status | u32 big-endian ACK length | the module's ACK frame
 * handle() delivers the frame to the module and copies the ACK it answered with (if any) into ack
 * (at most ack_cap bytes), setting *ack_len (0: none). It returns the status: IOTFW_CONTROL_OK,
 * IOTFW_CONTROL_BAD_REQUEST (not a CONTROL frame) or IOTFW_CONTROL_UNKNOWN_DEVICE (another device). */
#define IOTFW_CONTROL_OK 0
#define IOTFW_CONTROL_BAD_REQUEST (-1)
#define IOTFW_CONTROL_UNKNOWN_DEVICE (-10)
typedef struct {
  void *ctx;
  int32_t (*handle)(void *ctx, const uint8_t *frame, uint32_t len, uint8_t *ack, uint32_t ack_cap, uint32_t *ack_len);
} iotfw_control_port_t;

/* Receive a deploy request on sock into sink (through rx, using buf as the receive buffer; at least
 * 8 + IOTFW_FRAME_MAX bytes when control is given), send the answer unless the peer went away first,
 * half-close and drain until the host closes (so the answer is not lost to a reset on the host's
 * unsent bytes), then close sock. Gives up after recv_timeout_s seconds of silence. With control
 * (NULL: an "IOTC" request is a BAD_REQUEST deploy) a control request is served instead, returning
 * IOTFW_DEPLOY_CONTROL. Returns the final deploy status (IOTFW_DEPLOY_OK: the port restarts the module). */
int32_t iotfw_deploy_serve_socket(int sock, iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink,
                                  uint32_t capacity, uint16_t abi, const iotfw_control_port_t *control,
                                  uint8_t *buf, uint32_t buf_len, int recv_timeout_s);

#endif /* IOTFW_DEPLOY_SOCKET_H */
