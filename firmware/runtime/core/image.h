/* The Wasm partition image header (docs/wasm-partition.md, "Layout" and "Reading it"): parse and check
 * the 64-byte header, then the module's SHA-256. Used at boot (partition or file) and by the deploy
 * receiver. Port-independent; reads only the bytes it is given. */
#ifndef IOTFW_IMAGE_H
#define IOTFW_IMAGE_H

#include <stdint.h>

#define IOTFW_IMAGE_HEADER_SIZE 64u
#define IOTFW_IMAGE_HEADER_VERSION 1u
/* docs/wasm-partition.md "Layout": field offsets, little-endian. */
#define IOTFW_IMAGE_OFF_MAGIC 0u
#define IOTFW_IMAGE_OFF_HEADER_VERSION 4u
#define IOTFW_IMAGE_OFF_HAL_ABI 6u
#define IOTFW_IMAGE_OFF_MODULE_LENGTH 8u
#define IOTFW_IMAGE_OFF_SHA256 12u
#define IOTFW_IMAGE_OFF_FLAGS 44u

typedef enum {
  IOTFW_IMAGE_OK = 0,
  IOTFW_IMAGE_SHORT = -1,       /* fewer than 64 bytes */
  IOTFW_IMAGE_EMPTY = -2,       /* an erased partition (FF FF FF FF): no app flashed */
  IOTFW_IMAGE_BAD_MAGIC = -3,   /* not "IOTW" */
  IOTFW_IMAGE_BAD_VERSION = -4, /* header version other than 1 */
  IOTFW_IMAGE_BAD_ABI = -5,     /* a HAL ABI this runtime does not implement */
  IOTFW_IMAGE_TOO_LARGE = -6,   /* 64 + length larger than the partition (or deploy staging area) */
  IOTFW_IMAGE_TRUNCATED = -7,   /* fewer module bytes present than the length field says */
  IOTFW_IMAGE_NOT_WASM = -8,    /* the module does not start with "\0asm" version 1 */
  IOTFW_IMAGE_BAD_HASH = -9     /* SHA-256 of the module differs from the header's */
} iotfw_image_status_t;

typedef struct {
  uint16_t header_version;
  uint16_t hal_abi;
  uint32_t module_length;
  uint8_t sha256[32];
  uint32_t flags;
} iotfw_image_header_t;

/* Steps 2-4 of "Reading it": magic, header version, ABI (must equal expected_abi), 64 + length <= capacity. */
int iotfw_image_parse_header(const uint8_t *bytes, uint32_t avail, uint32_t capacity, uint16_t expected_abi,
                             iotfw_image_header_t *out);

/* The whole check (steps 2-5) on an image in memory (a mapped partition, a file read into RAM): fills
 * *out and points *module at the module bytes inside `bytes` on success. */
int iotfw_image_check(const uint8_t *bytes, uint32_t avail, uint32_t capacity, uint16_t expected_abi,
                      iotfw_image_header_t *out, const uint8_t **module);

/* True when the first 8 module bytes are the Wasm binary magic and version 1 (WebAssembly Core
 * Specification 5.5.16: 00 61 73 6D 01 00 00 00). */
int iotfw_image_is_wasm(const uint8_t *module, uint32_t len);

/* A short English reason for a status (for the console and the deploy answer). */
const char *iotfw_image_status_text(int status);

uint16_t iotfw_le16(const uint8_t *p);
uint32_t iotfw_le32(const uint8_t *p);

#endif /* IOTFW_IMAGE_H */
