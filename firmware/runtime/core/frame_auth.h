/* Per-device keys on the device side (docs/protocol.md "HMAC trailer"): HMAC-SHA256 (RFC 2104) over
 * sha256.c, and the two frame operations the runtime does for a keyed device: sign every frame the
 * module hands to frame_out (flags 0x01, 8-byte truncated HMAC, CRC-32 recomputed) and open every
 * downlink frame (check CRC and HMAC, strip the trailer) before the module's control() sees it. The key
 * belongs to the runtime, never to the Wasm module. Mirrors host/protocol/hmac.ts.
 * Port-independent; touches only the buffers and key state it is given. */
#ifndef IOTFW_FRAME_AUTH_H
#define IOTFW_FRAME_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define IOTFW_FLAG_HMAC 0x01u   /* header byte 2, bit 0: an HMAC trailer follows the payload */
#define IOTFW_HMAC_SIZE 8u      /* bytes of the truncated HMAC-SHA256 in the trailer */
#define IOTFW_KEY_MIN 16u       /* a device key is 16 to 64 bytes (docs/bridge.md "Keys") */
#define IOTFW_KEY_MAX 64u

/* iotfw_frame_open's refusals (negative, so a length is never mistaken for one). */
#define IOTFW_AUTH_UNSIGNED (-1)  /* flags are not 0x01: no trailer */
#define IOTFW_AUTH_BAD_FRAME (-2) /* length outside 28..512 or a wrong CRC */
#define IOTFW_AUTH_BAD_HMAC (-3)  /* structure fine, but the trailer is not this key's HMAC */

/* A key prepared once: the SHA-256 states after the inner (key ^ 0x36) and outer (key ^ 0x5c) pad
 * blocks, so each HMAC costs two compressions less and the raw key need not be kept. */
typedef struct {
  iotfw_sha256_t inner;
  iotfw_sha256_t outer;
} iotfw_hmac_key_t;

/* Any key length (a key longer than 64 bytes is hashed first, RFC 2104). */
void iotfw_hmac_key_init(iotfw_hmac_key_t *key, const uint8_t *bytes, size_t len);
void iotfw_hmac_sha256(const iotfw_hmac_key_t *key, const uint8_t *data, size_t len, uint8_t out[IOTFW_SHA256_SIZE]);

/* CRC-32 as in docs/protocol.md "Integrity" (zlib's: reflected 0xEDB88320, init and final XOR ~0). */
uint32_t iotfw_crc32(const uint8_t *data, size_t len);

/* Sign a plain frame (flags 0, valid CRC, 20..504 bytes) into out (len + 8 bytes; out must not overlap
 * frame). Returns the signed length, or -1 when frame is not such a frame. */
int32_t iotfw_frame_sign(const iotfw_hmac_key_t *key, const uint8_t *frame, uint32_t len, uint8_t *out);
/* Check a signed frame and write the plain frame (flags 0, trailer removed, CRC recomputed) to out
 * (len - 8 bytes; must not overlap frame). Returns the plain length or an IOTFW_AUTH_* refusal. The
 * HMAC comparison takes the same time whatever bytes differ. */
int32_t iotfw_frame_open(const iotfw_hmac_key_t *key, const uint8_t *frame, uint32_t len, uint8_t *out);

#endif /* IOTFW_FRAME_AUTH_H */
