/* One deploy connection served on a connected BSD socket: the part of the deploy path both ports share
 * (POSIX sockets on Linux, lwIP's on ESP-IDF). Protocol: docs/runtime.md "Deploy". */
#ifndef IOTFW_DEPLOY_SOCKET_H
#define IOTFW_DEPLOY_SOCKET_H

#include <stdint.h>

#include "deploy.h"

/* Receive a deploy request on sock into sink (through rx, using buf as the receive buffer), send the
 * answer unless the peer went away first, half-close and drain until the host closes (so the answer is
 * not lost to a reset on the host's unsent bytes), then close sock. Gives up after recv_timeout_s
 * seconds of silence. Returns the final deploy status (IOTFW_DEPLOY_OK: the port restarts the module). */
int32_t iotfw_deploy_serve_socket(int sock, iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink,
                                  uint32_t capacity, uint16_t abi, uint8_t *buf, uint32_t buf_len,
                                  int recv_timeout_s);

#endif /* IOTFW_DEPLOY_SOCKET_H */
