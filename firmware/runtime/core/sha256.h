/* SHA-256 (FIPS 180-4), small and portable: the runtime verifies the Wasm partition image's module hash
 * (docs/wasm-partition.md) and the deploy receiver hashes a new image as it streams in.
 * Port-independent; touches only the context it is given. */
#ifndef IOTFW_SHA256_H
#define IOTFW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define IOTFW_SHA256_SIZE 32u

typedef struct {
  uint32_t state[8];
  uint64_t total_bytes;
  uint8_t block[64];
  uint32_t block_used;
} iotfw_sha256_t;

void iotfw_sha256_init(iotfw_sha256_t *ctx);
void iotfw_sha256_update(iotfw_sha256_t *ctx, const uint8_t *data, size_t len);
void iotfw_sha256_final(iotfw_sha256_t *ctx, uint8_t out[IOTFW_SHA256_SIZE]);
/* One-shot convenience. */
void iotfw_sha256(const uint8_t *data, size_t len, uint8_t out[IOTFW_SHA256_SIZE]);

#endif /* IOTFW_SHA256_H */
