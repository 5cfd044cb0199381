/* HMAC-SHA256 and frame signing/opening (core/frame_auth.c) against real bytes from the host
 * (fixtures/hmac.txt, written by c-harness.ts): HMACs from node:crypto around the SHA-256 block edges
 * and for keys longer than a block, and every docs/protocol-vectors.json frame signed by
 * host/protocol/hmac.ts under 16-, 32- and 64-byte keys. Then the refusals: unsigned, corrupt, forged. */
#include <stdlib.h>
#include <string.h>

#include "../core/frame_auth.h"
#include "check.h"

/* Each line of hmac.txt as whitespace-separated fields; calls visit(fields, n) for each. */
static void each_line(void (*visit)(char **fields, int n, void *ctx), void *ctx) {
  unsigned long len;
  unsigned char *text = read_fixture("hmac.txt", &len);
  if (text == NULL) return;
  char *copy = malloc(len + 1);
  memcpy(copy, text, len);
  copy[len] = 0;
  char *fields[6];
  int n = 0, in_field = 0;
  for (char *p = copy; p <= copy + len; p++) { /* split in place: spaces end fields, newlines end lines */
    char c = *p;
    if (c == ' ' || c == '\n' || c == 0) {
      *p = 0;
      in_field = 0;
      if ((c == '\n' || c == 0) && n > 0) { visit(fields, n, ctx); n = 0; }
    } else if (!in_field) {
      in_field = 1;
      if (n < 6) fields[n++] = p;
    }
  }
  free(copy);
  free(text);
}

static int macs_checked, frames_checked;

static void check_mac(char **f, int n, void *ctx) {
  (void)ctx;
  if (n != 4 || strcmp(f[0], "mac") != 0) return;
  static unsigned char key[256], data[1024], want[32], got[32];
  long key_len = parse_hex(f[1], key, sizeof key);
  long data_len = strcmp(f[2], "-") == 0 ? 0 : parse_hex(f[2], data, sizeof data);
  CHECK(key_len > 0 && data_len >= 0 && parse_hex(f[3], want, sizeof want) == 32);
  iotfw_hmac_key_t k;
  iotfw_hmac_key_init(&k, key, (size_t)key_len);
  iotfw_hmac_sha256(&k, data, (size_t)data_len, got);
  CHECK_MSG(memcmp(got, want, 32) == 0, f[2]);
  macs_checked++;
}

static void fix_crc(unsigned char *frame, unsigned len) {
  uint32_t crc = iotfw_crc32(frame, len - 4u);
  for (unsigned i = 0; i < 4; i++) frame[len - 4u + i] = (unsigned char)(crc >> (8 * i));
}

static void check_frame(char **f, int n, void *ctx) {
  (void)ctx;
  if (n != 5 || strcmp(f[0], "frame") != 0) return;
  static unsigned char key[64], plain[512], want[512], out[512], bad[512];
  long key_len = parse_hex(f[2], key, sizeof key);
  long plain_len = parse_hex(f[3], plain, sizeof plain);
  long signed_len = parse_hex(f[4], want, sizeof want);
  CHECK(key_len >= 16 && plain_len >= 20 && signed_len == plain_len + 8);
  iotfw_hmac_key_t k, other;
  iotfw_hmac_key_init(&k, key, (size_t)key_len);
  key[0] ^= 0x01;
  iotfw_hmac_key_init(&other, key, (size_t)key_len);

  /* Signing gives hmac.ts's bytes exactly; opening gives the plain frame back. */
  CHECK_EQ(iotfw_frame_sign(&k, plain, (uint32_t)plain_len, out), signed_len);
  CHECK_MSG(memcmp(out, want, (size_t)signed_len) == 0, f[1]);
  CHECK_EQ(iotfw_frame_open(&k, want, (uint32_t)signed_len, out), plain_len);
  CHECK_MSG(memcmp(out, plain, (size_t)plain_len) == 0, f[1]);
  /* Another key; a plain frame; a changed byte (CRC first, then a re-CRCed forgery). */
  CHECK_EQ(iotfw_frame_open(&other, want, (uint32_t)signed_len, out), IOTFW_AUTH_BAD_HMAC);
  CHECK_EQ(iotfw_frame_open(&k, plain, (uint32_t)plain_len, out), IOTFW_AUTH_UNSIGNED);
  memcpy(bad, want, (size_t)signed_len);
  bad[15] ^= 0x40; /* first payload byte */
  CHECK_EQ(iotfw_frame_open(&k, bad, (uint32_t)signed_len, out), IOTFW_AUTH_BAD_FRAME);
  fix_crc(bad, (unsigned)signed_len);
  CHECK_EQ(iotfw_frame_open(&k, bad, (uint32_t)signed_len, out), IOTFW_AUTH_BAD_HMAC);
  memcpy(bad, want, (size_t)signed_len);
  bad[signed_len - 5] ^= 0x01; /* last HMAC byte, CRC fixed */
  fix_crc(bad, (unsigned)signed_len);
  CHECK_EQ(iotfw_frame_open(&k, bad, (uint32_t)signed_len, out), IOTFW_AUTH_BAD_HMAC);
  /* Only plain, intact frames are signed: not a signed one again, not one with a wrong CRC. */
  CHECK_EQ(iotfw_frame_sign(&k, want, (uint32_t)signed_len, out), -1);
  memcpy(bad, plain, (size_t)plain_len);
  bad[plain_len - 1] ^= 0x80;
  CHECK_EQ(iotfw_frame_sign(&k, bad, (uint32_t)plain_len, out), -1);
  frames_checked++;
}

static void test_lengths(void) {
  static unsigned char frame[512], out[520];
  iotfw_hmac_key_t k;
  unsigned char key[16] = { 1 };
  iotfw_hmac_key_init(&k, key, sizeof key);
  memset(frame, 0x11, sizeof frame);
  frame[0] = 1; frame[1] = 0x05; frame[2] = 0; /* a LOG-shaped frame: the signer checks length, flags, CRC */
  fix_crc(frame, 504);
  CHECK_EQ(iotfw_frame_sign(&k, frame, 504, out), 512); /* the largest signable frame */
  CHECK_EQ(iotfw_frame_open(&k, out, 512, frame), 504);
  memset(frame, 0x11, sizeof frame);
  frame[0] = 1; frame[1] = 0x05; frame[2] = 0;
  fix_crc(frame, 505);
  CHECK_EQ(iotfw_frame_sign(&k, frame, 505, out), -1); /* would exceed 512 signed */
  CHECK_EQ(iotfw_frame_sign(&k, frame, 19, out), -1);
  frame[2] = IOTFW_FLAG_HMAC;
  fix_crc(frame, 27);
  CHECK_EQ(iotfw_frame_open(&k, frame, 27, out), IOTFW_AUTH_BAD_FRAME); /* shorter than 20 + 8 */
  CHECK_EQ(iotfw_frame_open(&k, frame, 2, out), IOTFW_AUTH_UNSIGNED);
  /* docs/protocol.md "Integrity": the check value. */
  CHECK_EQ(iotfw_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

void test_frame_auth(void) {
  macs_checked = frames_checked = 0;
  each_line(check_mac, NULL);
  each_line(check_frame, NULL);
  CHECK_EQ(macs_checked, 50);
  CHECK(frames_checked >= 60);
  test_lengths();
}

/* For test_runtime.c: the fixture line "frame <name> <key> ..." with a key of key_len bytes. */
struct vector_query { const char *name; unsigned key_len; struct signed_vector *out; int found; };

static void find_vector(char **f, int n, void *ctx) {
  struct vector_query *q = ctx;
  if (q->found || n != 5 || strcmp(f[0], "frame") != 0 || strcmp(f[1], q->name) != 0) return;
  if (strlen(f[2]) != 2u * q->key_len) return;
  q->out->key_len = parse_hex(f[2], q->out->key, sizeof q->out->key);
  q->out->plain_len = parse_hex(f[3], q->out->plain, sizeof q->out->plain);
  q->out->signed_len = parse_hex(f[4], q->out->signed_frame, sizeof q->out->signed_frame);
  q->found = 1;
}

int signed_vector(const char *name, unsigned key_len, struct signed_vector *out) {
  struct vector_query q = { name, key_len, out, 0 };
  each_line(find_vector, &q);
  return q.found;
}
