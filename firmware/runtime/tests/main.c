/* Host test runner of the port-independent runtime core: `runtime-tests <fixtures-dir>`; prints every
 * failure and a final "N passed, N failed" line; exit status 1 on any failure. Built and run by
 * firmware/runtime/tests/runtime-c.test.ts with gcc -std=c11 -Wall -Wextra -Werror. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int check_passed, check_failed;
const char *fixtures_dir = ".";

unsigned char *read_fixture(const char *name, unsigned long *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", fixtures_dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) { printf("FAIL missing fixture %s\n", path); check_failed++; return NULL; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(size > 0 ? (size_t)size : 1u);
  *len = (unsigned long)fread(buf, 1, (size_t)size, f);
  fclose(f);
  return buf;
}

long parse_hex(const char *hex, unsigned char *out, unsigned long max) {
  size_t n = strlen(hex);
  if (n % 2 != 0 || n / 2 > max) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (unsigned char)v;
  }
  return (long)(n / 2);
}

int main(int argc, char **argv) {
  if (argc > 1) fixtures_dir = argv[1];
  test_image();
  test_frame_queue();
  test_link_framing();
  test_hal_dispatch();
  test_runtime();
  test_deploy();
  test_frame_auth();
  test_module_limits();
  printf("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed == 0 ? 0 : 1;
}
