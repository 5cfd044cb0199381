/* ESP-IDF entry of the iotfw runtime: reset record in RTC memory, the wasm partition (mapped, checked),
 * the runtime task (poll -> sleep until the next tick or a downlink frame), the link task (UART0 with
 * COBS always; Wi-Fi TCP to the bridge with reconnect when an SSID is configured), the deploy task
 * (TCP deploy port -> upper half of the wasm partition -> copied to its start -> RESET_REMOTE), and the
 * task watchdog. UNVERIFIED HERE: no ESP-IDF or ESP32 on the test machines (docs/runtime.md says what is
 * verified where). Touches the wasm partition, UART0, Wi-Fi, two sockets. */
#include <string.h>

#include "esp_attr.h"
#include "esp_log.h"
#include "esp_partition.h"
#include "esp_system.h"
#include "esp_task_wdt.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "lwip/sockets.h"

#include "core/deploy.h"
#include "core/deploy_socket.h"
#include "core/image.h"
#include "core/link_framing.h"
#include "core/runtime.h"
#include "engine/wasm3_engine.h"
#include "hal_link.generated.h"
#include "port.h"

static const char *TAG = "iotfw";
RTC_NOINIT_ATTR static iotfw_reset_record_t reset_record; /* survives esp_restart and watchdog resets */
/* Why the runtime itself called esp_restart(), if it ever does: set both (word, ~word) just before the
 * call. Kept apart from the record, whose reason is the last reset already counted: reusing that as the
 * reason of a new reset counted one reset twice (the Linux port's bug, docs/runtime.md "Watchdog"). */
RTC_NOINIT_ATTR static uint32_t restart_reason, restart_check;

static iotfw_runtime_t rt;
static iotfw_wasm3_t wasm3;
static iotfw_engine_ops_t engine;
static iotfw_frame_queue_t queue;
static uint8_t queue_storage[4096]; /* ~8 HELLO-sized frames or ~60 summaries while the link is down */
static SemaphoreHandle_t queue_lock, rt_lock;
static QueueHandle_t downlink; /* control frames from the link task to the runtime task */
typedef struct { uint16_t len; uint8_t bytes[IOTFW_CONTROL_MAX]; } downlink_t;

static const esp_partition_t *wasm_part;
static const void *wasm_map;
static esp_partition_mmap_handle_t wasm_map_handle;

/* Map and check the partition's image; the runtime runs the module from the mapping. */
static void load_partition_module(void) {
  if (wasm_map) { esp_partition_munmap(wasm_map_handle); wasm_map = NULL; }
  if (esp_partition_mmap(wasm_part, 0, wasm_part->size, ESP_PARTITION_MMAP_DATA, &wasm_map, &wasm_map_handle) != ESP_OK) {
    ESP_LOGE(TAG, "cannot map the wasm partition");
    return;
  }
  iotfw_image_header_t h;
  const uint8_t *module = NULL;
  /* Images are accepted up to half the partition: the upper half is the deploy staging area. */
  int st = iotfw_image_check(wasm_map, wasm_part->size / 2, wasm_part->size / 2, IOTFW_HAL_VERSION, &h, &module);
  if (st != IOTFW_IMAGE_OK) {
    ESP_LOGE(TAG, "wasm partition: %s", iotfw_image_status_text(st));
    iotfw_rt_set_module(&rt, NULL, 0, h.sha256);
    return;
  }
  iotfw_rt_set_module(&rt, module, h.module_length, h.sha256);
  ESP_LOGI(TAG, "module %u bytes, free heap %u", (unsigned)h.module_length, (unsigned)esp_get_free_heap_size());
}

/* ---- deploy sink: stage in the upper half, validate, copy to offset 0 (docs/runtime.md "Deploy") ---- */
static uint32_t staging(void) { return wasm_part->size / 2; }
static int s_begin(void *ctx, uint32_t len) {
  (void)ctx;
  return esp_partition_erase_range(wasm_part, staging(), (len + 4095u) & ~4095u) == ESP_OK ? 0 : -1;
}
static int s_write(void *ctx, uint32_t off, const uint8_t *d, uint32_t n) { (void)ctx; return esp_partition_write(wasm_part, staging() + off, d, n) == ESP_OK ? 0 : -1; }
static uint32_t staged_len;
static int s_validate(void *ctx) {
  (void)ctx;
  const void *map; esp_partition_mmap_handle_t hnd; iotfw_image_header_t h; const uint8_t *module;
  if (esp_partition_mmap(wasm_part, staging(), staging(), ESP_PARTITION_MMAP_DATA, &map, &hnd) != ESP_OK) return -1;
  int ok = iotfw_image_check(map, staging(), staging(), IOTFW_HAL_VERSION, &h, &module) == IOTFW_IMAGE_OK &&
           iotfw_wasm3_validate(&wasm3, module, h.module_length, rt.max_pages) == 0; /* re-read from flash: what was written */
  staged_len = IOTFW_IMAGE_HEADER_SIZE + h.module_length;
  esp_partition_munmap(hnd);
  return ok ? 0 : -1;
}
static int s_commit(void *ctx) {
  (void)ctx;
  xSemaphoreTake(rt_lock, portMAX_DELAY); /* the old module stops here: its bytes are about to change */
  iotfw_rt_set_module(&rt, NULL, 0, rt.app_hash);
  engine.unload(engine.ctx);
  if (wasm_map) { esp_partition_munmap(wasm_map_handle); wasm_map = NULL; }
  int err = esp_partition_erase_range(wasm_part, 0, (staged_len + 4095u) & ~4095u) != ESP_OK;
  static uint8_t chunk[1024];
  for (uint32_t off = 0; !err && off < staged_len; off += sizeof chunk) {
    uint32_t n = staged_len - off < sizeof chunk ? staged_len - off : sizeof chunk;
    err = esp_partition_read(wasm_part, staging() + off, chunk, n) != ESP_OK || esp_partition_write(wasm_part, off, chunk, n) != ESP_OK;
  }
  load_partition_module(); /* on a power cut mid-copy the staging copy is still whole: see docs/runtime.md */
  iotfw_rt_restart(&rt, IOTFW_RESET_REMOTE);
  xSemaphoreGive(rt_lock);
  return err ? -1 : 0;
}
static void s_abort(void *ctx) { (void)ctx; }
static const iotfw_deploy_sink_t sink = { NULL, s_begin, s_write, s_validate, s_commit, s_abort };

static void deploy_task(void *arg) {
  (void)arg;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(CONFIG_IOTFW_DEPLOY_PORT), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(server, 1) != 0) { ESP_LOGE(TAG, "deploy port busy"); vTaskDelete(NULL); }
  static uint8_t buf[1460];
  static iotfw_deploy_rx_t rx;
  for (;;) {
    int c = accept(server, NULL, NULL);
    if (c < 0) continue;
    int32_t st = iotfw_deploy_serve_socket(c, &rx, &sink, staging(), IOTFW_HAL_VERSION, NULL /* IOTC: not yet on this port */, buf, sizeof buf, 10);
    ESP_LOGI(TAG, "deploy: %s", iotfw_deploy_status_text(st));
  }
}

/* ---- link: UART0 always (COBS with a leading 0x00: the line carries ROM and IDF logs), TCP when configured ---- */
static void link_task(void *arg) {
  (void)arg;
  static uint8_t frame[IOTFW_FRAME_MAX], out[IOTFW_SERIAL_FRAME_MAX];
  static iotfw_tcp_rx_t trx;
  int sock = -1;
  uint32_t backoff_ms = 500;
  for (;;) {
    if (sock < 0 && iotfw_port_wifi_up()) {
      sock = iotfw_port_tcp_connect(CONFIG_IOTFW_BRIDGE_HOST, CONFIG_IOTFW_BRIDGE_PORT);
      if (sock >= 0) { send(sock, IOTFW_TCP_PREAMBLE, 4, 0); iotfw_tcp_rx_init(&trx); backoff_ms = 500; }
      else { vTaskDelay(pdMS_TO_TICKS(backoff_ms)); backoff_ms = backoff_ms < 30000 ? backoff_ms * 2 : 30000; continue; }
    }
    xSemaphoreTake(queue_lock, portMAX_DELAY);
    int32_t n = iotfw_fq_peek(&queue, frame, sizeof frame);
    xSemaphoreGive(queue_lock);
    if (n > 0) {
      size_t s = iotfw_serial_frame(frame, (size_t)n, 1, out);
      iotfw_port_uart_write(out, s);
      int sent_ok = 1;
      if (sock >= 0) {
        size_t t = iotfw_tcp_frame(frame, (size_t)n, out);
        if (send(sock, out, t, 0) != (int)t) { close(sock); sock = -1; sent_ok = 0; } /* keep it for the reconnect */
      }
      if (sent_ok || sock < 0) { xSemaphoreTake(queue_lock, portMAX_DELAY); iotfw_fq_drop(&queue); xSemaphoreGive(queue_lock); }
      continue;
    }
    if (sock >= 0) { /* downlink: wait briefly for control frames */
      static uint8_t in[256];
      struct timeval tv = { .tv_usec = 20000 };
      setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      int r = recv(sock, in, sizeof in, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) { close(sock); sock = -1; continue; }
      for (int i = 0; i < r; i++) {
        int32_t len = iotfw_tcp_rx_byte(&trx, in[i]);
        if (len > 0 && len <= (int32_t)IOTFW_CONTROL_MAX) { downlink_t d = { .len = (uint16_t)len }; memcpy(d.bytes, trx.frame, (size_t)len); xQueueSend(downlink, &d, 0); }
      }
    } else {
      vTaskDelay(pdMS_TO_TICKS(20));
    }
  }
}

/* ---- the runtime task: poll, then sleep until the next tick or a downlink frame ---- */
static void runtime_task(void *arg) {
  (void)arg;
  esp_task_wdt_add(NULL); /* a tick that never returns stops the feeding: the chip resets, RESET_WATCHDOG */
  static downlink_t d;
  for (;;) {
    xSemaphoreTake(rt_lock, portMAX_DELAY);
    uint32_t wait = iotfw_rt_poll(&rt);
    xSemaphoreGive(rt_lock);
    esp_task_wdt_reset();
    if (wait > 1000) wait = 1000; /* wake at least every second to feed the watchdog */
    if (xQueueReceive(downlink, &d, pdMS_TO_TICKS(wait)) == pdTRUE) {
      xSemaphoreTake(rt_lock, portMAX_DELAY);
      iotfw_rt_control(&rt, d.bytes, d.len);
      xSemaphoreGive(rt_lock);
    }
  }
}

/* frame_out from the module runs in the runtime task; the link task reads the queue. */
static int32_t queue_push(const uint8_t *frame, uint32_t len) {
  xSemaphoreTake(queue_lock, portMAX_DELAY);
  int32_t r = iotfw_fq_push(&queue, frame, len);
  xSemaphoreGive(queue_lock);
  return r;
}

void app_main(void) {
  /* How the chip's last run ended, counted once into the record (iotfw_reset_record_boot). */
  esp_reset_reason_t why = esp_reset_reason();
  uint32_t chip = why == ESP_RST_TASK_WDT || why == ESP_RST_INT_WDT || why == ESP_RST_WDT ? IOTFW_RESET_WATCHDOG
                : why == ESP_RST_PANIC ? IOTFW_RESET_TRAP : IOTFW_RESET_POWER_ON;
  if (why == ESP_RST_SW && restart_check == ~restart_reason && restart_reason <= 0xFFu) chip = restart_reason;
  restart_reason = IOTFW_RESET_POWER_ON; restart_check = 0; /* consumed: a later esp_restart by others is not ours */
  iotfw_reset_record_boot(&reset_record, chip);
  queue_lock = xSemaphoreCreateMutex();
  rt_lock = xSemaphoreCreateMutex();
  downlink = xQueueCreate(4, sizeof(downlink_t));
  iotfw_fq_init(&queue, queue_storage, sizeof queue_storage);
  iotfw_port_init(); /* UART, NVS, Wi-Fi (if configured), GPIO ISR service */
  iotfw_wasm3_engine(&wasm3, IOTFW_WASM3_VALUE_STACK, &engine);
  iotfw_rt_init(&rt, &engine, &reset_record, &queue, CONFIG_IOTFW_TICK_BUDGET_MS);
  rt.queue_push = queue_push;
  wasm_part = esp_partition_find_first(0x40, 0x00, NULL); /* docs/wasm-partition.md: type 0x40, subtype 0x00 */
  if (wasm_part == NULL) ESP_LOGE(TAG, "no wasm partition (type 0x40): flash the partition table from iotfw build");
  else load_partition_module();
  xTaskCreate(link_task, "iotfw_link", 4096, NULL, 5, NULL);
  xTaskCreate(deploy_task, "iotfw_deploy", 4096, NULL, 4, NULL);
  xTaskCreate(runtime_task, "iotfw_rt", 8192, NULL, 6, NULL);
}
