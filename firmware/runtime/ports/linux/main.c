/* Linux entry of the iotfw runtime (e.g. a Raspberry Pi):
 *   iotfw-runtime --image wasm-partition.bin [--link stdout|serial:/dev/ttyAMA0|tcp:HOST:PORT]
 *                 [--deploy-port 7602] [--board rpi] [--device-id HEX] [--state FILE] [--budget-ms 1000]
 * Loads and checks the image file, runs the module (poll -> sleep in poll(2) until the next tick, a
 * downlink frame or a deploy connection), frames output for the link (COBS on stdout/serial, "IOTF" +
 * length on TCP), and accepts deploys (staged to IMAGE.new, validated, renamed over IMAGE).
 * The reset record and how the last process ended live in --state (state.h), so a watchdog exit
 * restarted by systemd is counted once. A hung call is caught by SIGALRM: the state file says
 * "watchdog" and the process exits (70) for its supervisor to restart it.
 * Built by CMakeLists.txt with Wasm3 and run by tests/linux-deploy.test.ts. Touches its image file,
 * state file, link, deploy port. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>

#include "core/deploy.h"
#include "core/deploy_socket.h"
#include "core/image.h"
#include "core/link_framing.h"
#include "core/runtime.h"
#include "engine/wasm3_engine.h"
#include "hal_link.generated.h"
#include "port.h"
#include "state.h"

static const char *image_path, *state_path = "iotfw-reset.state", *link_spec = "stdout";
static iotfw_reset_record_t record;
static iotfw_runtime_t rt;
static iotfw_wasm3_t wasm3;
static iotfw_engine_ops_t engine;
static uint8_t *image;
static uint32_t image_len;

/* The state file follows the record: saved whenever the runtime changed it (a trap, an overrun, a
 * deploy), so a later exit carries the right count. */
static iotfw_reset_record_t saved;
static void save_record(void) {
  if (memcmp(&saved, &record, sizeof record) == 0) return;
  iotfw_linux_state_save(state_path, &record, IOTFW_LINUX_EXIT_RUNNING);
  saved = record;
}
/* Signal handlers say only how the process ends; the next boot counts it (state.h). They touch the
 * record read-only: the runtime changes it between module calls, never inside one. */
static void on_alarm(int sig) {
  (void)sig;
  if (iotfw_rt_watchdog_expired(&rt, iotfw_hal_time_ms())) { iotfw_linux_state_save(state_path, &record, IOTFW_RESET_WATCHDOG); _exit(70); }
}
static void on_stop(int sig) { (void)sig; iotfw_linux_state_save(state_path, &record, IOTFW_RESET_POWER_ON); _exit(0); }
static void on_crash(int sig) { /* the runtime itself faulted (a bug): counted as a trap, like ESP_RST_PANIC */
  iotfw_linux_state_save(state_path, &record, IOTFW_RESET_TRAP);
  signal(sig, SIG_DFL);
  raise(sig);
}
static void on_signal(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static int load_image(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "iotfw-runtime: cannot open %s: %s\n", path, strerror(errno)); return -1; }
  static uint8_t *buf;
  free(buf);
  buf = malloc(IOTFW_IMAGE_HEADER_SIZE + 1024 * 1024);
  size_t n = fread(buf, 1, IOTFW_IMAGE_HEADER_SIZE + 1024 * 1024, f);
  fclose(f);
  iotfw_image_header_t h;
  const uint8_t *module;
  int st = iotfw_image_check(buf, (uint32_t)n, (uint32_t)n, IOTFW_HAL_VERSION, &h, &module);
  if (st != IOTFW_IMAGE_OK) { fprintf(stderr, "iotfw-runtime: %s: %s\n", path, iotfw_image_status_text(st)); return -1; }
  image = buf; image_len = (uint32_t)n;
  iotfw_rt_set_module(&rt, module, h.module_length, h.sha256);
  return 0;
}

/* ---- deploy sink: IMAGE.new, validated with Wasm3, renamed over IMAGE (atomic on one file system) ---- */
static FILE *staged;
static char staged_path[4096];
static int s_begin(void *c, uint32_t len) { (void)c; (void)len; snprintf(staged_path, sizeof staged_path, "%s.new", image_path); return (staged = fopen(staged_path, "wb")) ? 0 : -1; }
static int s_write(void *c, uint32_t off, const uint8_t *d, uint32_t n) { (void)c; return fseek(staged, off, SEEK_SET) == 0 && fwrite(d, 1, n, staged) == n ? 0 : -1; }
static int s_validate(void *c) {
  (void)c;
  if (fclose(staged) != 0) { staged = NULL; return -1; }
  staged = NULL;
  FILE *f = fopen(staged_path, "rb");
  static uint8_t buf[IOTFW_IMAGE_HEADER_SIZE + 1024 * 1024];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  iotfw_image_header_t h; const uint8_t *module;
  return iotfw_image_check(buf, (uint32_t)n, (uint32_t)n, IOTFW_HAL_VERSION, &h, &module) == IOTFW_IMAGE_OK &&
         iotfw_wasm3_validate(&wasm3, module, h.module_length, rt.max_pages) == 0 ? 0 : -1;
}
static int s_commit(void *c) {
  (void)c;
  if (rename(staged_path, image_path) != 0) return -1;
  engine.unload(engine.ctx);
  if (load_image(image_path) != 0) return -1;
  iotfw_rt_restart(&rt, IOTFW_RESET_REMOTE);
  save_record();
  return 0;
}
static void s_abort(void *c) { (void)c; if (staged) fclose(staged); staged = NULL; unlink(staged_path); }
static const iotfw_deploy_sink_t sink = { NULL, s_begin, s_write, s_validate, s_commit, s_abort };

static int32_t control_request(void *ctx, const uint8_t *frame, uint32_t len, uint8_t *ack, uint32_t ack_cap, uint32_t *ack_len);
static const iotfw_control_port_t control_port = { NULL, control_request };

static void serve_deploy(int c) {
  static iotfw_deploy_rx_t rx;
  static uint8_t buf[4096];
  int32_t st = iotfw_deploy_serve_socket(c, &rx, &sink, 1024 * 1024, IOTFW_HAL_VERSION, &control_port, buf, sizeof buf, 10);
  if (st != IOTFW_DEPLOY_CONTROL) fprintf(stderr, "iotfw-runtime: deploy: %s\n", iotfw_deploy_status_text(st));
}

/* ---- link ---- */
static int link_fd = 1, link_tcp;
static int open_link(void) {
  if (strcmp(link_spec, "stdout") == 0) return 1;
  if (strncmp(link_spec, "serial:", 7) == 0) {
    int fd = open(link_spec + 7, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (fd >= 0 && tcgetattr(fd, &t) == 0) { cfmakeraw(&t); cfsetspeed(&t, B115200); tcsetattr(fd, TCSANOW, &t); }
    return fd;
  }
  if (strncmp(link_spec, "tcp:", 4) == 0) {
    char host[256]; const char *colon = strrchr(link_spec + 4, ':');
    if (!colon) return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - link_spec - 4), link_spec + 4);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
    int s = socket(res->ai_family, SOCK_STREAM, 0);
    if (connect(s, res->ai_addr, res->ai_addrlen) != 0) { close(s); s = -1; }
    freeaddrinfo(res);
    if (s >= 0) { link_tcp = 1; send(s, IOTFW_TCP_PREAMBLE, 4, MSG_NOSIGNAL); }
    return s;
  }
  return -1;
}
/* While a control from the deploy port is delivered: the ACK to look for among the frames going out. */
typedef struct { uint32_t seq; uint8_t *ack; uint32_t cap; uint32_t *len; } ack_watch_t;
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }

static void flush_queue(iotfw_frame_queue_t *q, const ack_watch_t *watch) {
  uint8_t frame[IOTFW_FRAME_MAX], out[IOTFW_SERIAL_FRAME_MAX];
  int32_t n;
  while (link_fd >= 0 && (n = iotfw_fq_peek(q, frame, sizeof frame)) > 0) {
    /* docs/protocol.md: type at 1, seq at 7, an ACK's acked seq first in its payload (15). */
    if (watch && *watch->len == 0 && n >= 28 && frame[1] == 0x06 && le32(frame + 15) == watch->seq && (uint32_t)n <= watch->cap) {
      memcpy(watch->ack, frame, (size_t)n);
      *watch->len = (uint32_t)n;
    }
    size_t len = link_tcp ? iotfw_tcp_frame(frame, (size_t)n, out) : iotfw_serial_frame(frame, (size_t)n, 1, out);
    if (write(link_fd, out, len) != (ssize_t)len) { if (link_tcp) { close(link_fd); link_fd = -1; } return; } /* kept for the reconnect */
    iotfw_fq_drop(q);
  }
}

static uint8_t qbuf[16384];
static iotfw_frame_queue_t q;

/* "IOTC" on the deploy port: the CONTROL frame goes to the module as one from the link does (signed
 * frames are checked on a keyed device); the frames it answers with go out on the link, and its ACK
 * for this command is the answer too. No link to write to: the ACK stays queued, none is returned. */
static int32_t control_request(void *ctx, const uint8_t *frame, uint32_t len, uint8_t *ack, uint32_t ack_cap, uint32_t *ack_len) {
  (void)ctx;
  *ack_len = 0;
  if (len < 20 || frame[0] != 1 || frame[1] != 0x10) return IOTFW_CONTROL_BAD_REQUEST; /* not a CONTROL frame */
  const uint32_t device = le32(frame + 3);
  if (device != iotfw_hal_device_id() && device != 0xFFFFFFFFu) return IOTFW_CONTROL_UNKNOWN_DEVICE;
  flush_queue(&q, NULL); /* what was queued before goes first, unwatched */
  iotfw_rt_control(&rt, frame, len);
  const ack_watch_t watch = { le32(frame + 7), ack, ack_cap, ack_len };
  flush_queue(&q, &watch);
  save_record();
  return IOTFW_CONTROL_OK;
}

int main(int argc, char **argv) {
  int deploy_port = 7602;
  uint32_t budget = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--image")) image_path = argv[i + 1];
    else if (!strcmp(argv[i], "--link")) link_spec = argv[i + 1];
    else if (!strcmp(argv[i], "--deploy-port")) deploy_port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--board")) iotfw_linux_board = argv[i + 1];
    else if (!strcmp(argv[i], "--device-id")) iotfw_linux_device_id = (uint32_t)strtoul(argv[i + 1], NULL, 16);
    else if (!strcmp(argv[i], "--state")) state_path = argv[i + 1];
    else if (!strcmp(argv[i], "--budget-ms")) budget = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--gpiochip")) iotfw_linux_gpiochip = argv[i + 1];
    else { fprintf(stderr, "iotfw-runtime: unknown option %s\n", argv[i]); return 2; }
  }
  if (!image_path) { fprintf(stderr, "usage: iotfw-runtime --image wasm-partition.bin [--link stdout|serial:DEV|tcp:HOST:PORT] [--deploy-port N]\n"); return 2; }
  iotfw_linux_state_boot(state_path, &record); /* counts how the last process ended, once */
  saved = record;
  on_signal(SIGTERM, on_stop); on_signal(SIGINT, on_stop); on_signal(SIGHUP, on_stop);
  on_signal(SIGSEGV, on_crash); on_signal(SIGBUS, on_crash); on_signal(SIGILL, on_crash);
  on_signal(SIGFPE, on_crash); on_signal(SIGABRT, on_crash);
  signal(SIGPIPE, SIG_IGN); /* a bridge or reader that went away is a write error, not our death */
  iotfw_fq_init(&q, qbuf, sizeof qbuf);
  iotfw_wasm3_engine(&wasm3, IOTFW_WASM3_VALUE_STACK, &engine); /* as on the ESP32: one stack depth everywhere */
  iotfw_rt_init(&rt, &engine, &record, &q, budget);
  if (load_image(image_path) != 0) return 1;
  on_signal(SIGALRM, on_alarm);
  struct itimerval wd = { { 0, 100000 }, { 0, 100000 } };
  setitimer(ITIMER_REAL, &wd, NULL);
  link_fd = open_link();
  int ds = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ds, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)deploy_port), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (bind(ds, (struct sockaddr *)&a, sizeof a) != 0 || listen(ds, 1) != 0) { perror("iotfw-runtime: deploy port"); return 1; }
  iotfw_serial_rx_t srx; iotfw_tcp_rx_t trx;
  iotfw_serial_rx_init(&srx); iotfw_tcp_rx_init(&trx);
  /* The downlink: stdin for the stdout link. At its end (/dev/null under systemd or a background
   * shell, a closed pipe) poll(2) reports it readable for ever; it is dropped then, or the loop would
   * spin at 100% CPU and starve everything else on the core (a deploy CLI took seconds to start). */
  int downlink_open = 1;
  for (;;) {
    uint32_t wait = iotfw_rt_poll(&rt);
    save_record();
    flush_queue(&q, NULL);
    if (link_fd < 0 && link_tcp) { link_fd = open_link(); if (link_fd < 0 && wait > 1000) wait = 1000; }
    int down_fd = !downlink_open || link_fd < 0 ? -1 : link_fd == 1 ? 0 : link_fd;
    struct pollfd p[2] = { { .fd = ds, .events = POLLIN }, { .fd = down_fd, .events = POLLIN } };
    if (poll(p, 2, (int)wait) <= 0) continue;
    if (p[0].revents & POLLIN) { int c = accept(ds, NULL, NULL); if (c >= 0) { serve_deploy(c); save_record(); } }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      uint8_t in[512], frame[IOTFW_FRAME_MAX];
      ssize_t n = read(p[1].fd, in, sizeof in);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0 && link_tcp) { close(link_fd); link_fd = -1; continue; } /* reconnect */
      if (n <= 0) { downlink_open = 0; continue; } /* no more downlink; the uplink goes on */
      for (ssize_t i = 0; i < n; i++) {
        int32_t len = link_tcp ? iotfw_tcp_rx_byte(&trx, in[i]) : iotfw_serial_rx_byte(&srx, in[i], frame);
        if (len > 0) iotfw_rt_control(&rt, link_tcp ? trx.frame : frame, (uint32_t)len);
      }
      save_record();
    }
  }
}
