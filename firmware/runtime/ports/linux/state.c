/* The Linux port's state file (state.h). Touches the file at the path it is given only. */
#include "state.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define STATE_MAGIC 0x53544F49u /* "IOTS" as little-endian bytes */

int iotfw_linux_state_load(const char *path, iotfw_reset_record_t *rec, uint32_t *last_exit) {
  iotfw_linux_state_t s;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, &s, sizeof s);
  close(fd);
  /* The runtime before this file format saved a bare 16-byte record: not a state file, a power-on. */
  if (n != (ssize_t)sizeof s || s.magic != STATE_MAGIC || s.last_exit_check != ~s.last_exit) return 0;
  *rec = s.record;
  *last_exit = s.last_exit;
  return 1;
}

int iotfw_linux_state_save(const char *path, const iotfw_reset_record_t *rec, uint32_t last_exit) {
  iotfw_linux_state_t s;
  memset(&s, 0, sizeof s);
  s.magic = STATE_MAGIC;
  s.last_exit = last_exit;
  s.last_exit_check = ~last_exit;
  s.record = *rec;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t n = write(fd, &s, sizeof s);
  return close(fd) == 0 && n == (ssize_t)sizeof s ? 0 : -1;
}

uint32_t iotfw_linux_state_boot(const char *path, iotfw_reset_record_t *rec) {
  uint32_t last_exit = IOTFW_RESET_POWER_ON;
  if (!iotfw_linux_state_load(path, rec, &last_exit)) { memset(rec, 0, sizeof *rec); last_exit = IOTFW_RESET_POWER_ON; }
  uint32_t why = last_exit == IOTFW_LINUX_EXIT_RUNNING ? IOTFW_RESET_POWER_ON : last_exit;
  iotfw_reset_record_boot(rec, why); /* the one place an exit is counted */
  iotfw_linux_state_save(path, rec, IOTFW_LINUX_EXIT_RUNNING);
  return last_exit;
}
