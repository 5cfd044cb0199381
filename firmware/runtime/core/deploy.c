/* Deploy receiver state machine (protocol in deploy.h and docs/runtime.md). Nothing reaches the sink
 * before the request and the image header passed their checks; the module is hashed as it streams and
 * the sink commits only a verified, engine-validated image. Touches only the receiver and its sink. */
#include "deploy.h"

#include <string.h>

enum { S_REQUEST, S_HEADER, S_MODULE, S_DONE };

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void iotfw_deploy_rx_init(iotfw_deploy_rx_t *rx, const iotfw_deploy_sink_t *sink, uint32_t capacity, uint16_t abi) {
  memset(rx, 0, sizeof *rx);
  rx->sink = sink;
  rx->capacity = capacity;
  rx->abi = abi;
  rx->state = S_REQUEST;
  rx->status = IOTFW_DEPLOY_MORE;
}

static int32_t finish(iotfw_deploy_rx_t *rx, int32_t status, uint32_t detail) {
  if (status != IOTFW_DEPLOY_OK && rx->sink_open) rx->sink->abort(rx->sink->ctx);
  rx->sink_open = 0;
  rx->state = S_DONE;
  rx->status = status;
  rx->detail = detail;
  return status;
}

static int32_t on_request(iotfw_deploy_rx_t *rx) {
  if (memcmp(rx->request, "IOTD", 4) != 0) return finish(rx, IOTFW_DEPLOY_BAD_REQUEST, 0);
  rx->image_len = be32(rx->request + 4);
  if (rx->image_len < IOTFW_IMAGE_HEADER_SIZE + 8u) return finish(rx, IOTFW_DEPLOY_BAD_REQUEST, 0);
  if (rx->image_len > rx->capacity) return finish(rx, IOTFW_DEPLOY_TOO_LARGE, rx->capacity);
  rx->state = S_HEADER;
  rx->got = 0;
  return IOTFW_DEPLOY_MORE;
}

static int32_t on_header(iotfw_deploy_rx_t *rx) {
  int st = iotfw_image_parse_header(rx->header, IOTFW_IMAGE_HEADER_SIZE, rx->capacity, rx->abi, &rx->parsed);
  if (st == IOTFW_IMAGE_BAD_ABI) return finish(rx, IOTFW_DEPLOY_BAD_ABI, rx->abi);
  if (st == IOTFW_IMAGE_TOO_LARGE) return finish(rx, IOTFW_DEPLOY_TOO_LARGE, rx->capacity);
  if (st != IOTFW_IMAGE_OK) return finish(rx, IOTFW_DEPLOY_BAD_IMAGE, (uint32_t)-st);
  if (IOTFW_IMAGE_HEADER_SIZE + rx->parsed.module_length != rx->image_len) {
    return finish(rx, IOTFW_DEPLOY_BAD_IMAGE, (uint32_t)-IOTFW_IMAGE_TRUNCATED);
  }
  if (rx->sink->begin(rx->sink->ctx, rx->image_len) != 0) return finish(rx, IOTFW_DEPLOY_WRITE_FAILED, 0);
  rx->sink_open = 1;
  if (rx->sink->write(rx->sink->ctx, 0, rx->header, IOTFW_IMAGE_HEADER_SIZE) != 0) {
    return finish(rx, IOTFW_DEPLOY_WRITE_FAILED, 0);
  }
  rx->written = IOTFW_IMAGE_HEADER_SIZE;
  iotfw_sha256_init(&rx->sha);
  rx->state = S_MODULE;
  rx->got = 0;
  return IOTFW_DEPLOY_MORE;
}

static int32_t on_module_end(iotfw_deploy_rx_t *rx) {
  uint8_t digest[IOTFW_SHA256_SIZE];
  iotfw_sha256_final(&rx->sha, digest);
  if (memcmp(digest, rx->parsed.sha256, IOTFW_SHA256_SIZE) != 0) return finish(rx, IOTFW_DEPLOY_BAD_HASH, 0);
  if (rx->sink->validate != NULL && rx->sink->validate(rx->sink->ctx) != 0) return finish(rx, IOTFW_DEPLOY_REJECTED, 0);
  if (rx->sink->commit(rx->sink->ctx) != 0) return finish(rx, IOTFW_DEPLOY_WRITE_FAILED, 0);
  rx->sink_open = 0;
  return finish(rx, IOTFW_DEPLOY_OK, 0);
}

int32_t iotfw_deploy_rx_feed(iotfw_deploy_rx_t *rx, const uint8_t *data, uint32_t len, uint32_t *consumed) {
  uint32_t i = 0;
  while (i < len && rx->state != S_DONE) {
    if (rx->state == S_REQUEST) {
      uint32_t take = IOTFW_DEPLOY_REQUEST_SIZE - rx->got;
      if (take > len - i) take = len - i;
      memcpy(rx->request + rx->got, data + i, take);
      rx->got += take; i += take;
      if (rx->got == IOTFW_DEPLOY_REQUEST_SIZE) on_request(rx);
    } else if (rx->state == S_HEADER) {
      uint32_t take = IOTFW_IMAGE_HEADER_SIZE - rx->got;
      if (take > len - i) take = len - i;
      memcpy(rx->header + rx->got, data + i, take);
      rx->got += take; i += take;
      if (rx->got == IOTFW_IMAGE_HEADER_SIZE) on_header(rx);
    } else { /* S_MODULE */
      uint32_t left = rx->parsed.module_length - rx->got;
      uint32_t take = left < len - i ? left : len - i;
      const uint8_t *chunk = data + i;
      for (uint32_t k = 0; k < take && rx->got + k < 8u; k++) rx->wasm_magic[rx->got + k] = chunk[k];
      if (rx->got < 8u && rx->got + take >= 8u && !iotfw_image_is_wasm(rx->wasm_magic, 8)) {
        *consumed = i + take;
        return finish(rx, IOTFW_DEPLOY_BAD_IMAGE, (uint32_t)-IOTFW_IMAGE_NOT_WASM);
      }
      iotfw_sha256_update(&rx->sha, chunk, take);
      if (rx->sink->write(rx->sink->ctx, rx->written, chunk, take) != 0) {
        *consumed = i + take;
        return finish(rx, IOTFW_DEPLOY_WRITE_FAILED, 0);
      }
      rx->written += take;
      rx->got += take; i += take;
      if (rx->got == rx->parsed.module_length) on_module_end(rx);
    }
  }
  *consumed = i;
  return rx->status;
}

int32_t iotfw_deploy_rx_closed(iotfw_deploy_rx_t *rx) {
  if (rx->state == S_DONE) return rx->status;
  return finish(rx, IOTFW_DEPLOY_TRUNCATED, rx->state == S_MODULE ? rx->written : 0);
}

void iotfw_deploy_answer(const iotfw_deploy_rx_t *rx, uint8_t out[IOTFW_DEPLOY_ANSWER_SIZE]) {
  uint32_t status = (uint32_t)rx->status, detail = rx->detail;
  memcpy(out, "IOTD", 4);
  for (unsigned i = 0; i < 4; i++) {
    out[4 + i] = (uint8_t)(status >> (24u - 8u * i));
    out[8 + i] = (uint8_t)(detail >> (24u - 8u * i));
  }
}

const char *iotfw_deploy_status_text(int32_t status) {
  switch (status) {
    case IOTFW_DEPLOY_MORE: return "in progress";
    case IOTFW_DEPLOY_OK: return "installed";
    case IOTFW_DEPLOY_BAD_REQUEST: return "not a deploy request";
    case IOTFW_DEPLOY_CONTROL: return "a control request, answered";
    case IOTFW_DEPLOY_TOO_LARGE: return "image too large for this device";
    case IOTFW_DEPLOY_BAD_IMAGE: return "not a valid Wasm partition image";
    case IOTFW_DEPLOY_BAD_ABI: return "module built for another HAL ABI";
    case IOTFW_DEPLOY_BAD_HASH: return "module SHA-256 does not match the image header";
    case IOTFW_DEPLOY_WRITE_FAILED: return "could not store the image";
    case IOTFW_DEPLOY_REJECTED: return "the interpreter refused the module";
    case IOTFW_DEPLOY_BUSY: return "another deploy is in progress";
    case IOTFW_DEPLOY_TRUNCATED: return "connection closed before the whole image arrived";
    default: return "unknown deploy status";
  }
}
