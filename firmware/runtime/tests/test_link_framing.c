/* COBS and TCP framing against docs/protocol-vectors.json bytes (fixtures/vectors.txt: "<name> <frame>
 * <serial> <tcp>" in hex, serial and tcp made by host/protocol serialFrame/tcpFrame), the worked example
 * of docs/protocol.md byte for byte, and the two downlink readers on noisy streams. */
#include <stdlib.h>
#include <string.h>

#include "../core/link_framing.h"
#include "check.h"

static void test_worked_example(void) {
  /* docs/protocol.md "Worked example": vector event-alert-high, 29 bytes, and its 31 serial bytes. */
  unsigned char frame[29], serial[31], out[IOTFW_SERIAL_FRAME_MAX];
  CHECK_EQ(parse_hex("010300eeffc0000900000048e801000001" "0000f44100000000449c81c3", frame, sizeof frame), 29);
  CHECK_EQ(parse_hex("030103" "04eeffc002090101" "0448e8010102010103f441010101" "05449c81c300", serial, sizeof serial), 31);
  CHECK_EQ(iotfw_serial_frame(frame, 29, 0, out), 31);
  CHECK(memcmp(out, serial, 31) == 0);
  CHECK_EQ(iotfw_serial_frame(frame, 29, 1, out), 32);
  CHECK(out[0] == 0 && memcmp(out + 1, serial, 31) == 0);
  CHECK_EQ(iotfw_tcp_frame(frame, 29, out), 31);
  CHECK(out[0] == 0x00 && out[1] == 0x1d && memcmp(out + 2, frame, 29) == 0);
  CHECK(memcmp(IOTFW_TCP_PREAMBLE, "IOTF", 4) == 0);
}

static void test_cobs_edges(void) {
  unsigned char in[600], enc[700], dec[600];
  /* A 254-byte run ending the data: canonical form has no trailing code byte (as host/protocol/cobs.ts). */
  memset(in, 1, 254);
  CHECK_EQ(iotfw_cobs_encode(in, 254, enc), 255);
  CHECK_EQ(iotfw_cobs_decode(enc, 255, dec, sizeof dec), 254);
  /* A 512-byte frame without zeros encodes to 515 bytes (docs/protocol.md "Serial"). */
  memset(in, 9, 512);
  CHECK_EQ(iotfw_cobs_encode(in, 512, enc), 515);
  CHECK_EQ(iotfw_cobs_decode(enc, 515, dec, sizeof dec), 512);
  /* Invalid blocks: a zero code, a code past the end. */
  unsigned char bad1[] = { 0x02, 0x00 }, bad2[] = { 0x05, 0x01 };
  CHECK_EQ(iotfw_cobs_decode(bad1, 2, dec, sizeof dec), -1);
  CHECK_EQ(iotfw_cobs_decode(bad2, 2, dec, sizeof dec), -1);
  CHECK_EQ(iotfw_cobs_decode(enc, 515, dec, 100), -1); /* would overflow the output */
}

void test_link_framing(void) {
  test_worked_example();
  test_cobs_edges();
  unsigned long list_len;
  unsigned char *list = read_fixture("vectors.txt", &list_len);
  if (!list) return;
  list = realloc(list, list_len + 1);
  list[list_len] = 0;
  /* All vectors' serial bytes glued into one stream with noise in front, and all TCP frames in one. */
  static unsigned char stream[64 * 1024], tcp_stream[64 * 1024], frames[64][IOTFW_FRAME_MAX];
  static long frame_len[64];
  size_t s = 0, t = 0;
  int n = 0;
  const char noise[] = "ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET)";
  memcpy(stream, noise, sizeof noise - 1);
  s += sizeof noise - 1;
  stream[s++] = 0x00;
  tcp_stream[t++] = 0x03; tcp_stream[t++] = 0x00; /* a length over 512: skipped as an error */
  memset(tcp_stream + t, 0xEE, 0x300);
  t += 0x300;
  for (char *line = strtok((char *)list, "\n"); line && n < 64; line = strtok(NULL, "\n")) {
    char name[64], fh[1100], sh[1100], th[1100];
    if (sscanf(line, "%63s %1099s %1099s %1099s", name, fh, sh, th) != 4) continue;
    unsigned char serial[IOTFW_SERIAL_FRAME_MAX], tcp[IOTFW_TCP_FRAME_MAX], out[IOTFW_SERIAL_FRAME_MAX];
    frame_len[n] = parse_hex(fh, frames[n], IOTFW_FRAME_MAX);
    long sl = parse_hex(sh, serial, sizeof serial), tl = parse_hex(th, tcp, sizeof tcp);
    CHECK(frame_len[n] > 0 && sl > 0 && tl > 0);
    size_t got = iotfw_serial_frame(frames[n], (size_t)frame_len[n], 0, out);
    if (got != (size_t)sl || memcmp(out, serial, got) != 0) printf("  vector %s: serial bytes differ\n", name);
    CHECK(got == (size_t)sl && memcmp(out, serial, got) == 0);
    got = iotfw_tcp_frame(frames[n], (size_t)frame_len[n], out);
    CHECK(got == (size_t)tl && memcmp(out, tcp, got) == 0);
    memcpy(stream + s, serial, (size_t)sl); s += (size_t)sl;
    memcpy(tcp_stream + t, tcp, (size_t)tl); t += (size_t)tl;
    n++;
  }
  CHECK_MSG(n >= 20, "vectors.txt holds every protocol vector");
  free(list);

  iotfw_serial_rx_t srx;
  iotfw_serial_rx_init(&srx);
  unsigned char out[IOTFW_FRAME_MAX];
  int seen = 0, same = 1;
  for (size_t i = 0; i < s; i++) {
    int32_t len = iotfw_serial_rx_byte(&srx, stream[i], out);
    if (len > 0) {
      if (seen >= n || len != frame_len[seen] || memcmp(out, frames[seen], (size_t)len) != 0) same = 0;
      seen++;
    }
  }
  CHECK_EQ(seen, n);
  CHECK(same);
  CHECK_EQ(srx.dropped, 1); /* the boot text block */

  iotfw_tcp_rx_t trx;
  iotfw_tcp_rx_init(&trx);
  seen = 0; same = 1;
  for (size_t i = 0; i < t; i++) {
    int32_t len = iotfw_tcp_rx_byte(&trx, tcp_stream[i]);
    if (len > 0) {
      if (seen >= n || len != frame_len[seen] || memcmp(trx.frame, frames[seen], (size_t)len) != 0) same = 0;
      seen++;
    }
  }
  CHECK_EQ(seen, n);
  CHECK(same);
  CHECK_EQ(trx.errors, 1);

  /* A serial block longer than 515 bytes is dropped and the reader resynchronises at the next 0x00. */
  iotfw_serial_rx_init(&srx);
  for (int i = 0; i < 700; i++) iotfw_serial_rx_byte(&srx, 0x41, out);
  CHECK_EQ(iotfw_serial_rx_byte(&srx, 0x00, out), 0);
  CHECK_EQ(srx.dropped, 1);
  unsigned char enc[IOTFW_SERIAL_FRAME_MAX];
  size_t el = iotfw_serial_frame(frames[0], (size_t)frame_len[0], 0, enc);
  int32_t last = 0;
  for (size_t i = 0; i < el; i++) last = iotfw_serial_rx_byte(&srx, enc[i], out);
  CHECK_EQ(last, frame_len[0]);
}
