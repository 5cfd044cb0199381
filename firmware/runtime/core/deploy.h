/* The deploy receiver (docs/runtime.md "Deploy protocol"): a new Wasm partition image arrives over TCP
 * on the device's deploy port, is checked as it streams in (deploy header, image header, HAL ABI, size,
 * Wasm magic, SHA-256), written to a staging area through the port's sink, validated by the engine,
 * and only then installed; the device answers with a 12-byte status. The old module keeps running
 * until the new one is installed, and keeps running if anything fails.
 *
 *   request:  "IOTD" (49 4F 54 44) | u32 big-endian image length | the image (docs/wasm-partition.md)
 *   answer:   "IOTD" | i32 big-endian status (IOTFW_DEPLOY_*) | u32 big-endian detail
 *
 * Port-independent state machine; the port owns the socket, the flash or file (sink) and the restart. */
#ifndef IOTFW_DEPLOY_H
#define IOTFW_DEPLOY_H

#include <stdint.h>

#include "image.h"
#include "sha256.h"

#define IOTFW_DEPLOY_REQUEST_SIZE 8u
#define IOTFW_DEPLOY_ANSWER_SIZE 12u

typedef enum {
  IOTFW_DEPLOY_CONTROL = 2,       /* not a deploy: a control request ("IOTC") was answered (deploy_socket.h) */
  IOTFW_DEPLOY_MORE = 1,          /* feed more bytes */
  IOTFW_DEPLOY_OK = 0,            /* installed: restart the module (IOTFW_RESET_REMOTE) */
  IOTFW_DEPLOY_BAD_REQUEST = -1,  /* not "IOTD", or an image length under 64 + 8 */
  IOTFW_DEPLOY_TOO_LARGE = -2,    /* detail: the most bytes this device accepts */
  IOTFW_DEPLOY_BAD_IMAGE = -3,    /* image magic, header version, length field or Wasm magic; detail: iotfw_image_status_t */
  IOTFW_DEPLOY_BAD_ABI = -4,      /* detail: the HAL ABI this device implements */
  IOTFW_DEPLOY_BAD_HASH = -5,     /* the module does not hash to the header's SHA-256 */
  IOTFW_DEPLOY_WRITE_FAILED = -6, /* the staging area could not be written or installed */
  IOTFW_DEPLOY_REJECTED = -7,     /* the engine refused the module (parse, link, abi_version export) */
  IOTFW_DEPLOY_BUSY = -8,         /* another deploy is in progress */
  IOTFW_DEPLOY_TRUNCATED = -9     /* the connection closed before the whole image arrived (no answer sent) */
} iotfw_deploy_status_t;

/* Where the image goes (ESP32: the upper half of the wasm partition, then copied to its start; Linux:
 * a temporary file renamed over the module file). Each returns 0, or non-zero on failure. */
typedef struct {
  void *ctx;
  int (*begin)(void *ctx, uint32_t image_len);
  int (*write)(void *ctx, uint32_t offset, const uint8_t *data, uint32_t len);
  int (*validate)(void *ctx); /* may be NULL */
  int (*commit)(void *ctx);
  void (*abort)(void *ctx);
} iotfw_deploy_sink_t;

typedef struct {
  const iotfw_deploy_sink_t *sink;
  uint32_t capacity;
  uint16_t abi;
  int state;
  uint8_t request[IOTFW_DEPLOY_REQUEST_SIZE];
  uint8_t header[IOTFW_IMAGE_HEADER_SIZE];
  uint8_t wasm_magic[8];
  uint32_t image_len;
  uint32_t got; /* bytes of the current part received */
  uint32_t written;
  iotfw_image_header_t parsed;
  iotfw_sha256_t sha;
  int32_t status;
  uint32_t detail;
  int sink_open;
} iotfw_deploy_rx_t;

/* capacity: the largest image (header included) the device accepts; abi: the HAL ABI it implements. */
void iotfw_deploy_rx_init(iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink, uint32_t capacity, uint16_t abi);
/* Feed received bytes; *consumed says how many were used. Returns IOTFW_DEPLOY_MORE, or the final status
 * (then send iotfw_deploy_answer, half-close, and on IOTFW_DEPLOY_OK restart the module). */
int32_t iotfw_deploy_rx_feed(iotfw_deploy_rx_t *rx, const uint8_t *data, uint32_t len, uint32_t *consumed);
/* The peer closed (or timed out) before the end: abort the staging, IOTFW_DEPLOY_TRUNCATED. */
int32_t iotfw_deploy_rx_closed(iotfw_deploy_rx_t *rx);
void iotfw_deploy_answer(const iotfw_deploy_rx_t *rx, uint8_t out[IOTFW_DEPLOY_ANSWER_SIZE]);
const char *iotfw_deploy_status_text(int32_t status);

#endif /* IOTFW_DEPLOY_H */
