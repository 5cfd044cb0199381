/* COBS (S. Cheshire, M. Baker, "Consistent Overhead Byte Stuffing", IEEE/ACM Trans. Networking 7(2),
 * 1999) and the TCP length framing, device side; byte-for-byte the same as host/protocol/cobs.ts and
 * link-framing.ts (checked against docs/protocol-vectors.json by the C tests). Pure functions and small
 * reader state machines. */
#include "link_framing.h"

const uint8_t IOTFW_TCP_PREAMBLE[4] = { 0x49, 0x4F, 0x54, 0x46 };

size_t iotfw_cobs_encode(const uint8_t *in, size_t len, uint8_t *out) {
  size_t code_at = 0, o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < len; i++) {
    uint8_t b = in[i];
    if (b != 0) { out[o++] = b; code++; }
    if (b == 0 || code == 0xFF) {
      out[code_at] = code;
      code = 1;
      code_at = o;
      /* A full 254-byte run that ends the data needs no further code byte (the paper's canonical form). */
      if (b == 0 || i + 1 < len) o++;
    }
  }
  if (code_at < o) out[code_at] = code;
  return o;
}

int32_t iotfw_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t max) {
  size_t i = 0, o = 0;
  while (i < len) {
    uint8_t code = in[i++];
    if (code == 0) return -1;
    size_t end = i + code - 1u;
    if (end > len) return -1;
    for (; i < end; i++) {
      if (in[i] == 0 || o >= max) return -1;
      out[o++] = in[i];
    }
    if (code != 0xFF && i < len) {
      if (o >= max) return -1;
      out[o++] = 0;
    }
  }
  return (int32_t)o;
}

size_t iotfw_serial_frame(const uint8_t *frame, size_t len, int leading_delimiter, uint8_t *out) {
  size_t o = 0;
  if (leading_delimiter) out[o++] = 0x00;
  o += iotfw_cobs_encode(frame, len, out + o);
  out[o++] = 0x00;
  return o;
}

size_t iotfw_tcp_frame(const uint8_t *frame, size_t len, uint8_t *out) {
  if (len > IOTFW_FRAME_MAX) return 0;
  out[0] = (uint8_t)(len >> 8);
  out[1] = (uint8_t)len;
  for (size_t i = 0; i < len; i++) out[2 + i] = frame[i];
  return len + 2u;
}

void iotfw_serial_rx_init(iotfw_serial_rx_t *rx) {
  rx->len = 0;
  rx->overflow = 0;
  rx->dropped = 0;
}

int32_t iotfw_serial_rx_byte(iotfw_serial_rx_t *rx, uint8_t byte, uint8_t *out) {
  if (byte != 0x00) {
    if (rx->len < IOTFW_SERIAL_BLOCK_MAX) rx->block[rx->len++] = byte;
    else rx->overflow = 1;
    return 0;
  }
  int32_t result = 0;
  if (rx->overflow) rx->dropped++;
  else if (rx->len > 0) { /* empty blocks (two delimiters in a row) are ignored */
    int32_t n = iotfw_cobs_decode(rx->block, rx->len, out, IOTFW_FRAME_MAX);
    if (n <= 0) rx->dropped++;
    else result = n;
  }
  rx->len = 0;
  rx->overflow = 0;
  return result;
}

void iotfw_tcp_rx_init(iotfw_tcp_rx_t *rx) {
  rx->len_bytes = 0;
  rx->want = rx->got = rx->skip = rx->errors = 0;
}

int32_t iotfw_tcp_rx_byte(iotfw_tcp_rx_t *rx, uint8_t byte) {
  if (rx->skip > 0) { rx->skip--; return 0; }
  if (rx->len_bytes < 2) {
    rx->want = (rx->want << 8) | byte;
    if (++rx->len_bytes < 2) return 0;
    rx->got = 0;
    if (rx->want == 0 || rx->want > IOTFW_FRAME_MAX) {
      rx->errors++;
      rx->skip = rx->want;
      rx->len_bytes = 0;
      rx->want = 0;
    }
    return 0;
  }
  rx->frame[rx->got++] = byte;
  if (rx->got < rx->want) return 0;
  int32_t n = (int32_t)rx->want;
  rx->len_bytes = 0;
  rx->want = 0;
  return n;
}
