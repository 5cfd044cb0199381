/* SHA-256 against FIPS 180-2 appendix B examples; the image header check against real images made by
 * host/build/wasm-image.ts encodeWasmImage (good, corrupted, wrong ABI, erased, truncated), listed in
 * fixtures/images.txt as "<file> <expected status> <capacity>". */
#include <stdlib.h>
#include <string.h>

#include "../core/image.h"
#include "../core/sha256.h"
#include "../hal_link.generated.h"
#include "check.h"

static void hex32(const unsigned char *d, char *out) {
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256(void) {
  unsigned char d[32];
  char h[65];
  iotfw_sha256((const unsigned char *)"abc", 3, d);
  hex32(d, h);
  CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  iotfw_sha256((const unsigned char *)"", 0, d);
  hex32(d, h);
  CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: padding spills a block */
  iotfw_sha256((const unsigned char *)two, strlen(two), d);
  hex32(d, h);
  CHECK(strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
  /* Streaming in odd pieces gives the same digest. */
  iotfw_sha256_t ctx;
  iotfw_sha256_init(&ctx);
  for (size_t i = 0; i < strlen(two); i += 7) iotfw_sha256_update(&ctx, (const unsigned char *)two + i, strlen(two) - i < 7 ? strlen(two) - i : 7);
  unsigned char d2[32];
  iotfw_sha256_final(&ctx, d2);
  CHECK(memcmp(d, d2, 32) == 0);
}

void test_image(void) {
  test_sha256();
  unsigned long list_len;
  unsigned char *list = read_fixture("images.txt", &list_len);
  if (!list) return;
  list = realloc(list, list_len + 1);
  list[list_len] = 0;
  int cases = 0;
  for (char *line = strtok((char *)list, "\n"); line; line = strtok(NULL, "\n")) {
    char file[128];
    int expected;
    unsigned long capacity;
    if (sscanf(line, "%127s %d %lu", file, &expected, &capacity) != 3) continue;
    unsigned long len;
    unsigned char *bytes = read_fixture(file, &len);
    if (!bytes) continue;
    iotfw_image_header_t h;
    const uint8_t *module = NULL;
    int status = iotfw_image_check(bytes, (uint32_t)len, (uint32_t)capacity, IOTFW_HAL_VERSION, &h, &module);
    if (status != expected) printf("  image %s: got %d (%s), expected %d\n", file, status, iotfw_image_status_text(status), expected);
    CHECK_EQ(status, expected);
    if (status == IOTFW_IMAGE_OK) {
      CHECK(module == bytes + 64);
      CHECK_EQ(h.hal_abi, IOTFW_HAL_VERSION);
      CHECK(iotfw_image_is_wasm(module, h.module_length));
    }
    free(bytes);
    cases++;
  }
  CHECK_MSG(cases >= 8, "images.txt lists the image cases");
  free(list);
}
