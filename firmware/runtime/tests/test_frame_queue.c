/* The frame queue: FIFO order, refuse-newest when full (counted, ERR_NOT_READY as the HAL's frame_out
 * promises), wrap-around of the byte ring, size limits, peek without removing. */
#include <string.h>

#include "../core/frame_queue.h"
#include "../hal_link.generated.h"
#include "check.h"

void test_frame_queue(void) {
  uint8_t storage[100];
  iotfw_frame_queue_t q;
  iotfw_fq_init(&q, storage, sizeof storage);
  uint8_t frame[40], out[IOTFW_FRAME_MAX];
  CHECK_EQ(iotfw_fq_peek(&q, out, sizeof out), 0); /* empty */

  /* Three 30-byte frames take 96 of 100 bytes; the fourth is refused, the first three stay. */
  for (int i = 0; i < 3; i++) { memset(frame, 'a' + i, 30); CHECK_EQ(iotfw_fq_push(&q, frame, 30), IOTFW_OK); }
  memset(frame, 'z', 30);
  CHECK_EQ(iotfw_fq_push(&q, frame, 30), IOTFW_ERR_NOT_READY);
  CHECK_EQ(q.refused, 1);
  CHECK_EQ(q.count, 3);
  CHECK_EQ(iotfw_fq_peek(&q, out, sizeof out), 30);
  CHECK(out[0] == 'a' && out[29] == 'a'); /* oldest kept: refuse-newest */
  CHECK_EQ(iotfw_fq_peek(&q, out, 10), IOTFW_ERR_INVALID); /* too small a buffer: nothing lost */
  CHECK_EQ(q.count, 3);
  iotfw_fq_drop(&q);
  CHECK_EQ(iotfw_fq_peek(&q, out, sizeof out), 30);
  CHECK(out[0] == 'b');

  /* Wrap-around: a 40-byte frame now crosses the end of the ring and reads back intact. */
  for (int i = 0; i < 40; i++) frame[i] = (uint8_t)(i + 1);
  CHECK_EQ(iotfw_fq_push(&q, frame, 40), IOTFW_ERR_NOT_READY); /* 64 + 42 > 100 */
  iotfw_fq_drop(&q);
  CHECK_EQ(iotfw_fq_push(&q, frame, 40), IOTFW_OK);
  iotfw_fq_drop(&q); /* 'c' */
  CHECK_EQ(iotfw_fq_peek(&q, out, sizeof out), 40);
  CHECK(memcmp(out, frame, 40) == 0);
  iotfw_fq_drop(&q);
  CHECK_EQ(q.count, 0);
  CHECK_EQ(q.used, 0);

  /* Size limits: empty and over 512 bytes are invalid, counted apart from "full". */
  CHECK_EQ(iotfw_fq_push(&q, frame, 0), IOTFW_ERR_INVALID);
  uint8_t big_storage[2048], big[IOTFW_FRAME_MAX + 1];
  memset(big, 7, sizeof big);
  iotfw_fq_init(&q, big_storage, sizeof big_storage);
  CHECK_EQ(iotfw_fq_push(&q, big, IOTFW_FRAME_MAX + 1), IOTFW_ERR_INVALID);
  CHECK_EQ(q.invalid, 1);
  CHECK_EQ(iotfw_fq_push(&q, big, IOTFW_FRAME_MAX), IOTFW_OK);
  CHECK_EQ(iotfw_fq_peek(&q, out, sizeof out), IOTFW_FRAME_MAX);

  /* Many pushes and drops in a row keep FIFO order across many wraps. */
  iotfw_fq_init(&q, storage, sizeof storage);
  int next_in = 0, next_out = 0, order_ok = 1;
  for (int round = 0; round < 500; round++) {
    uint8_t f[13];
    memset(f, (uint8_t)next_in, sizeof f);
    if (iotfw_fq_push(&q, f, (uint32_t)(1 + next_in % 13)) == IOTFW_OK) next_in++;
    if (round % 3 != 0) {
      int32_t n = iotfw_fq_peek(&q, out, sizeof out);
      if (n > 0) { if (out[0] != (uint8_t)next_out || n != 1 + next_out % 13) order_ok = 0; next_out++; iotfw_fq_drop(&q); }
    }
  }
  CHECK(order_ok);
}
