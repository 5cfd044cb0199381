/* Entry of the rv32 target (bare-metal RV32IMC under QEMU `virt`, picolibc with semihosting): replays a
 * recorded sim-port stream (ports/sim/sim.h) through the same runtime the x86-64 sim port runs, and
 * measures it. The input and output are semihosted files in QEMU's working directory:
 *   sim-in.bin, sim-out.bin     or   -append "--in FILE --out FILE"
 * When the process ends (serve returned, or the sim port called exit()) it prints one JSON line of
 * measurements on the semihost console and exits with serve's return code (via semihosting, so QEMU
 * exits with it). Touches the two files, the console, the stack (painted) and the heap counters. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "measure.h"
#include "sim.h"

/* Each semihosting call traps out to QEMU (a few thousand guest-invisible host instructions, but one
 * trap per call), so reads and writes go through 4 KiB buffers; the stream is request/reply, so what
 * was written is flushed before a read has to wait for the host (sim.h). */
#define BUF 4096

typedef struct {
  int in, out;
  uint8_t rbuf[BUF];
  size_t rpos, rlen;
  uint8_t wbuf[BUF];
  size_t wlen;
} semi_io_t;

static semi_io_t io_state;
static int serve_rc = -1;  /* -1 until serve returns: exit() from inside the sim port */
static uint64_t instret_start;
static int measuring;

static int io_read(void *ctx, void *data, size_t n) {
  semi_io_t *s = ctx;
  uint8_t *d = data;
  while (n > 0) {
    if (s->rpos == s->rlen) {
      ssize_t r = read(s->in, s->rbuf, sizeof s->rbuf);
      if (r <= 0) return -1;
      s->rpos = 0;
      s->rlen = (size_t)r;
    }
    size_t k = s->rlen - s->rpos < n ? s->rlen - s->rpos : n;
    memcpy(d, s->rbuf + s->rpos, k);
    s->rpos += k;
    d += k;
    n -= k;
  }
  return 0;
}

static int write_all(int fd, const uint8_t *d, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, d, n);
    if (w <= 0) return -1;
    d += w;
    n -= (size_t)w;
  }
  return 0;
}

static int io_flush(void *ctx) {
  semi_io_t *s = ctx;
  int rc = write_all(s->out, s->wbuf, s->wlen);
  s->wlen = 0;
  return rc;
}

static int io_write(void *ctx, const void *data, size_t n) {
  semi_io_t *s = ctx;
  if (s->wlen + n > sizeof s->wbuf && io_flush(s) != 0) return -1;
  if (n > sizeof s->wbuf) return write_all(s->out, data, n); /* a module-sized write: straight out */
  memcpy(s->wbuf + s->wlen, data, n);
  s->wlen += n;
  return 0;
}

/* Runs on every way out (return from main or exit() inside the sim port), so a run that ended in
 * a protocol error is still measured. */
static void report(void) {
  if (!measuring) return;
  uint64_t instret = rv32_instret() - instret_start;
  measuring = 0;
  io_flush(&io_state);
  close(io_state.out);
  close(io_state.in);
  printf("{\"instret\":%llu,\"stack_high_water\":%lu,\"stack_size\":%lu,\"heap_peak\":%lu,"
         "\"heap_arena\":%lu,\"allocs\":%lu,\"hal_calls\":%llu,\"polls\":%llu,\"controls\":%llu,\"serve\":%d}\n",
         (unsigned long long)instret, (unsigned long)rv32_stack_high_water(), (unsigned long)rv32_stack_size(),
         (unsigned long)rv32_heap.peak, (unsigned long)rv32_heap_arena(), (unsigned long)rv32_heap.allocs,
         (unsigned long long)iotfw_sim_stats.hal_calls, (unsigned long long)iotfw_sim_stats.polls,
         (unsigned long long)iotfw_sim_stats.controls, serve_rc);
  fflush(stdout);
}

int main(int argc, char **argv) {
  /* picolibc's semihost crt0 gives argv = { "program-name", <kernel path>, <-append words>... }, or
   * the arg= words of -semihosting-config: look for the options anywhere. */
  const char *in = "sim-in.bin", *out = "sim-out.bin";
  for (int i = 1; i + 1 < argc; i++) {
    if (strcmp(argv[i], "--in") == 0) in = argv[++i];
    else if (strcmp(argv[i], "--out") == 0) out = argv[++i];
  }
  io_state.in = open(in, O_RDONLY);
  if (io_state.in < 0) { printf("iotfw-rv32: cannot open %s\n", in); return 4; }
  io_state.out = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (io_state.out < 0) { printf("iotfw-rv32: cannot create %s\n", out); return 4; }
  iotfw_sim_io_t io = { &io_state, io_read, io_write, io_flush };

  atexit(report);
  rv32_stack_paint();
  measuring = 1;
  instret_start = rv32_instret();
  serve_rc = iotfw_sim_serve(&io);
  report();
  return serve_rc;
}
