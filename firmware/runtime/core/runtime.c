/* The runtime's scheduling, watchdog, control dispatch and the HAL imports shared by every port (see
 * runtime.h). Times are u32 milliseconds that wrap after 49.7 days (HAL time_ms), so every comparison
 * is a signed difference. Touches the runtime, its reset record and its frame queue. */
#include "runtime.h"

#include <stdio.h>
#include <string.h>

#include "../hal_link.generated.h"
#include "hal_dispatch.h"
#include "module_limits.h"

iotfw_runtime_t *iotfw_rt_current;

#define RECORD_MAGIC 0x494F5452u /* "IOTR" */
#define COUNT_MAX 0xFFFFFFu      /* reset_info keeps the count in bits 8..31 */

static uint32_t record_check(const iotfw_reset_record_t *rec) {
  return rec->magic ^ (rec->count * 0x9E3779B1u) ^ (rec->reason * 0x85EBCA77u) ^ 0xA5A5A5A5u;
}

void iotfw_reset_record_boot(iotfw_reset_record_t *rec, uint32_t chip_reason) {
  int intact = rec->magic == RECORD_MAGIC && rec->check == record_check(rec) && rec->reason <= 0xFFu;
  if (!intact || chip_reason == IOTFW_RESET_POWER_ON) {
    rec->magic = RECORD_MAGIC;
    rec->count = 0;
    rec->reason = IOTFW_RESET_POWER_ON;
    rec->check = record_check(rec);
    return;
  }
  iotfw_reset_record_note(rec, chip_reason);
}

void iotfw_reset_record_note(iotfw_reset_record_t *rec, uint32_t reason) {
  rec->magic = RECORD_MAGIC;
  if (rec->count < COUNT_MAX) rec->count++;
  rec->reason = reason & 0xFFu;
  rec->check = record_check(rec);
}

uint32_t iotfw_reset_record_info(const iotfw_reset_record_t *rec) {
  return ((rec->count & COUNT_MAX) << 8) | (rec->reason & 0xFFu);
}

/* Copy a C string, cut to fit (snprintf "%s" would do, but GCC's -Wformat-truncation objects). */
static void copy_text(char *dst, size_t size, const char *src) {
  size_t n = strlen(src);
  if (n >= size) n = size - 1u;
  memcpy(dst, src, n);
  dst[n] = 0;
}

static int32_t diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

void iotfw_rt_init(iotfw_runtime_t *rt, const iotfw_engine_ops_t *engine, iotfw_reset_record_t *record,
                   iotfw_frame_queue_t *queue, uint32_t budget_ms) {
  memset(rt, 0, sizeof *rt);
  rt->engine = engine;
  rt->record = record;
  rt->queue = queue;
  rt->budget_ms = budget_ms;
  rt->max_pages = IOTFW_MODULE_MAX_PAGES_DEFAULT;
  rt->hard_limit_ms = budget_ms * 4u;
  rt->next_ms = iotfw_hal_time_ms();
  iotfw_rt_current = rt;
}

int32_t iotfw_rt_set_key(iotfw_runtime_t *rt, const uint8_t *key, uint32_t len) {
  if (len == 0) { rt->keyed = 0; memset(&rt->key, 0, sizeof rt->key); return IOTFW_OK; }
  if (len < IOTFW_KEY_MIN || len > IOTFW_KEY_MAX) return IOTFW_ERR_INVALID;
  iotfw_hmac_key_init(&rt->key, key, len);
  rt->keyed = 1;
  return IOTFW_OK;
}

void iotfw_rt_set_module(iotfw_runtime_t *rt, const uint8_t *module, uint32_t len, const uint8_t sha256[32]) {
  rt->module = module;
  rt->module_len = len;
  memcpy(rt->app_hash, sha256, 32);
}

static void begin_call(iotfw_runtime_t *rt, uint32_t now) { rt->call_started_ms = now; rt->in_call = 1; }
static uint32_t end_call(iotfw_runtime_t *rt) { rt->in_call = 0; return iotfw_hal_time_ms(); }

/* The instance is lost: count the restart and schedule the next boot (backing off in a boot loop). */
static void fail(iotfw_runtime_t *rt, uint32_t reason, const char *why, uint32_t now) {
  iotfw_reset_record_note(rt->record, reason);
  if (reason == IOTFW_RESET_WATCHDOG) rt->overruns++; else rt->traps++;
  /* A panic already left its message (iotfw_hal_panic); keep it rather than the bare trap text. */
  if (strcmp(why, IOTFW_TRAP_PANIC) != 0 || rt->last_error[0] == 0) copy_text(rt->last_error, sizeof rt->last_error, why);
  rt->running = 0;
  rt->failures_in_a_row++;
  rt->next_ms = now + (rt->failures_in_a_row > IOTFW_BOOT_LOOP_FAILURES ? IOTFW_BOOT_LOOP_BACKOFF_MS : 1u);
  static const char prefix[] = "iotfw: module restarted: ";
  char line[sizeof prefix + sizeof rt->last_error];
  int n = snprintf(line, sizeof line, "%s%s", prefix, rt->last_error);
  iotfw_hal_log(IOTFW_LOG_ERROR, (uint8_t *)line, (uint32_t)(n > 0 ? n : 0));
}

/* Check a call's outcome: a trap, or an overrun of the budget. Returns 1 when the instance survived. */
static int survived(iotfw_runtime_t *rt, const char *trap, uint32_t started, uint32_t ended) {
  if (trap == IOTFW_TRAP_WATCHDOG) { fail(rt, IOTFW_RESET_WATCHDOG, "a call exceeded its time budget", ended); return 0; }
  if (trap != NULL) { fail(rt, IOTFW_RESET_TRAP, trap, ended); return 0; }
  if ((uint32_t)diff(ended, started) > rt->budget_ms) {
    fail(rt, IOTFW_RESET_WATCHDOG, "a call exceeded its time budget", ended);
    return 0;
  }
  return 1;
}

static void boot(iotfw_runtime_t *rt, uint32_t now) {
  rt->boots++;
  rt->engine->unload(rt->engine->ctx);
  if (rt->module == NULL) { /* nothing to run: look again later (a deploy may bring one) */
    rt->next_ms = now + IOTFW_BOOT_LOOP_BACKOFF_MS;
    return;
  }
  rt->last_error[0] = 0;
  begin_call(rt, now);
  /* A module the device has no memory for does not start (a boot loop until a deploy replaces it). */
  char why[96];
  const char *trap = iotfw_module_check_memory(rt->module, rt->module_len, rt->max_pages, why, sizeof why);
  if (trap == NULL) trap = rt->engine->load(rt->engine->ctx, rt->module, rt->module_len);
  int32_t status = 0;
  if (trap == NULL) trap = rt->engine->init(rt->engine->ctx, &status);
  uint32_t ended = end_call(rt);
  if (!survived(rt, trap, now, ended)) return;
  rt->running = 1; /* init's status is the module's business: it reports faults as events */
  rt->next_ms = ended; /* first tick at once */
}

uint32_t iotfw_rt_poll(iotfw_runtime_t *rt) {
  uint32_t now = iotfw_hal_time_ms();
  if (diff(rt->next_ms, now) > 0) return (uint32_t)diff(rt->next_ms, now);
  if (!rt->running) {
    boot(rt, now);
  } else {
    uint32_t delay = 0;
    begin_call(rt, now);
    const char *trap = rt->engine->tick(rt->engine->ctx, now, &delay);
    uint32_t ended = end_call(rt);
    rt->ticks++;
    if (survived(rt, trap, now, ended)) {
      rt->failures_in_a_row = 0;
      /* The delay counts from when tick returned (a HAL call may have taken time); at least 1 ms. */
      rt->next_ms = ended + (delay > 0 ? delay : 1u);
    }
  }
  return iotfw_rt_wait(rt);
}

uint32_t iotfw_rt_wait(const iotfw_runtime_t *rt) {
  uint32_t now = iotfw_hal_time_ms();
  return diff(rt->next_ms, now) > 0 ? (uint32_t)diff(rt->next_ms, now) : 0u;
}

int32_t iotfw_rt_control(iotfw_runtime_t *rt, const uint8_t *frame, uint32_t len) {
  uint32_t max = rt->keyed ? IOTFW_CONTROL_MAX + IOTFW_HMAC_SIZE : IOTFW_CONTROL_MAX;
  if (len == 0 || len > max) { rt->controls_refused++; return IOTFW_ERR_INVALID; }
  if (!rt->running) { rt->controls_refused++; return IOTFW_ERR_NOT_READY; }
  if (rt->keyed) { /* only a frame signed with this device's key reaches the module, and without its trailer */
    int32_t opened = iotfw_frame_open(&rt->key, frame, len, rt->opened_control);
    if (opened < 0) { rt->controls_unauthenticated++; return IOTFW_CONTROL_UNAUTHENTICATED; }
    frame = rt->opened_control;
    len = (uint32_t)opened;
  }
  uint32_t now = iotfw_hal_time_ms();
  int32_t status = 0;
  begin_call(rt, now);
  const char *trap = rt->engine->control(rt->engine->ctx, frame, len, &status);
  uint32_t ended = end_call(rt);
  rt->controls++;
  if (!survived(rt, trap, now, ended)) return IOTFW_CONTROL_TRAPPED;
  /* A control may change the schedule (wake, set-rate): tick again now so the module re-plans. */
  if (diff(rt->next_ms, ended + 1u) > 0) rt->next_ms = ended + 1u;
  return status;
}

void iotfw_rt_restart(iotfw_runtime_t *rt, uint32_t reason) {
  iotfw_reset_record_note(rt->record, reason);
  rt->running = 0;
  rt->failures_in_a_row = 0;
  rt->next_ms = iotfw_hal_time_ms();
}

int iotfw_rt_watchdog_expired(const iotfw_runtime_t *rt, uint32_t now_ms) {
  return rt->in_call && (uint32_t)diff(now_ms, rt->call_started_ms) > rt->hard_limit_ms;
}

/* ---- HAL imports common to every port ---- */

int32_t iotfw_hal_frame_out(uint8_t *data, uint32_t len) {
  iotfw_runtime_t *rt = iotfw_rt_current;
  if (rt == NULL) return IOTFW_ERR_NOT_READY;
  const uint8_t *frame = data;
  if (rt->keyed) { /* a keyed device's frames leave signed, whatever link they take */
    int32_t signed_len = iotfw_frame_sign(&rt->key, data, len, rt->signed_frame);
    if (signed_len < 0) { rt->frames_unsignable++; return IOTFW_ERR_INVALID; }
    frame = rt->signed_frame;
    len = (uint32_t)signed_len;
  }
  if (rt->queue_push != NULL) return rt->queue_push(frame, len);
  if (rt->queue == NULL) return IOTFW_ERR_NOT_READY;
  return iotfw_fq_push(rt->queue, frame, len);
}

int32_t iotfw_hal_app_hash(uint8_t *out) {
  if (iotfw_rt_current == NULL || iotfw_rt_current->module == NULL) return IOTFW_ERR_UNSUPPORTED;
  memcpy(out, iotfw_rt_current->app_hash, 32);
  return 32;
}

uint32_t iotfw_hal_reset_info(void) {
  return iotfw_rt_current ? iotfw_reset_record_info(iotfw_rt_current->record) : 0u;
}

/* Drawn lazily, once per instance: a module that never asks costs the port nothing, and the sim port's
 * host answers the draw at the same point of the run as the Node engine's HAL does. */
uint32_t iotfw_hal_boot_id(void) {
  iotfw_runtime_t *rt = iotfw_rt_current;
  if (rt == NULL) return 0u;
  if (rt->boot_id_of != rt->boots) {
    rt->boot_id = iotfw_port_random32();
    rt->boot_id_of = rt->boots;
  }
  return rt->boot_id;
}

/* The text is the simulator's (simulator/hal/host.ts panic): "<message> at <file>:<line>:<column>", with
 * "abort" and "?" for a null message or file; the log line adds "panic: " in front. */
void iotfw_hal_panic(uint8_t *message, uint8_t *file, uint32_t line, uint32_t column) {
  uint8_t msg[64], where[48];
  iotfw_as_string_to_utf8(message, msg, sizeof msg);
  iotfw_as_string_to_utf8(file, where, sizeof where);
  char text[168];
  int n = snprintf(text, sizeof text, "panic: %s at %s:%u:%u", message ? (const char *)msg : "abort",
                   file ? (const char *)where : "?", (unsigned)line, (unsigned)column);
  if (n < 0) n = 0;
  if (n >= (int)sizeof text) n = (int)sizeof text - 1;
  if (iotfw_rt_current) copy_text(iotfw_rt_current->last_error, sizeof iotfw_rt_current->last_error, text + 7);
  iotfw_hal_log(IOTFW_LOG_ERROR, (uint8_t *)text, (uint32_t)n);
}
