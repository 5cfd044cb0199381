/* Scheduling, watchdog and control dispatch of the runtime core with a fake engine and the fake
 * clock: init then ticks at the delays tick returns, the sleep the port is told, a trap or an overrun
 * restarts the module with reset_info's reason and count, a boot loop backs off, control frames reach
 * the module's control_buffer with bounds checks and pull the next tick forward, frame_out queues
 * frames, the reset record survives a chip reset. A keyed device signs what the module sends and passes
 * on only downlink frames signed with its key, stripped (bytes from host/protocol/hmac.ts). */
#include <string.h>

#include "../core/hal_dispatch.h"
#include "../core/runtime.h"
#include "../hal_link.generated.h"
#include "check.h"

/* A scripted module. */
static struct {
  int loads, inits, ticks, controls;
  const char *load_trap, *init_trap, *tick_trap, *control_trap;
  uint32_t tick_cost_ms, tick_delay_ms, init_cost_ms;
  uint32_t reset_info_at_init;
  uint32_t boot_id_at_init, boot_id_again;
  uint32_t control_buffer; /* offset in mem */
  uint32_t last_control_len;
  int32_t control_status;
  uint8_t mem[65536];
} m;

static const char *f_load(void *ctx, const uint8_t *module, uint32_t len) { (void)ctx; (void)module; (void)len; m.loads++; return m.load_trap; }
static const char *f_init(void *ctx, int32_t *status) {
  (void)ctx;
  m.inits++;
  fake_now_ms += m.init_cost_ms;
  m.reset_info_at_init = iotfw_hal_reset_info();
  m.boot_id_at_init = iotfw_hal_boot_id();
  m.boot_id_again = iotfw_hal_boot_id();
  uint8_t hello[20] = { 1, 1 };
  iotfw_hal_frame_out(hello, sizeof hello); /* the module says hello */
  *status = 0;
  return m.init_trap;
}
static const char *f_tick(void *ctx, uint32_t now, uint32_t *delay) {
  (void)ctx; (void)now;
  m.ticks++;
  fake_now_ms += m.tick_cost_ms;
  *delay = m.tick_delay_ms;
  return m.tick_trap;
}
/* What the Wasm3 glue does: bounds-check control_buffer() + len, copy, call control(len). */
static const char *f_control(void *ctx, const uint8_t *frame, uint32_t len, int32_t *status) {
  (void)ctx;
  uint8_t *at = iotfw_mem_range(m.mem, sizeof m.mem, m.control_buffer, len);
  if (at == NULL) return IOTFW_TRAP_OUT_OF_BOUNDS;
  memcpy(at, frame, len);
  m.controls++;
  m.last_control_len = len;
  *status = m.control_status;
  return m.control_trap;
}
static void f_unload(void *ctx) { (void)ctx; }

static const iotfw_engine_ops_t engine = { NULL, f_load, f_init, f_tick, f_control, f_unload };
static const uint8_t module_bytes[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };

static void test_keyed_device(iotfw_reset_record_t *record) {
  static struct signed_vector event, ping, ping_other_key;
  CHECK(signed_vector("event-alert-high", 32, &event));
  CHECK(signed_vector("control-ping", 32, &ping));
  CHECK(signed_vector("control-ping", 16, &ping_other_key));
  uint8_t qbuf[1024], out[IOTFW_FRAME_MAX];
  iotfw_frame_queue_t q;
  iotfw_fq_init(&q, qbuf, sizeof qbuf);
  static iotfw_runtime_t rt;
  iotfw_rt_init(&rt, &engine, record, &q, 100);
  static const uint8_t no_hash[32];
  iotfw_rt_set_module(&rt, module_bytes, sizeof module_bytes, no_hash);
  CHECK_EQ(iotfw_rt_set_key(&rt, ping.key, 15), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_rt_set_key(&rt, ping.key, 65), IOTFW_ERR_INVALID);
  CHECK(!rt.keyed);
  CHECK_EQ(iotfw_rt_set_key(&rt, ping.key, (uint32_t)ping.key_len), IOTFW_OK);

  /* Boot: the scripted module's "hello" is not a valid frame (no CRC), so it cannot be signed. */
  iotfw_rt_poll(&rt);
  CHECK(rt.running);
  CHECK_EQ(q.count, 0);
  CHECK_EQ(rt.frames_unsignable, 1);
  /* frame_out: on the queue exactly as hmac.ts signs it; the module's buffer is left as it was. */
  CHECK_EQ(iotfw_hal_frame_out(event.plain, (uint32_t)event.plain_len), IOTFW_OK);
  CHECK_EQ(iotfw_fq_peek(&q, out, sizeof out), event.signed_len);
  CHECK(memcmp(out, event.signed_frame, (size_t)event.signed_len) == 0);
  CHECK_EQ(event.plain[2], 0);

  /* Downlink: a signed CONTROL reaches the module plain; unsigned or another key's never does. */
  int controls = m.controls;
  m.control_status = 7;
  CHECK_EQ(iotfw_rt_control(&rt, ping.signed_frame, (uint32_t)ping.signed_len), 7);
  CHECK_EQ(m.last_control_len, ping.plain_len);
  CHECK(memcmp(m.mem + m.control_buffer, ping.plain, (size_t)ping.plain_len) == 0);
  CHECK_EQ(iotfw_rt_control(&rt, ping.plain, (uint32_t)ping.plain_len), IOTFW_CONTROL_UNAUTHENTICATED);
  CHECK_EQ(iotfw_rt_control(&rt, ping_other_key.signed_frame, (uint32_t)ping_other_key.signed_len), IOTFW_CONTROL_UNAUTHENTICATED);
  ping.signed_frame[16] ^= 1; /* line noise: caught by the CRC, dropped just the same */
  CHECK_EQ(iotfw_rt_control(&rt, ping.signed_frame, (uint32_t)ping.signed_len), IOTFW_CONTROL_UNAUTHENTICATED);
  ping.signed_frame[16] ^= 1;
  CHECK_EQ(rt.controls_unauthenticated, 3);
  CHECK_EQ(m.controls, controls + 1);
  /* A keyed device takes CONTROL_MAX + 8 bytes (the module still gets at most CONTROL_MAX). */
  static uint8_t big[IOTFW_CONTROL_MAX + IOTFW_HMAC_SIZE + 1];
  CHECK_EQ(iotfw_rt_control(&rt, big, sizeof big - 1), IOTFW_CONTROL_UNAUTHENTICATED);
  CHECK_EQ(iotfw_rt_control(&rt, big, sizeof big), IOTFW_ERR_INVALID);

  /* Without a key again: frames pass as they are. */
  CHECK_EQ(iotfw_rt_set_key(&rt, NULL, 0), IOTFW_OK);
  CHECK_EQ(iotfw_rt_control(&rt, ping.plain, (uint32_t)ping.plain_len), 7);
  m.control_status = 0;
}

void test_runtime(void) {
  memset(&m, 0, sizeof m);
  m.tick_delay_ms = 1000;
  m.tick_cost_ms = 5;
  m.control_buffer = 0x8000;
  fake_now_ms = 0xFFFFF000u; /* 4 s before time_ms wraps: every comparison must survive it */
  iotfw_reset_record_t record;
  memset(&record, 0x5A, sizeof record); /* garbage: a cold power-on */
  iotfw_reset_record_boot(&record, IOTFW_RESET_WATCHDOG);
  CHECK_EQ(iotfw_reset_record_info(&record), IOTFW_RESET_POWER_ON); /* an invalid record is a power-on */
  uint8_t qbuf[1024];
  iotfw_frame_queue_t q;
  iotfw_fq_init(&q, qbuf, sizeof qbuf);
  iotfw_runtime_t rt;
  iotfw_rt_init(&rt, &engine, &record, &q, 100);
  uint8_t sha[32];
  memset(sha, 0x42, sizeof sha);
  iotfw_rt_set_module(&rt, module_bytes, sizeof module_bytes, sha);

  /* Boot: load + init at once, first tick due immediately. */
  CHECK_EQ(iotfw_rt_poll(&rt), 0);
  CHECK_EQ(m.inits, 1);
  CHECK_EQ(m.reset_info_at_init, 0);
  /* boot_id: one draw per instance, the same on every call within it. */
  uint32_t first_boot_id = m.boot_id_at_init, draws = fake_random_draws;
  CHECK_EQ(m.boot_id_again, first_boot_id);
  CHECK_EQ(q.count, 1);
  uint8_t hash[32];
  CHECK_EQ(iotfw_hal_app_hash(hash), 32);
  CHECK(memcmp(hash, sha, 32) == 0);
  /* Tick: 5 ms of work, then 1000 ms to sleep counted from when it returned. */
  CHECK_EQ(iotfw_rt_poll(&rt), 1000);
  CHECK_EQ(m.ticks, 1);
  fake_now_ms += 400;
  CHECK_EQ(iotfw_rt_poll(&rt), 600); /* not due: nothing runs, the port sleeps the rest */
  CHECK_EQ(m.ticks, 1);
  fake_now_ms += 600; /* crosses the 2^32 wrap */
  CHECK_EQ(iotfw_rt_poll(&rt), 1000);
  CHECK_EQ(m.ticks, 2);
  m.tick_delay_ms = 0; /* a 0 delay still waits at least 1 ms */
  fake_now_ms += 1000;
  CHECK_EQ(iotfw_rt_poll(&rt), 1);
  m.tick_delay_ms = 1000;
  fake_now_ms += 1;
  iotfw_rt_poll(&rt);

  /* Control: copied to control_buffer, status returned, next tick pulled to now + 1. */
  uint8_t ctl[20] = { 1, 0x10 };
  ctl[19] = 0x99;
  m.control_status = -4;
  CHECK_EQ(iotfw_rt_control(&rt, ctl, sizeof ctl), -4);
  CHECK_EQ(m.last_control_len, 20);
  CHECK_EQ(m.mem[0x8000 + 19], 0x99);
  CHECK_EQ(iotfw_rt_poll(&rt), 1);
  /* Oversize or empty frames never reach the module. */
  uint8_t big[IOTFW_CONTROL_MAX + 1];
  memset(big, 1, sizeof big);
  CHECK_EQ(iotfw_rt_control(&rt, big, sizeof big), IOTFW_ERR_INVALID);
  CHECK_EQ(iotfw_rt_control(&rt, big, 0), IOTFW_ERR_INVALID);
  CHECK_EQ(rt.controls_refused, 2);
  CHECK_EQ(m.controls, 1);
  /* A control_buffer too close to the end of memory: the glue traps, the module restarts. */
  m.control_buffer = 65536 - 10;
  CHECK_EQ(iotfw_rt_control(&rt, ctl, sizeof ctl), IOTFW_CONTROL_TRAPPED);
  CHECK_EQ(iotfw_reset_record_info(&record), (1u << 8) | IOTFW_RESET_TRAP);
  m.control_buffer = 0x8000;
  CHECK_EQ(iotfw_rt_control(&rt, ctl, sizeof ctl), IOTFW_ERR_NOT_READY); /* not running until it reboots */
  fake_now_ms += 1;
  CHECK_EQ(iotfw_rt_poll(&rt), 0);
  CHECK_EQ(m.inits, 2);
  CHECK_EQ(m.reset_info_at_init, (1u << 8) | IOTFW_RESET_TRAP);
  CHECK(m.boot_id_at_init != first_boot_id); /* the restarted instance drew a new one */
  CHECK_EQ(m.boot_id_again, m.boot_id_at_init);
  CHECK_EQ(fake_random_draws, draws + 1);

  /* Overrun: a tick that returns after more than the budget restarts with RESET_WATCHDOG. */
  m.tick_cost_ms = 150;
  iotfw_rt_poll(&rt);
  CHECK_EQ(rt.overruns, 1);
  CHECK_EQ(iotfw_reset_record_info(&record), (2u << 8) | IOTFW_RESET_WATCHDOG);
  CHECK(strstr(fake_last_log, "budget") != NULL);
  m.tick_cost_ms = 5;
  fake_now_ms += 1;
  iotfw_rt_poll(&rt);
  CHECK_EQ(m.reset_info_at_init, (2u << 8) | IOTFW_RESET_WATCHDOG);

  /* A trap in tick: RESET_TRAP; the trap message is logged. */
  m.tick_trap = "[trap] unreachable executed";
  iotfw_rt_poll(&rt);
  CHECK_EQ(iotfw_reset_record_info(&record), (3u << 8) | IOTFW_RESET_TRAP);
  CHECK(strstr(fake_last_log, "unreachable") != NULL);
  m.tick_trap = NULL;
  fake_now_ms += 1;
  iotfw_rt_poll(&rt); /* boot */
  CHECK_EQ(rt.failures_in_a_row, 3); /* control trap, overrun, tick trap: no good tick in between */
  iotfw_rt_poll(&rt); /* a good tick */
  CHECK_EQ(rt.failures_in_a_row, 0);
  fake_now_ms += 1000;

  /* Boot loop: a tick traps, then init keeps trapping; once more than 3 starts in a row failed the
   * next try waits 1000 ms instead of 1. */
  m.tick_trap = "[trap] unreachable executed";
  m.init_trap = "[trap] module panic";
  int inits_before = m.inits;
  uint32_t waits[6];
  for (int i = 0; i < 6; i++) {
    waits[i] = iotfw_rt_poll(&rt);
    fake_now_ms += waits[i];
  }
  CHECK(waits[0] == 1 && waits[1] == 1 && waits[2] == 1);
  CHECK(waits[3] == IOTFW_BOOT_LOOP_BACKOFF_MS && waits[5] == IOTFW_BOOT_LOOP_BACKOFF_MS);
  CHECK_EQ(m.inits - inits_before, 5);
  m.tick_trap = NULL;
  m.init_trap = NULL;
  iotfw_rt_poll(&rt);
  CHECK(rt.running);
  iotfw_rt_poll(&rt); /* a good tick ends the loop */
  CHECK_EQ(rt.failures_in_a_row, 0);

  /* Watchdog for a call that never returns: the port's timer asks iotfw_rt_watchdog_expired. */
  rt.in_call = 1;
  rt.call_started_ms = fake_now_ms;
  CHECK(!iotfw_rt_watchdog_expired(&rt, fake_now_ms + rt.hard_limit_ms));
  CHECK(iotfw_rt_watchdog_expired(&rt, fake_now_ms + rt.hard_limit_ms + 1));
  rt.in_call = 0;
  CHECK(!iotfw_rt_watchdog_expired(&rt, fake_now_ms + 100000));

  /* Deploy: restart with RESET_REMOTE, boot at once. */
  uint32_t count = iotfw_reset_record_info(&record) >> 8;
  iotfw_rt_restart(&rt, IOTFW_RESET_REMOTE);
  CHECK_EQ(iotfw_rt_poll(&rt), 0);
  CHECK_EQ(m.reset_info_at_init, ((count + 1) << 8) | IOTFW_RESET_REMOTE);

  /* The record across a chip reset: intact + a chip watchdog reset counts; a power-on clears. */
  iotfw_reset_record_t copy = record;
  iotfw_reset_record_boot(&copy, IOTFW_RESET_WATCHDOG);
  CHECK_EQ(iotfw_reset_record_info(&copy), ((count + 2) << 8) | IOTFW_RESET_WATCHDOG);
  copy.count ^= 1; /* corrupted RTC memory */
  iotfw_reset_record_boot(&copy, IOTFW_RESET_WATCHDOG);
  CHECK_EQ(iotfw_reset_record_info(&copy), IOTFW_RESET_POWER_ON);
  iotfw_reset_record_boot(&record, IOTFW_RESET_POWER_ON);
  CHECK_EQ(iotfw_reset_record_info(&record), IOTFW_RESET_POWER_ON);

  /* frame_out: the queue refuses when full and says so with ERR_NOT_READY. */
  uint8_t f[300];
  memset(f, 3, sizeof f);
  int32_t last = IOTFW_OK;
  for (int i = 0; i < 10; i++) last = iotfw_hal_frame_out(f, sizeof f);
  CHECK_EQ(last, IOTFW_ERR_NOT_READY);
  CHECK(q.refused > 0);

  /* No module (erased partition): nothing runs, look again in a second. */
  iotfw_runtime_t empty;
  iotfw_rt_init(&empty, &engine, &record, &q, 100);
  int loads = m.loads;
  CHECK_EQ(iotfw_rt_poll(&empty), IOTFW_BOOT_LOOP_BACKOFF_MS);
  CHECK_EQ(m.loads, loads);
  CHECK_EQ(iotfw_hal_app_hash(hash), IOTFW_ERR_UNSUPPORTED);

  test_keyed_device(&record);
}
