/* One deploy connection on a BSD socket (deploy_socket.h). Touches only the socket it is given. */
#define _POSIX_C_SOURCE 200809L
#include "deploy_socket.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* lwIP: no SIGPIPE to suppress */
#endif

int32_t iotfw_deploy_serve_socket(int sock, iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink,
                                  uint32_t capacity, uint16_t abi, uint8_t *buf, uint32_t buf_len,
                                  int recv_timeout_s) {
  struct timeval tv = { .tv_sec = recv_timeout_s, .tv_usec = 0 };
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  iotfw_deploy_rx_init(rx, sink, capacity, abi);
  int32_t st = IOTFW_DEPLOY_MORE;
  while (st == IOTFW_DEPLOY_MORE) {
    ssize_t n = recv(sock, buf, buf_len, 0);
    if (n <= 0) { st = iotfw_deploy_rx_closed(rx); break; }
    uint32_t used;
    st = iotfw_deploy_rx_feed(rx, buf, (uint32_t)n, &used);
  }
  if (st != IOTFW_DEPLOY_TRUNCATED) {
    uint8_t answer[IOTFW_DEPLOY_ANSWER_SIZE];
    iotfw_deploy_answer(rx, answer);
    send(sock, answer, sizeof answer, MSG_NOSIGNAL);
    shutdown(sock, SHUT_WR);
    while (recv(sock, buf, buf_len, 0) > 0) {}
  }
  close(sock);
  return st;
}
