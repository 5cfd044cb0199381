/* The fake /dev of the Linux HAL test (test_linux_fake_dev.c): what it saw and how to make it fail. */
#ifndef IOTFW_TEST_LINUX_FAKE_DEV_H
#define IOTFW_TEST_LINUX_FAKE_DEV_H

#include <stdint.h>

#define FAKE_BUS 1          /* /dev/i2c-1 exists; /dev/i2c-4 exists but may not be opened (EACCES) */
#define FAKE_BME280 0x76    /* the one device on it */
#define FAKE_LINES 64

typedef struct { uint16_t addr, flags, len; uint8_t data[64]; } fake_msg_t;

extern int fake_opens;            /* open() calls on a fake path */
extern int fake_syscalls;         /* every system call on a fake fd or path */
extern int fake_i2c_rdwr_calls;   /* ioctl(I2C_RDWR) calls */
extern int fake_i2c_other_ioctls; /* any other ioctl on an I2C fd (none expected) */
extern fake_msg_t fake_msgs[4];   /* the last I2C_RDWR's messages (writes: bytes written) */
extern unsigned fake_nmsgs;
extern int fake_next_errno;       /* non-zero: the next I2C_RDWR fails with it, the device untouched */
extern uint8_t fake_bme280_regs[256];

extern uint64_t fake_line_flags[FAKE_LINES]; /* flags of each line's last request (0: none open) */
extern int fake_line_requests, fake_line_closes;
extern char fake_line_consumer[32];
extern int fake_line_level[FAKE_LINES];      /* what a read sees; what a write set */
/* Queue an edge event for the next read() of pin's line fd. */
void fake_line_event(int pin, uint64_t timestamp_ns, int rising);
void fake_reset(void);

#endif /* IOTFW_TEST_LINUX_FAKE_DEV_H */
