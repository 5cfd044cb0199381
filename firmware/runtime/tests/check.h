/* A tiny test harness for the runtime's host tests: CHECK records a pass or a failure (with file and
 * line) and goes on; main prints "N passed, N failed". No framework to install. */
#ifndef IOTFW_CHECK_H
#define IOTFW_CHECK_H

#include <stdint.h>
#include <stdio.h>

extern int check_passed, check_failed;

#define CHECK(cond) CHECK_MSG(cond, #cond)
#define CHECK_MSG(cond, what)                                                   \
  do {                                                                          \
    if (cond) check_passed++;                                                   \
    else { check_failed++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, what); } \
  } while (0)
#define CHECK_EQ(a, b)                                                                           \
  do {                                                                                           \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                              \
    if (check_a_ == check_b_) check_passed++;                                                    \
    else { check_failed++; printf("FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, check_a_, check_b_); } \
  } while (0)

/* Test inputs written by runtime-c.test.ts (real bytes from host/build and host/protocol). */
extern const char *fixtures_dir;
/* Read fixtures_dir/name into a malloc'd buffer; NULL when missing. */
unsigned char *read_fixture(const char *name, unsigned long *len);
/* Parse hex into out (max bytes); returns the byte count, or -1. */
long parse_hex(const char *hex, unsigned char *out, unsigned long max);

/* The fake port (fake_hal.c). */
extern unsigned fake_now_ms;
extern char fake_last_log[256];
extern int fake_log_count;
extern uint32_t fake_random_draws; /* iotfw_port_random32 calls so far */
extern const unsigned char *fake_i2c_data;
extern unsigned fake_i2c_len;

void test_image(void);
void test_frame_queue(void);
void test_link_framing(void);
void test_hal_dispatch(void);
void test_runtime(void);
void test_deploy(void);
void test_frame_auth(void);
void test_module_limits(void);

/* A protocol vector signed by host/protocol/hmac.ts (fixtures/hmac.txt). */
struct signed_vector {
  unsigned char key[64], plain[512], signed_frame[520];
  long key_len, plain_len, signed_len;
};
/* Find vector name under the fixture key of key_len bytes (16, 32 or 64); 1 when found. */
int signed_vector(const char *name, unsigned key_len, struct signed_vector *out);

#endif /* IOTFW_CHECK_H */
