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
#include "frame_queue.h"

#include <errno.h>
#include <string.h>
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

/* Send the answer, half-close, drain until the host closes (it does on reading the answer, so closing
 * with unread bytes does not reset the connection and destroy the answer; bounded as a whole). */
static void answer_and_drain(int sock, const uint8_t *answer, uint32_t len, uint8_t *buf, uint32_t buf_len, long long timeout_ms) {
  send(sock, answer, len, MSG_NOSIGNAL);
  shutdown(sock, SHUT_WR);
  const long long started = now_ms();
  while (now_ms() - started < timeout_ms && recv_retrying(sock, buf, buf_len, started, timeout_ms) > 0) {}
}

/* Receive until buf holds at least `need` bytes (of buf_len); returns how many it holds (fewer: the
 * peer closed or went silent). */
static uint32_t recv_at_least(int sock, uint8_t *buf, uint32_t have, uint32_t need, uint32_t buf_len, long long timeout_ms) {
  while (have < need) {
    ssize_t n = recv_retrying(sock, buf + have, buf_len - have, now_ms(), timeout_ms);
    if (n <= 0) break;
    have += (uint32_t)n;
  }
  return have;
}

static void put_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

/* An "IOTC" request whose first `have` bytes are in buf. */
static int32_t serve_control(int sock, const iotfw_control_port_t *control, uint8_t *buf, uint32_t have, uint32_t buf_len, long long timeout_ms) {
  static uint8_t answer[12 + IOTFW_FRAME_MAX];
  uint32_t ack_len = 0;
  int32_t status = IOTFW_CONTROL_BAD_REQUEST;
  have = recv_at_least(sock, buf, have, 8, buf_len, timeout_ms);
  if (have < 8) { close(sock); return IOTFW_DEPLOY_TRUNCATED; }
  const uint32_t len = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | ((uint32_t)buf[6] << 8) | buf[7];
  if (len > 0 && len <= IOTFW_FRAME_MAX && 8 + len <= buf_len) {
    have = recv_at_least(sock, buf, have, 8 + len, buf_len, timeout_ms);
    if (have < 8 + len) { close(sock); return IOTFW_DEPLOY_TRUNCATED; }
    status = control->handle(control->ctx, buf + 8, len, answer + 12, IOTFW_FRAME_MAX, &ack_len);
    if (status != IOTFW_CONTROL_OK) ack_len = 0;
  }
  memcpy(answer, "IOTC", 4);
  put_be32(answer + 4, (uint32_t)status);
  put_be32(answer + 8, ack_len);
  answer_and_drain(sock, answer, 12 + ack_len, buf, buf_len, timeout_ms);
  close(sock);
  return IOTFW_DEPLOY_CONTROL;
}

int32_t iotfw_deploy_serve_socket(int sock, iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink,
                                  uint32_t capacity, uint16_t abi, const iotfw_control_port_t *control,
                                  uint8_t *buf, uint32_t buf_len, int recv_timeout_s) {
  const long long timeout_ms = (long long)recv_timeout_s * 1000;
  struct timeval tv = { .tv_sec = recv_timeout_s, .tv_usec = 0 };
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  iotfw_deploy_rx_init(rx, sink, capacity, abi);
  int32_t st = IOTFW_DEPLOY_MORE;
  if (control) {
    /* The first four bytes say which request this is. */
    uint32_t have = recv_at_least(sock, buf, 0, 4, buf_len, timeout_ms);
    if (have >= 4 && memcmp(buf, "IOTC", 4) == 0) return serve_control(sock, control, buf, have, buf_len, timeout_ms);
    if (have == 0) st = iotfw_deploy_rx_closed(rx);
    else {
      uint32_t used;
      st = iotfw_deploy_rx_feed(rx, buf, have, &used);
    }
  }
  while (st == IOTFW_DEPLOY_MORE) {
    ssize_t n = recv_retrying(sock, buf, buf_len, now_ms(), timeout_ms);
    if (n <= 0) { st = iotfw_deploy_rx_closed(rx); break; }
    uint32_t used;
    st = iotfw_deploy_rx_feed(rx, buf, (uint32_t)n, &used);
  }
  if (st != IOTFW_DEPLOY_TRUNCATED) {
    uint8_t answer[IOTFW_DEPLOY_ANSWER_SIZE];
    iotfw_deploy_answer(rx, answer);
    answer_and_drain(sock, answer, sizeof answer, buf, buf_len, timeout_ms);
  }
  close(sock);
  return st;
}
