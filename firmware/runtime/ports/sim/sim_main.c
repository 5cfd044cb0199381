/* The sim port's request loop (sim.h): a table of simulated devices, each a real iotfw runtime
 * (core/runtime.c) over its own Wasm3 instance (engine/wasm3_engine.c), driven through virtual time by
 * the host's requests: START a device, RUN it until a time, deliver a CONTROL frame, swap its MODULE (a
 * deploy). Frames leave as they are sent, with the time of the tick that sent them, so the host can
 * merge them with other devices' in (tick time, device id) order exactly as the Node engine does.
 * Touches the stream it serves and the devices it holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"
#include "engine/wasm3_engine.h"
#include "hal_link.generated.h"
#include "sim_proto.h"

struct sim_device {
  uint32_t id;
  char board[64];
  uint64_t clock_us;     /* the device's virtual clock (the host's models advance it through replies) */
  uint64_t tick_ms;      /* time of the poll being served: the sort key of what it sends */
  iotfw_runtime_t rt;
  iotfw_wasm3_t wasm3;
  iotfw_engine_ops_t engine;
  iotfw_reset_record_t record;
  iotfw_frame_queue_t queue; /* unused: frames go straight to the host (queue_push) */
  uint8_t *module;
  uint32_t module_len;
};

const iotfw_sim_io_t *iotfw_sim_io;
iotfw_sim_stats_t iotfw_sim_stats;
sim_device_t *sim_current;
static sim_device_t **devices;
static uint32_t device_count, device_cap;

uint32_t sim_device_id(const sim_device_t *d) { return d->id; }
uint64_t *sim_device_clock(sim_device_t *d) { return &d->clock_us; }
const char *sim_device_board(const sim_device_t *d) { return d->board; }

/* ---- the stream ---- */
void sim_put(const void *data, uint32_t n) {
  if (n > 0 && iotfw_sim_io->write(iotfw_sim_io->ctx, data, n) != 0) exit(3); /* the host is gone */
}
void sim_put_u8(uint8_t v) { sim_put(&v, 1); }
void sim_put_u32(uint32_t v) {
  uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
  sim_put(b, 4);
}
void sim_put_u64(uint64_t v) { sim_put_u32((uint32_t)v); sim_put_u32((uint32_t)(v >> 32)); }
void sim_begin(uint8_t op, uint32_t len) { sim_put_u8(op); sim_put_u32(len); }

static uint32_t payload_left; /* bytes of the current message not read yet */
int sim_get(void *out, uint32_t n) {
  if (n > payload_left) sim_fail("message shorter than its fields");
  payload_left -= n;
  return n == 0 ? 0 : iotfw_sim_io->read(iotfw_sim_io->ctx, out, n);
}
uint32_t sim_get_u32(void) {
  uint8_t b[4];
  if (sim_get(b, 4) != 0) exit(3);
  return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
uint64_t sim_get_u64(void) { uint64_t lo = sim_get_u32(); return lo | ((uint64_t)sim_get_u32() << 32); }
int sim_next(uint8_t *op, uint32_t *len) {
  uint8_t h[5];
  if (iotfw_sim_io->flush(iotfw_sim_io->ctx) != 0) exit(3);
  if (payload_left != 0) sim_fail("message longer than its fields");
  if (iotfw_sim_io->read(iotfw_sim_io->ctx, h, 5) != 0) return -1;
  *op = h[0];
  *len = (uint32_t)h[1] | ((uint32_t)h[2] << 8) | ((uint32_t)h[3] << 16) | ((uint32_t)h[4] << 24);
  payload_left = *len;
  return 0;
}
void sim_fail(const char *why) {
  uint32_t n = (uint32_t)strlen(why);
  sim_begin(SIM_OP_ERROR, n);
  sim_put(why, n);
  iotfw_sim_io->flush(iotfw_sim_io->ctx);
  exit(2);
}

/* ---- devices ---- */
static sim_device_t *find(uint32_t id) {
  for (uint32_t i = 0; i < device_count; i++) if (devices[i]->id == id) return devices[i];
  return NULL;
}

/* Make d the device the HAL serves (the core reaches its runtime through iotfw_rt_current). */
static void select_device(sim_device_t *d) { sim_current = d; iotfw_rt_current = &d->rt; }

static int32_t push_frame(const uint8_t *frame, uint32_t len) {
  sim_begin(SIM_OP_FRAME, 12 + len);
  sim_put_u32(sim_current->id);
  sim_put_u64(sim_current->tick_ms);
  sim_put(frame, len);
  return IOTFW_OK;
}

static uint64_t now_ms(const sim_device_t *d) { return d->clock_us / 1000u; }

/* Say so when the last call restarted the module (the host counts resets like the Node engine). */
static void report_reset(sim_device_t *d, uint32_t lost_before) {
  if (d->rt.traps + d->rt.overruns == lost_before) return;
  uint32_t n = (uint32_t)strlen(d->rt.last_error);
  sim_begin(SIM_OP_RESET, 4 + 8 + 8 + 1 + n);
  sim_put_u32(d->id);
  sim_put_u64(now_ms(d));
  sim_put_u64(d->tick_ms);
  sim_put_u8((uint8_t)d->record.reason);
  sim_put(d->rt.last_error, n);
}

static void done(const sim_device_t *d, uint64_t next_ms, int32_t status) {
  sim_begin(SIM_OP_DONE, 16);
  sim_put_u32(d->id);
  sim_put_u64(next_ms);
  sim_put_u32((uint32_t)status);
}

/* The module bytes of a request (the rest of its payload), kept while the device runs them. */
static uint8_t *take_module(uint32_t *len) {
  *len = payload_left;
  uint8_t *m = malloc(*len ? *len : 1);
  if (m == NULL) sim_fail("out of memory for a module");
  if (sim_get(m, *len) != 0) exit(3);
  return m;
}

static uint64_t next_due(const sim_device_t *d, uint32_t wait) { return now_ms(d) + wait; }

static void start(void) {
  uint32_t id = sim_get_u32();
  if (find(id)) sim_fail("START: the device exists");
  sim_device_t *d = calloc(1, sizeof *d);
  if (d == NULL) sim_fail("out of memory for a device");
  d->id = id;
  d->clock_us = sim_get_u64();
  uint32_t budget = sim_get_u32(), fuel = sim_get_u32(), max_pages = sim_get_u32();
  uint8_t board_len;
  sim_get(&board_len, 1);
  if (board_len >= sizeof d->board) sim_fail("START: board name too long");
  sim_get(d->board, board_len);
  uint8_t sha[32];
  sim_get(sha, 32);
  d->module = take_module(&d->module_len);
  if (device_count == device_cap) {
    device_cap = device_cap ? device_cap * 2 : 64;
    devices = realloc(devices, device_cap * sizeof *devices);
    if (devices == NULL) sim_fail("out of memory for the device table");
  }
  devices[device_count++] = d;
  select_device(d);
  iotfw_wasm3_engine(&d->wasm3, IOTFW_WASM3_VALUE_STACK, &d->engine); /* the device's value stack */
  d->wasm3.fuel_per_call = fuel;
  iotfw_reset_record_boot(&d->record, IOTFW_RESET_POWER_ON);
  iotfw_rt_init(&d->rt, &d->engine, &d->record, &d->queue, budget);
  d->rt.max_pages = max_pages;
  d->rt.queue_push = push_frame;
  iotfw_rt_set_module(&d->rt, d->module, d->module_len, sha);
  done(d, now_ms(d), IOTFW_OK);
}

static sim_device_t *device_of_request(const char *what) {
  sim_device_t *d = find(sim_get_u32());
  if (d == NULL) sim_fail(what);
  select_device(d);
  return d;
}

static void run(void) {
  sim_device_t *d = device_of_request("RUN: no such device");
  uint64_t end = sim_get_u64();
  uint64_t next = next_due(d, iotfw_rt_wait(&d->rt));
  uint32_t polls = 0;
  while (next < end) {
    /* The host's scheduler sets a device's clock to the whole millisecond its step is due at. */
    d->clock_us = next * 1000u;
    d->tick_ms = next;
    uint32_t lost = d->rt.traps + d->rt.overruns;
    uint32_t wait = iotfw_rt_poll(&d->rt);
    iotfw_sim_stats.polls++;
    report_reset(d, lost);
    next = next_due(d, wait);
    polls++;
  }
  done(d, next, (int32_t)polls);
}

static void control(void) {
  sim_device_t *d = device_of_request("CONTROL: no such device");
  uint64_t at = sim_get_u64();
  uint8_t frame[IOTFW_CONTROL_MAX + IOTFW_HMAC_SIZE];
  uint32_t len = payload_left;
  if (len > sizeof frame) sim_fail("CONTROL: frame too long for the port's buffer");
  sim_get(frame, len);
  /* As the Node engine: the device's clock moves on to the frame's arrival (whole milliseconds). */
  uint64_t ms = now_ms(d) > at ? now_ms(d) : at;
  d->clock_us = ms * 1000u;
  d->tick_ms = at;
  uint32_t lost = d->rt.traps + d->rt.overruns;
  int32_t status = iotfw_rt_control(&d->rt, frame, len);
  iotfw_sim_stats.controls++;
  report_reset(d, lost);
  done(d, next_due(d, iotfw_rt_wait(&d->rt)), status);
}

static void module(void) {
  sim_device_t *d = device_of_request("MODULE: no such device");
  uint64_t at = sim_get_u64();
  uint8_t sha[32];
  sim_get(sha, 32);
  uint32_t len;
  uint8_t *m = take_module(&len);
  uint64_t ms = now_ms(d) > at ? now_ms(d) : at;
  d->clock_us = ms * 1000u;
  d->engine.unload(d->engine.ctx); /* the old module's instance goes before its bytes */
  free(d->module);
  d->module = m;
  d->module_len = len;
  iotfw_rt_set_module(&d->rt, m, len, sha);
  iotfw_rt_restart(&d->rt, IOTFW_RESET_REMOTE);
  done(d, now_ms(d), IOTFW_OK);
}

static void stop(void) {
  uint32_t id = sim_get_u32();
  for (uint32_t i = 0; i < device_count; i++) {
    if (devices[i]->id != id) continue;
    sim_device_t *d = devices[i];
    select_device(d);
    d->engine.unload(d->engine.ctx);
    iotfw_wasm3_free(&d->wasm3);
    free(d->module);
    free(d);
    devices[i] = devices[--device_count];
    sim_current = NULL;
    iotfw_rt_current = NULL;
    sim_begin(SIM_OP_DONE, 16);
    sim_put_u32(id);
    sim_put_u64(0);
    sim_put_u32(0);
    return;
  }
  sim_fail("STOP: no such device");
}

static void hello(void) {
  uint32_t len = 8;
  for (uint32_t i = 0; i < IOTFW_HAL_IMPORT_COUNT; i++) len += (uint32_t)strlen(IOTFW_HAL_IMPORTS[i].name) + 1u;
  sim_begin(SIM_OP_HELLO, len);
  sim_put_u32(IOTFW_HAL_VERSION);
  sim_put_u32(IOTFW_HAL_IMPORT_COUNT);
  for (uint32_t i = 0; i < IOTFW_HAL_IMPORT_COUNT; i++) sim_put(IOTFW_HAL_IMPORTS[i].name, (uint32_t)strlen(IOTFW_HAL_IMPORTS[i].name) + 1u);
}

int iotfw_sim_serve(const iotfw_sim_io_t *io) {
  iotfw_sim_io = io;
  hello();
  for (;;) {
    uint8_t op;
    uint32_t len;
    if (sim_next(&op, &len) != 0) return 1;
    switch (op) {
      case SIM_OP_START: start(); break;
      case SIM_OP_RUN: run(); break;
      case SIM_OP_CONTROL: control(); break;
      case SIM_OP_MODULE: module(); break;
      case SIM_OP_STOP: stop(); break;
      case SIM_OP_QUIT: io->flush(io->ctx); return 0;
      default: sim_fail("unknown request");
    }
  }
}
