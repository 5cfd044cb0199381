/* One deploy connection on a BSD socket (deploy_socket.h): POSIX sockets on Linux, lwIP's on ESP-IDF.
 * Touches only the socket it is given.
 *
 * Why the EINTR handling: the Linux port runs a 100 ms SIGALRM watchdog timer, and a recv() on a socket
 * with SO_RCVTIMEO fails with EINTR when a signal arrives, whatever SA_RESTART says (signal(7),
 * "Interruption of system calls and library functions by signal handlers"). Treating that as the
 * peer's close truncated about one deploy in ten on loopback. So an interrupted recv is retried, and
 * the silence limit is kept by a monotonic deadline of our own (SO_RCVTIMEO restarts with every call). */
#define _POSIX_C_SOURCE 200809L
#include "deploy_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* lwIP: no SIGPIPE to suppress */
#endif

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* recv, retried when a signal interrupted it; gives up (returns -1) once timeout_ms passed since
 * `since` without data. Returns what recv returned otherwise (0: the peer closed). */
static ssize_t recv_retrying(int sock, uint8_t *buf, uint32_t len, long long since, long long timeout_ms) {
  for (;;) {
    ssize_t n = recv(sock, buf, len, 0);
    if (n >= 0 || errno != EINTR) return n;
    if (now_ms() - since >= timeout_ms) return -1;
  }
}

int32_t iotfw_deploy_serve_socket(int sock, iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink,
                                  uint32_t capacity, uint16_t abi, uint8_t *buf, uint32_t buf_len,
                                  int recv_timeout_s) {
  const long long timeout_ms = (long long)recv_timeout_s * 1000;
  struct timeval tv = { .tv_sec = recv_timeout_s, .tv_usec = 0 };
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  iotfw_deploy_rx_init(rx, sink, capacity, abi);
  int32_t st = IOTFW_DEPLOY_MORE;
  while (st == IOTFW_DEPLOY_MORE) {
    ssize_t n = recv_retrying(sock, buf, buf_len, now_ms(), timeout_ms);
    if (n <= 0) { st = iotfw_deploy_rx_closed(rx); break; }
    uint32_t used;
    st = iotfw_deploy_rx_feed(rx, buf, (uint32_t)n, &used);
  }
  if (st != IOTFW_DEPLOY_TRUNCATED) {
    uint8_t answer[IOTFW_DEPLOY_ANSWER_SIZE];
    iotfw_deploy_answer(rx, answer);
    send(sock, answer, sizeof answer, MSG_NOSIGNAL);
    shutdown(sock, SHUT_WR);
    /* Drain until the host closes (it does on reading the answer), so closing with unread bytes does
     * not reset the connection and destroy the answer; bounded as a whole, not per recv. */
    const long long started = now_ms();
    while (now_ms() - started < timeout_ms && recv_retrying(sock, buf, buf_len, started, timeout_ms) > 0) {}
  }
  close(sock);
  return st;
}
