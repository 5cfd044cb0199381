/* The deploy receiver against real images (fixtures/deploy.txt: "<file> <status> <detail>" where each
 * file is a whole request: "IOTD" + u32 BE length + image from encodeWasmImage), fed in pieces of
 * several sizes into a RAM sink; failures never reach commit, and stop before the bad part is stored. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/deploy.h"
#include "../core/deploy_socket.h"
#include "../hal_link.generated.h"
#include "check.h"

static struct {
  uint8_t staged[256 * 1024];
  uint32_t len, written_max;
  int begun, committed, aborted, validated;
  int fail_write_at; /* -1: never */
  int reject;
} sink_state;

static int s_begin(void *ctx, uint32_t len) { (void)ctx; sink_state.begun++; sink_state.len = len; return 0; }
static int s_write(void *ctx, uint32_t off, const uint8_t *data, uint32_t len) {
  (void)ctx;
  if (sink_state.fail_write_at >= 0 && off + len > (uint32_t)sink_state.fail_write_at) return -1;
  if (off + len > sizeof sink_state.staged) return -1;
  memcpy(sink_state.staged + off, data, len);
  if (off + len > sink_state.written_max) sink_state.written_max = off + len;
  return 0;
}
static int s_validate(void *ctx) { (void)ctx; sink_state.validated++; return sink_state.reject; }
static int s_commit(void *ctx) { (void)ctx; sink_state.committed++; return 0; }
static void s_abort(void *ctx) { (void)ctx; sink_state.aborted++; }
static const iotfw_deploy_sink_t sink = { NULL, s_begin, s_write, s_validate, s_commit, s_abort };

static int32_t run(const uint8_t *req, uint32_t len, uint32_t piece, uint32_t capacity, uint32_t *detail) {
  iotfw_deploy_rx_t rx;
  sink_state.len = 0;
  sink_state.begun = sink_state.committed = sink_state.aborted = sink_state.validated = 0;
  sink_state.written_max = 0;
  iotfw_deploy_rx_init(&rx, &sink, capacity, IOTFW_HAL_VERSION);
  int32_t st = IOTFW_DEPLOY_MORE;
  for (uint32_t at = 0; at < len && st == IOTFW_DEPLOY_MORE;) {
    uint32_t n = len - at < piece ? len - at : piece, used = 0;
    st = iotfw_deploy_rx_feed(&rx, req + at, n, &used);
    at += used;
  }
  if (st == IOTFW_DEPLOY_MORE) st = iotfw_deploy_rx_closed(&rx);
  *detail = rx.detail;
  uint8_t answer[IOTFW_DEPLOY_ANSWER_SIZE];
  iotfw_deploy_answer(&rx, answer);
  CHECK(memcmp(answer, "IOTD", 4) == 0);
  int32_t wire = (int32_t)(((uint32_t)answer[4] << 24) | ((uint32_t)answer[5] << 16) | ((uint32_t)answer[6] << 8) | answer[7]);
  CHECK_EQ(wire, st);
  return st;
}

void test_deploy(void) {
  unsigned long list_len;
  unsigned char *list = read_fixture("deploy.txt", &list_len);
  if (!list) return;
  list = realloc(list, list_len + 1);
  list[list_len] = 0;
  static const uint32_t pieces[] = { 1, 7, 64, 1460, 1u << 20 };
  const uint32_t capacity = 128 * 1024;
  sink_state.fail_write_at = -1;
  sink_state.reject = 0;
  int cases = 0;
  unsigned char *good = NULL;
  unsigned long good_len = 0;
  for (char *line = strtok((char *)list, "\n"); line; line = strtok(NULL, "\n")) {
    char file[128];
    int expected;
    unsigned long expected_detail;
    if (sscanf(line, "%127s %d %lu", file, &expected, &expected_detail) != 3) continue;
    unsigned long len;
    unsigned char *req = read_fixture(file, &len);
    if (!req) continue;
    for (unsigned p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
      uint32_t detail;
      int32_t st = run(req, (uint32_t)len, pieces[p], capacity, &detail);
      if (st != expected) printf("  deploy %s in %u-byte pieces: %d (%s), expected %d\n", file, pieces[p], st, iotfw_deploy_status_text(st), expected);
      CHECK_EQ(st, expected);
      CHECK_EQ(detail, expected_detail);
      CHECK_EQ(sink_state.committed, expected == IOTFW_DEPLOY_OK ? 1 : 0);
      if (expected == IOTFW_DEPLOY_OK) {
        CHECK_EQ(sink_state.written_max, len - 8);
        CHECK(memcmp(sink_state.staged, req + 8, len - 8) == 0);
        CHECK_EQ(sink_state.aborted, 0);
      } else if (sink_state.begun) {
        CHECK_EQ(sink_state.aborted, 1);
      }
    }
    if (expected == IOTFW_DEPLOY_OK && good == NULL) { good = req; good_len = len; } else free(req);
    cases++;
  }
  CHECK_MSG(cases >= 6, "deploy.txt lists the deploy cases");
  free(list);
  if (!good) return;

  uint32_t detail;
  /* Too large for this device: refused after the 8-byte request, nothing staged. */
  CHECK_EQ(run(good, (uint32_t)good_len, 64, 100, &detail), IOTFW_DEPLOY_TOO_LARGE);
  CHECK_EQ(detail, 100);
  CHECK_EQ(sink_state.begun, 0);
  /* The connection drops halfway: truncated, staging aborted. */
  CHECK_EQ(run(good, (uint32_t)good_len / 2, 64, capacity, &detail), IOTFW_DEPLOY_TRUNCATED);
  CHECK_EQ(sink_state.aborted, 1);
  CHECK_EQ(sink_state.committed, 0);
  /* Storage fails: WRITE_FAILED; the engine refuses the module: REJECTED. Neither commits. */
  sink_state.fail_write_at = 200;
  iotfw_deploy_rx_t rx;
  iotfw_deploy_rx_init(&rx, &sink, capacity, IOTFW_HAL_VERSION);
  uint32_t used;
  CHECK_EQ(iotfw_deploy_rx_feed(&rx, good, (uint32_t)good_len, &used), IOTFW_DEPLOY_WRITE_FAILED);
  sink_state.fail_write_at = -1;
  sink_state.reject = 1;
  CHECK_EQ(run(good, (uint32_t)good_len, 1460, capacity, &detail), IOTFW_DEPLOY_REJECTED);
  CHECK_EQ(sink_state.validated, 1);
  CHECK_EQ(sink_state.committed, 0);
  sink_state.reject = 0;
  CHECK_EQ(run(good, (uint32_t)good_len, 1460, capacity, &detail), IOTFW_DEPLOY_OK);

  /* The socket loop both ports use, over a real socket pair: the host writes the request and half-closes;
   * the device side stages and commits it, answers, drains and closes. */
  int pair[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  CHECK_EQ(write(pair[0], good, good_len), (long)good_len);
  shutdown(pair[0], SHUT_WR);
  sink_state.committed = 0;
  static uint8_t buf[512];
  CHECK_EQ(iotfw_deploy_serve_socket(pair[1], &rx, &sink, capacity, IOTFW_HAL_VERSION, NULL, buf, sizeof buf, 2), IOTFW_DEPLOY_OK);
  CHECK_EQ(sink_state.committed, 1);
  uint8_t answer[IOTFW_DEPLOY_ANSWER_SIZE];
  CHECK_EQ(read(pair[0], answer, sizeof answer), (long)sizeof answer);
  CHECK(memcmp(answer, "IOTD", 4) == 0);
  CHECK_EQ(answer[4] | answer[5] | answer[6] | answer[7], 0); /* status OK, big-endian */
  close(pair[0]);
  free(good);
}
