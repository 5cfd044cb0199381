/* The bounded RAM queue of encoded frames between the module (HAL frame_out) and the link (UART or TCP).
 * Policy: refuse-newest. A full queue refuses the frame being offered (frame_out returns ERR_NOT_READY,
 * as the HAL contract says, so the module counts it in STATUS "dropped") and counts it here; frames
 * already queued are never overwritten, so a HELLO queued before a Wi-Fi outage still leads the stream
 * when the link comes back. Variable-length entries (u16 length + bytes) in a byte ring, so small
 * frames do not pay for 512-byte slots. Port-independent, not thread-safe: a port whose link runs in
 * another task wraps push/peek/drop in its own lock. */
#ifndef IOTFW_FRAME_QUEUE_H
#define IOTFW_FRAME_QUEUE_H

#include <stdint.h>

#define IOTFW_FRAME_MAX 512u /* docs/protocol.md "Conventions": a frame is at most 512 bytes */

typedef struct {
  uint8_t *buf;
  uint32_t capacity; /* bytes of buf */
  uint32_t head;     /* offset of the oldest entry's length */
  uint32_t used;     /* bytes in use, length prefixes included */
  uint32_t count;    /* frames queued */
  uint32_t refused;  /* frames refused because the queue was full */
  uint32_t invalid;  /* frames refused for their size (0 or over IOTFW_FRAME_MAX) */
} iotfw_frame_queue_t;

void iotfw_fq_init(iotfw_frame_queue_t *q, uint8_t *storage, uint32_t capacity);
/* IOTFW_OK, IOTFW_ERR_NOT_READY (full: refused and counted) or IOTFW_ERR_INVALID (bad size). */
int32_t iotfw_fq_push(iotfw_frame_queue_t *q, const uint8_t *frame, uint32_t len);
/* Copy the oldest frame to out (max bytes) without removing it; returns its length, 0 when empty, or
 * IOTFW_ERR_INVALID when out is too small. The link drops it with iotfw_fq_drop once it is sent. */
int32_t iotfw_fq_peek(const iotfw_frame_queue_t *q, uint8_t *out, uint32_t max);
void iotfw_fq_drop(iotfw_frame_queue_t *q);

#endif /* IOTFW_FRAME_QUEUE_H */
