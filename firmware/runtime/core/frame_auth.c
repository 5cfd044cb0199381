/* HMAC-SHA256 and frame signing/opening for keyed devices (see frame_auth.h for the layout and why the
 * runtime, not the module, holds the key). Touches only the buffers and key state it is given. */
#include "frame_auth.h"

#include <string.h>

#define FRAME_MIN 20u         /* docs/protocol.md: the smallest frame (a CONTROL without arguments) */
#define FRAME_MAX 512u
#define HEADER_FLAGS_AT 2u
#define CRC_SIZE 4u
#define SHA256_BLOCK 64u

void iotfw_hmac_key_init(iotfw_hmac_key_t *key, const uint8_t *bytes, size_t len) {
  uint8_t block[SHA256_BLOCK] = { 0 };
  if (len > SHA256_BLOCK) iotfw_sha256(bytes, len, block);
  else memcpy(block, bytes, len);
  uint8_t pad[SHA256_BLOCK];
  for (unsigned i = 0; i < SHA256_BLOCK; i++) pad[i] = (uint8_t)(block[i] ^ 0x36u);
  iotfw_sha256_init(&key->inner);
  iotfw_sha256_update(&key->inner, pad, sizeof pad);
  for (unsigned i = 0; i < SHA256_BLOCK; i++) pad[i] = (uint8_t)(block[i] ^ 0x5cu);
  iotfw_sha256_init(&key->outer);
  iotfw_sha256_update(&key->outer, pad, sizeof pad);
  memset(block, 0, sizeof block); /* no copy of the key left on the stack */
  memset(pad, 0, sizeof pad);
}

void iotfw_hmac_sha256(const iotfw_hmac_key_t *key, const uint8_t *data, size_t len, uint8_t out[IOTFW_SHA256_SIZE]) {
  iotfw_sha256_t ctx = key->inner;
  uint8_t inner[IOTFW_SHA256_SIZE];
  iotfw_sha256_update(&ctx, data, len);
  iotfw_sha256_final(&ctx, inner);
  ctx = key->outer;
  iotfw_sha256_update(&ctx, inner, sizeof inner);
  iotfw_sha256_final(&ctx, out);
}

/* Bitwise: a frame is at most 512 bytes and is checked once, so a 1 KiB table is not worth its RAM. */
uint32_t iotfw_crc32(const uint8_t *data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (unsigned b = 0; b < 8; b++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

static uint32_t read_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void write_crc(uint8_t *frame, uint32_t body_len) {
  uint32_t crc = iotfw_crc32(frame, body_len);
  for (unsigned i = 0; i < 4; i++) frame[body_len + i] = (uint8_t)(crc >> (8 * i));
}

static int crc_ok(const uint8_t *frame, uint32_t len) {
  return iotfw_crc32(frame, len - CRC_SIZE) == read_le32(frame + len - CRC_SIZE);
}

int32_t iotfw_frame_sign(const iotfw_hmac_key_t *key, const uint8_t *frame, uint32_t len, uint8_t *out) {
  if (len < FRAME_MIN || len > FRAME_MAX - IOTFW_HMAC_SIZE || frame[HEADER_FLAGS_AT] != 0 || !crc_ok(frame, len)) return -1;
  uint32_t signed_part = len - CRC_SIZE; /* header (flags set) and payload */
  memcpy(out, frame, signed_part);
  out[HEADER_FLAGS_AT] = IOTFW_FLAG_HMAC;
  uint8_t mac[IOTFW_SHA256_SIZE];
  iotfw_hmac_sha256(key, out, signed_part, mac);
  memcpy(out + signed_part, mac, IOTFW_HMAC_SIZE);
  write_crc(out, signed_part + IOTFW_HMAC_SIZE);
  return (int32_t)(len + IOTFW_HMAC_SIZE);
}

int32_t iotfw_frame_open(const iotfw_hmac_key_t *key, const uint8_t *frame, uint32_t len, uint8_t *out) {
  if (len < 3u || frame[HEADER_FLAGS_AT] != IOTFW_FLAG_HMAC) return IOTFW_AUTH_UNSIGNED;
  if (len < FRAME_MIN + IOTFW_HMAC_SIZE || len > FRAME_MAX || !crc_ok(frame, len)) return IOTFW_AUTH_BAD_FRAME;
  uint32_t signed_part = len - CRC_SIZE - IOTFW_HMAC_SIZE;
  uint8_t mac[IOTFW_SHA256_SIZE];
  iotfw_hmac_sha256(key, frame, signed_part, mac);
  uint8_t differ = 0; /* constant time: no early exit on the first wrong byte */
  for (unsigned i = 0; i < IOTFW_HMAC_SIZE; i++) differ |= (uint8_t)(mac[i] ^ frame[signed_part + i]);
  if (differ != 0) return IOTFW_AUTH_BAD_HMAC;
  memcpy(out, frame, signed_part);
  out[HEADER_FLAGS_AT] = 0;
  write_crc(out, signed_part);
  return (int32_t)(signed_part + CRC_SIZE);
}
