/* What the Linux port's main.c and hal_linux.c share. UNVERIFIED HERE (see CMakeLists.txt). */
#ifndef IOTFW_PORT_LINUX_H
#define IOTFW_PORT_LINUX_H

#include <stdint.h>

/* --i2c-dev prefix ("/dev/i2c-" + bus), --gpiochip path, --board name. */
extern const char *iotfw_linux_i2c_prefix;
extern const char *iotfw_linux_gpiochip;
extern const char *iotfw_linux_board;
extern uint32_t iotfw_linux_device_id;

#endif /* IOTFW_PORT_LINUX_H */
