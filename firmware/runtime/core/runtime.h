/* The port-independent runtime: load the module through an engine (Wasm3 on the device, a fake in the
 * host tests), run init then tick after tick at the delays tick returns, pass downlink control frames
 * to the module, and restart it on a trap or an overrun (reset_info reason and count, kept in a record
 * that survives a chip reset where the port has such memory). It also implements the HAL imports that
 * are the same on every port: frame_out (the frame queue), app_hash, reset_info, boot_id, panic. With a device
 * key it signs every frame the module sends and opens every downlink frame (frame_auth.h).
 * One runtime per device (the HAL functions reach it through iotfw_rt_current). Not thread-safe: the
 * port calls it from one task; only iotfw_rt_watchdog_expired may be read from another. */
#ifndef IOTFW_RUNTIME_H
#define IOTFW_RUNTIME_H

#include <stdint.h>

#include "../hal_link.generated.h"
#include "frame_auth.h"
#include "frame_queue.h"

/* What the runtime needs from an interpreter. Every call returns NULL or a trap message. */
typedef struct {
  void *ctx;
  /* A fresh instance of module (parse, link the HAL, instantiate, check abi_version()). */
  const char *(*load)(void *ctx, const uint8_t *module, uint32_t len);
  const char *(*init)(void *ctx, int32_t *status);
  const char *(*tick)(void *ctx, uint32_t now_ms, uint32_t *delay_ms);
  /* Copy frame into control_buffer() (bounds-checked) and call control(len). */
  const char *(*control)(void *ctx, const uint8_t *frame, uint32_t len, int32_t *status);
  void (*unload)(void *ctx);
} iotfw_engine_ops_t;

/* Why and how often the module was restarted; kept where a chip reset does not clear it (ESP32:
 * RTC_NOINIT_ATTR memory; Linux: a state file). A record whose check word is wrong is a power-on. */
typedef struct {
  uint32_t magic;
  uint32_t count;
  uint32_t reason;
  uint32_t check;
} iotfw_reset_record_t;

/* Power-on: the record is reset unless it is intact and chip_reason is not IOTFW_RESET_POWER_ON, in
 * which case that reset is counted with that reason (a chip watchdog reset -> IOTFW_RESET_WATCHDOG). */
void iotfw_reset_record_boot(iotfw_reset_record_t *rec, uint32_t chip_reason);
/* A module restart: count + 1 (saturating at 2^24 - 1), reason. */
void iotfw_reset_record_note(iotfw_reset_record_t *rec, uint32_t reason);
/* The HAL's reset_info: bits 0..7 reason, 8..31 count. */
uint32_t iotfw_reset_record_info(const iotfw_reset_record_t *rec);

/* After this many failed starts in a row the runtime waits IOTFW_BOOT_LOOP_BACKOFF_MS before the next
 * (the simulator's VirtualDevice does the same). */
#define IOTFW_BOOT_LOOP_FAILURES 3u
#define IOTFW_BOOT_LOOP_BACKOFF_MS 1000u
/* iotfw_rt_control's answer when the module trapped while handling the frame (it was restarted). */
#define IOTFW_CONTROL_TRAPPED (-100)
/* iotfw_rt_control's answer on a keyed device when the frame is unsigned, corrupt or signed with another
 * key: dropped before the module sees it, counted in controls_unauthenticated. */
#define IOTFW_CONTROL_UNAUTHENTICATED (-101)

typedef struct {
  const iotfw_engine_ops_t *engine;
  iotfw_reset_record_t *record;
  iotfw_frame_queue_t *queue;
  /* Optional: how frame_out reaches the queue when the link reads it from another task (the port
   * takes its lock around iotfw_fq_push); NULL = push directly. */
  int32_t (*queue_push)(const uint8_t *frame, uint32_t len);
  const uint8_t *module;
  uint32_t module_len;
  uint8_t app_hash[32];
  uint32_t budget_ms;       /* one init, tick or control may take this long */
  uint32_t max_pages;       /* linear memory a module may have (boards/<board>.json memory.maxPages) */
  uint32_t hard_limit_ms;   /* a call still running after this is hung: the port resets the chip */
  int running;              /* init succeeded on the current instance */
  uint32_t next_ms;         /* when the next tick (or boot) is due */
  uint32_t failures_in_a_row;
  volatile int in_call;
  volatile uint32_t call_started_ms;
  uint32_t ticks, traps, overruns, controls, controls_refused, boots;
  /* boot_id of the current instance, drawn from iotfw_port_random32 on the module's first call of it
   * (boot_id_of is the value of boots it was drawn for: a new instance draws again). */
  uint32_t boot_id, boot_id_of;
  char last_error[96];
  /* Per-device key (iotfw_rt_set_key; docs/protocol.md "HMAC trailer"). The runtime signs what the
   * module sends and opens what reaches it; the module never holds the key. */
  int keyed;
  iotfw_hmac_key_t key;
  uint8_t signed_frame[IOTFW_FRAME_MAX];                 /* frame_out's frame, signed */
  uint8_t opened_control[IOTFW_CONTROL_MAX];             /* a downlink frame, checked and stripped */
  uint32_t frames_unsignable;        /* frame_out refused: not a plain frame, or too long to sign */
  uint32_t controls_unauthenticated; /* downlink frames dropped: unsigned, corrupt or wrong key */
} iotfw_runtime_t;

extern iotfw_runtime_t *iotfw_rt_current;

/* The port's random number source for boot_id (ESP32: esp_random(); Linux: getrandom(); the sim port:
 * the host answers, so that both engines give the same bytes). Called once per module instance. */
uint32_t iotfw_port_random32(void);

/* Set up (and make current); the first boot is due at once. */
void iotfw_rt_init(iotfw_runtime_t *rt, const iotfw_engine_ops_t *engine, iotfw_reset_record_t *record,
                   iotfw_frame_queue_t *queue, uint32_t budget_ms);
/* The module to run (checked by iotfw_image_check; the bytes must stay valid while it runs). */
void iotfw_rt_set_module(iotfw_runtime_t *rt, const uint8_t *module, uint32_t len, const uint8_t sha256[32]);
/* Give the device its key (16 to 64 bytes, e.g. from NVS or a file; docs/runtime.md "Device keys"), or
 * none (len 0: frames go out unsigned, downlink frames pass as they are). IOTFW_OK or IOTFW_ERR_INVALID. */
int32_t iotfw_rt_set_key(iotfw_runtime_t *rt, const uint8_t *key, uint32_t len);
/* Run what is due now (boot: load + init; or one tick). Returns the milliseconds until something is due
 * again: the port sleeps that long, or until a downlink frame arrives. */
uint32_t iotfw_rt_poll(iotfw_runtime_t *rt);
/* The milliseconds until iotfw_rt_poll has something to do (0: due now), without running anything. */
uint32_t iotfw_rt_wait(const iotfw_runtime_t *rt);
/* A downlink frame from the link: the module's status, IOTFW_ERR_NOT_READY (no module running),
 * IOTFW_ERR_INVALID (empty or longer than CONTROL_MAX: refused, counted), IOTFW_CONTROL_UNAUTHENTICATED
 * (keyed device: bad or missing HMAC) or IOTFW_CONTROL_TRAPPED. A keyed device's frame may be
 * CONTROL_MAX + 8 bytes; the module gets it without the trailer. */
int32_t iotfw_rt_control(iotfw_runtime_t *rt, const uint8_t *frame, uint32_t len);
/* Restart the module now for reason (IOTFW_RESET_REMOTE after a deploy). */
void iotfw_rt_restart(iotfw_runtime_t *rt, uint32_t reason);
/* True when a module call has been running for longer than hard_limit_ms at now_ms. */
int iotfw_rt_watchdog_expired(const iotfw_runtime_t *rt, uint32_t now_ms);

#endif /* IOTFW_RUNTIME_H */
