/* Bounded frame queue, refuse-newest (see frame_queue.h for why). Touches only the queue's storage. */
#include "frame_queue.h"

#include "../hal_link.generated.h"

void iotfw_fq_init(iotfw_frame_queue_t *q, uint8_t *storage, uint32_t capacity) {
  q->buf = storage;
  q->capacity = capacity;
  q->head = q->used = q->count = q->refused = q->invalid = 0;
}

static void ring_write(iotfw_frame_queue_t *q, uint32_t at, const uint8_t *src, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) q->buf[(at + i) % q->capacity] = src[i];
}

static void ring_read(const iotfw_frame_queue_t *q, uint32_t at, uint8_t *dst, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) dst[i] = q->buf[(at + i) % q->capacity];
}

int32_t iotfw_fq_push(iotfw_frame_queue_t *q, const uint8_t *frame, uint32_t len) {
  if (len == 0 || len > IOTFW_FRAME_MAX) { q->invalid++; return IOTFW_ERR_INVALID; }
  if (q->used + 2u + len > q->capacity) { q->refused++; return IOTFW_ERR_NOT_READY; }
  uint8_t prefix[2] = { (uint8_t)len, (uint8_t)(len >> 8) };
  uint32_t tail = (q->head + q->used) % q->capacity;
  ring_write(q, tail, prefix, 2);
  ring_write(q, (tail + 2u) % q->capacity, frame, len);
  q->used += 2u + len;
  q->count++;
  return IOTFW_OK;
}

int32_t iotfw_fq_peek(const iotfw_frame_queue_t *q, uint8_t *out, uint32_t max) {
  if (q->count == 0) return 0;
  uint8_t prefix[2];
  ring_read(q, q->head, prefix, 2);
  uint32_t len = (uint32_t)prefix[0] | ((uint32_t)prefix[1] << 8);
  if (len > max) return IOTFW_ERR_INVALID;
  ring_read(q, (q->head + 2u) % q->capacity, out, len);
  return (int32_t)len;
}

void iotfw_fq_drop(iotfw_frame_queue_t *q) {
  if (q->count == 0) return;
  uint8_t prefix[2];
  ring_read(q, q->head, prefix, 2);
  uint32_t len = (uint32_t)prefix[0] | ((uint32_t)prefix[1] << 8);
  q->head = (q->head + 2u + len) % q->capacity;
  q->used -= 2u + len;
  q->count--;
  if (q->count == 0) q->head = q->used = 0;
}
