/* Entry of the sim port on a POSIX host (the simulator's `--engine wasm3`):
 *   iotfw-runtime-sim [--in FILE] [--out FILE] | --fifos IN OUT
 * serves the protocol (sim.h) on stdin/stdout, on the given files, or on two FIFOs made by the host.
 * With --fifos it opens both ends without blocking (O_RDWR), says "ready" on stdout, and once the host's
 * first request arrived (so the host holds its ends) reopens them one way, so that the host's exit reads
 * as end of input and a broken pipe: the runtime never outlives the simulator. Reads are exact, writes
 * are buffered and flushed before every read (the protocol is request/reply). Touches those streams. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "sim.h"

typedef struct {
  int in, out;
  const char *fifo_in, *fifo_out; /* set until the one-way reopen (--fifos) */
  uint8_t buf[64 * 1024];
  size_t used;
} posix_io_t;

static int io_flush(void *ctx) {
  posix_io_t *p = ctx;
  size_t off = 0;
  while (off < p->used) {
    ssize_t n = write(p->out, p->buf + off, p->used - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    off += (size_t)n;
  }
  p->used = 0;
  return 0;
}
static int io_write(void *ctx, const void *data, size_t n) {
  posix_io_t *p = ctx;
  if (p->used + n > sizeof p->buf && io_flush(p) != 0) return -1;
  if (n > sizeof p->buf) { /* larger than the buffer: straight out */
    p->used = 0;
    const uint8_t *d = data;
    while (n > 0) { ssize_t w = write(p->out, d, n); if (w < 0 && errno == EINTR) continue; if (w <= 0) return -1; d += w; n -= (size_t)w; }
    return 0;
  }
  memcpy(p->buf + p->used, data, n);
  p->used += n;
  return 0;
}
/* The host has its ends open now: hold ours one way only (the buffered bytes stay in the FIFO). */
static int reopen_one_way(posix_io_t *p) {
  int in = open(p->fifo_in, O_RDONLY), out = open(p->fifo_out, O_WRONLY);
  if (in < 0 || out < 0) return -1;
  close(p->in);
  close(p->out);
  p->in = in;
  p->out = out;
  p->fifo_in = p->fifo_out = NULL;
  return 0;
}
/* Wait for input by polling for a short while, yielding the core to anything else runnable, before a
 * blocking read: the host answers a HAL call within microseconds, and a core that went idle in between
 * takes far longer to wake (tens of microseconds in a VM) than the answer took. */
#define SPIN_NS 200000L
static void await_input(int fd) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, 0) != 0) return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > SPIN_NS) return;
    sched_yield();
  }
}

static int io_read(void *ctx, void *data, size_t n) {
  posix_io_t *p = ctx;
  uint8_t *d = data;
  while (n > 0) {
    await_input(p->in);
    ssize_t r = read(p->in, d, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    d += r;
    n -= (size_t)r;
    if (p->fifo_in && reopen_one_way(p) != 0) return -1;
  }
  return 0;
}

static posix_io_t io_state;

int main(int argc, char **argv) {
  io_state.in = 0;
  io_state.out = 1;
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* and if the host dies before it opened its ends */
#endif
  signal(SIGPIPE, SIG_IGN);         /* a closed host is a write error, handled as the end */
  signal(SIGINT, SIG_IGN);          /* Ctrl-C is the simulator's to handle: it ends us by closing the stream */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fifos") && i + 2 < argc) {
      io_state.fifo_in = argv[i + 1];
      io_state.fifo_out = argv[i + 2];
      io_state.in = open(argv[i + 1], O_RDWR);
      io_state.out = open(argv[i + 2], O_RDWR);
      if (io_state.in < 0 || io_state.out < 0) { fprintf(stderr, "iotfw-runtime-sim: --fifos: %s\n", strerror(errno)); return 2; }
      i += 2;
      printf("ready\n");
      fflush(stdout);
      continue;
    }
    int *fd = !strcmp(argv[i], "--in") ? &io_state.in : !strcmp(argv[i], "--out") ? &io_state.out : NULL;
    if (fd == NULL || i + 1 >= argc) { fprintf(stderr, "usage: iotfw-runtime-sim [--in FILE] [--out FILE] | --fifos IN OUT\n"); return 2; }
    *fd = open(argv[++i], fd == &io_state.in ? O_RDONLY : O_WRONLY);
    if (*fd < 0) { fprintf(stderr, "iotfw-runtime-sim: %s: %s\n", argv[i], strerror(errno)); return 2; }
  }
  iotfw_sim_io_t io = { &io_state, io_read, io_write, io_flush };
  int rc = iotfw_sim_serve(&io);
  return rc == 1 ? 0 : rc; /* the host closing the stream is a normal end */
}
