/*
 * i8042 keyboard controller, with no keyboard or mouse behind it: enough
 * for Linux's i8042 driver to find a controller, and for the guest to reset
 * the machine through it (command 0xFE, or the output port's reset bit).
 *
 * Wiring: two PIO ranges of one port each, so 0x61..0x63 (PIT/speaker
 * port B) stay free for their own owner:
 *   PORT_I8042_DATA (0x60), len 1: i8042_data_ops
 *   PORT_I8042_CMD  (0x64), len 1: i8042_cmd_ops (status on read)
 * opaque = struct i8042 *. Only 1-byte accesses are decoded.
 *
 * Contract: bytes sent to the absent keyboard or mouse are answered with
 * 0xFE and the status timeout bit, as a real controller does, so probes
 * fail fast instead of timing out. The output buffer raises kbd_irq
 * (GSI_KBD) or aux_irq (GSI_MOUSE) while full, if the command byte enables
 * that interrupt. Reset requests go to power_request(POWER_RESET, "i8042")
 * once per request, called without the device lock held.
 */
#ifndef PETREL_I8042_H
#define PETREL_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/irq.h"
#include "petrel/power.h"

/* Status register (port 0x64 read) */
#define I8042_STR_OBF 0x01
#define I8042_STR_IBF 0x02
#define I8042_STR_SYS 0x04
#define I8042_STR_CMD 0x08 /* last write went to port 0x64 */
#define I8042_STR_UNLOCKED 0x10
#define I8042_STR_AUXDATA 0x20
#define I8042_STR_TIMEOUT 0x40

/* Controller command byte ("CTR") */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* The CTR firmware (SeaBIOS) leaves: keyboard on with IRQ, aux off. */
#define I8042_CTR_DEFAULT \
	(I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS | I8042_CTR_XLATE)
/* Output port: bit 0 = not reset, bit 1 = A20 enabled */
#define I8042_OUTPORT_DEFAULT 0x03

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line kbd_irq, aux_irq;
	struct power_ctl power;
	uint8_t ram[32];   /* controller RAM; ram[0] is the command byte */
	uint8_t outport;
	uint8_t status;    /* STR_CMD and STR_TIMEOUT; the rest is derived */
	uint8_t obuf;      /* output buffer (last value stays readable) */
	bool obf, obuf_aux;
	uint8_t cmd;       /* command waiting for its data byte, or 0 */
	bool kbd_level, aux_level;
};

/* 0 or -errno. */
int i8042_init(struct i8042 *k, struct irq_line kbd_irq,
	       struct irq_line aux_irq, struct power_ctl power);
void i8042_destroy(struct i8042 *k);

extern const struct bus_dev_ops i8042_data_ops;
extern const struct bus_dev_ops i8042_cmd_ops;

#endif
