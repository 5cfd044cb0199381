/* What the ESP-IDF port's main.c needs from its HAL file (hal_esp32.c). UNVERIFIED HERE. */
#ifndef IOTFW_PORT_ESP32_H
#define IOTFW_PORT_ESP32_H

#include <stddef.h>
#include <stdint.h>

void iotfw_port_init(void);
int iotfw_port_wifi_up(void);
/* A connected TCP socket to host:port, or -1. */
int iotfw_port_tcp_connect(const char *host, int port);
void iotfw_port_uart_write(const uint8_t *bytes, size_t len);

#endif /* IOTFW_PORT_ESP32_H */
