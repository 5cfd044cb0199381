/* The Linux port's state file (--state): the reset record plus how the last runtime process ended,
 * kept apart like the ESP32 keeps its RTC record apart from esp_reset_reason(). The boot counts the
 * last exit exactly once (iotfw_reset_record_boot); a watchdog exit only says "watchdog" here and does
 * not touch the record itself, so one watchdog reset is one count. Touches the file at path only. */
#ifndef IOTFW_LINUX_STATE_H
#define IOTFW_LINUX_STATE_H

#include <stdint.h>

#include "core/runtime.h"

/* last_exit values: an IOTFW_RESET_* reason (POWER_ON for a clean stop), or RUNNING while a process
 * runs; a file still saying RUNNING at boot means the last process died unseen (SIGKILL): power-on. */
#define IOTFW_LINUX_EXIT_RUNNING 0xFFFFFFFFu

typedef struct {
  uint32_t magic;            /* "IOTS" */
  uint32_t last_exit;
  uint32_t last_exit_check;  /* ~last_exit: a torn write reads as no file */
  iotfw_reset_record_t record;
} iotfw_linux_state_t;

/* Read path: 1 with *rec and *last_exit filled, 0 when missing or not a state file. */
int iotfw_linux_state_load(const char *path, iotfw_reset_record_t *rec, uint32_t *last_exit);
/* Write path with open/write/close only, so a signal handler may call it (signal-safety(7)). 0 or -1. */
int iotfw_linux_state_save(const char *path, const iotfw_reset_record_t *rec, uint32_t last_exit);
/* At start: load, count the last exit once into *rec (no file, a clean stop or an unseen death: a
 * power-on, count 0), then save it as RUNNING. Returns the reason the last process ended with. */
uint32_t iotfw_linux_state_boot(const char *path, iotfw_reset_record_t *rec);

#endif /* IOTFW_LINUX_STATE_H */
