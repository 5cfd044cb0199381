/* Link framing around bare frames, device side (docs/protocol.md "Link framing"): COBS + 0x00 on
 * serial, the "IOTF" preamble then u16 big-endian length + frame on TCP; and the downlink readers that
 * take control frames back out of either byte stream. Mirrors host/protocol/ (cobs.ts, link-framing.ts,
 * serial-reader.ts, tcp-reader.ts). Port-independent; touches only the buffers it is given. */
#ifndef IOTFW_LINK_FRAMING_H
#define IOTFW_LINK_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "frame_queue.h"

/* The longest COBS block a reader keeps: a 512-byte frame encodes to 515 bytes (docs/protocol.md "Serial"). */
#define IOTFW_SERIAL_BLOCK_MAX 515u
/* Largest serial output of one frame: leading 0x00 + COBS + trailing 0x00. */
#define IOTFW_SERIAL_FRAME_MAX (IOTFW_SERIAL_BLOCK_MAX + 2u)
#define IOTFW_TCP_FRAME_MAX (IOTFW_FRAME_MAX + 2u)

extern const uint8_t IOTFW_TCP_PREAMBLE[4]; /* "IOTF", sent once per TCP connection */

/* COBS-encode len bytes (no delimiter); out needs len + len/254 + 1 bytes. Returns the encoded length. */
size_t iotfw_cobs_encode(const uint8_t *in, size_t len, uint8_t *out);
/* Decode one block (no delimiter) into out (max bytes); returns the length, or -1 if not valid COBS. */
int32_t iotfw_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t max);

/* [0x00 if leading] COBS(frame) 0x00 into out (IOTFW_SERIAL_FRAME_MAX bytes); returns the length. */
size_t iotfw_serial_frame(const uint8_t *frame, size_t len, int leading_delimiter, uint8_t *out);
/* u16 big-endian length + frame into out (IOTFW_TCP_FRAME_MAX bytes); returns the length, 0 if len > 512. */
size_t iotfw_tcp_frame(const uint8_t *frame, size_t len, uint8_t *out);

/* Serial downlink reader: split on 0x00, COBS-decode; blocks over 515 bytes or not valid COBS are
 * dropped and counted, and the reader resynchronises at the next 0x00. */
typedef struct {
  uint8_t block[IOTFW_SERIAL_BLOCK_MAX];
  uint32_t len;
  int overflow;
  uint32_t dropped;
} iotfw_serial_rx_t;

void iotfw_serial_rx_init(iotfw_serial_rx_t *rx);
/* Feed one byte; returns the decoded frame's length (frame in out, IOTFW_FRAME_MAX bytes) when a block
 * ended, else 0. */
int32_t iotfw_serial_rx_byte(iotfw_serial_rx_t *rx, uint8_t byte, uint8_t *out);

/* TCP downlink reader: u16 big-endian length + frame (no preamble in this direction). A length over
 * 512 (or 0) is counted as an error and that many bytes are skipped. */
typedef struct {
  uint8_t frame[IOTFW_FRAME_MAX];
  uint8_t len_bytes;
  uint32_t want;
  uint32_t got;
  uint32_t skip;
  uint32_t errors;
} iotfw_tcp_rx_t;

void iotfw_tcp_rx_init(iotfw_tcp_rx_t *rx);
/* Feed one byte; returns the frame length (frame in rx->frame) when a frame is complete, else 0. */
int32_t iotfw_tcp_rx_byte(iotfw_tcp_rx_t *rx, uint8_t byte);

#endif /* IOTFW_LINK_FRAMING_H */
