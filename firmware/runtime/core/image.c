/* Wasm partition image header check (docs/wasm-partition.md). The reference reader is
 * host/build/wasm-image.ts parseWasmImage; this one also refuses a HAL ABI it does not implement, an
 * image larger than its partition and a module that is not Wasm, with a distinct status for each.
 * Port-independent; reads only the bytes it is given. */
#include "image.h"

#include <string.h>

#include "sha256.h"

uint16_t iotfw_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
uint32_t iotfw_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int iotfw_image_parse_header(const uint8_t *bytes, uint32_t avail, uint32_t capacity, uint16_t expected_abi,
                             iotfw_image_header_t *out) {
  if (avail < IOTFW_IMAGE_HEADER_SIZE) return IOTFW_IMAGE_SHORT;
  static const uint8_t erased[4] = { 0xFF, 0xFF, 0xFF, 0xFF };
  if (memcmp(bytes + IOTFW_IMAGE_OFF_MAGIC, erased, 4) == 0) return IOTFW_IMAGE_EMPTY;
  if (memcmp(bytes + IOTFW_IMAGE_OFF_MAGIC, "IOTW", 4) != 0) return IOTFW_IMAGE_BAD_MAGIC;
  out->header_version = iotfw_le16(bytes + IOTFW_IMAGE_OFF_HEADER_VERSION);
  out->hal_abi = iotfw_le16(bytes + IOTFW_IMAGE_OFF_HAL_ABI);
  out->module_length = iotfw_le32(bytes + IOTFW_IMAGE_OFF_MODULE_LENGTH);
  memcpy(out->sha256, bytes + IOTFW_IMAGE_OFF_SHA256, 32);
  out->flags = iotfw_le32(bytes + IOTFW_IMAGE_OFF_FLAGS);
  if (out->header_version != IOTFW_IMAGE_HEADER_VERSION) return IOTFW_IMAGE_BAD_VERSION;
  if (out->hal_abi != expected_abi) return IOTFW_IMAGE_BAD_ABI;
  /* 64-bit sum: a length near 4 GiB must not wrap around the comparison. */
  if ((uint64_t)IOTFW_IMAGE_HEADER_SIZE + out->module_length > capacity) return IOTFW_IMAGE_TOO_LARGE;
  return IOTFW_IMAGE_OK;
}

int iotfw_image_is_wasm(const uint8_t *module, uint32_t len) {
  static const uint8_t magic[8] = { 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00 };
  return len >= 8 && memcmp(module, magic, 8) == 0;
}

int iotfw_image_check(const uint8_t *bytes, uint32_t avail, uint32_t capacity, uint16_t expected_abi,
                      iotfw_image_header_t *out, const uint8_t **module) {
  int status = iotfw_image_parse_header(bytes, avail, capacity, expected_abi, out);
  if (status != IOTFW_IMAGE_OK) return status;
  if ((uint64_t)IOTFW_IMAGE_HEADER_SIZE + out->module_length > avail) return IOTFW_IMAGE_TRUNCATED;
  const uint8_t *mod = bytes + IOTFW_IMAGE_HEADER_SIZE;
  if (!iotfw_image_is_wasm(mod, out->module_length)) return IOTFW_IMAGE_NOT_WASM;
  uint8_t digest[IOTFW_SHA256_SIZE];
  iotfw_sha256(mod, out->module_length, digest);
  if (memcmp(digest, out->sha256, IOTFW_SHA256_SIZE) != 0) return IOTFW_IMAGE_BAD_HASH;
  *module = mod;
  return IOTFW_IMAGE_OK;
}

const char *iotfw_image_status_text(int status) {
  switch (status) {
    case IOTFW_IMAGE_OK: return "ok";
    case IOTFW_IMAGE_SHORT: return "shorter than the 64-byte image header";
    case IOTFW_IMAGE_EMPTY: return "the partition is erased (no app flashed)";
    case IOTFW_IMAGE_BAD_MAGIC: return "image magic is not IOTW";
    case IOTFW_IMAGE_BAD_VERSION: return "image header version is not 1";
    case IOTFW_IMAGE_BAD_ABI: return "module was built for a HAL ABI this runtime does not implement";
    case IOTFW_IMAGE_TOO_LARGE: return "image is larger than the partition";
    case IOTFW_IMAGE_TRUNCATED: return "image is shorter than its length field says";
    case IOTFW_IMAGE_NOT_WASM: return "module is not a WebAssembly binary";
    case IOTFW_IMAGE_BAD_HASH: return "module SHA-256 does not match the image header";
    default: return "unknown image status";
  }
}
