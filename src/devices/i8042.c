/*
 * i8042 keyboard controller without devices behind it. Command set after
 * the IBM PS/2 technical reference and what Linux's i8042.c issues.
 */
#include <errno.h>
#include <string.h>

#include "petrel/i8042.h"

enum {
	CMD_READ_RAM = 0x20,  /* 0x20..0x3f: RAM byte (0x20: command byte) */
	CMD_WRITE_RAM = 0x60, /* 0x60..0x7f */
	CMD_AUX_DISABLE = 0xa7,
	CMD_AUX_ENABLE = 0xa8,
	CMD_AUX_TEST = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_KBD_TEST = 0xab,
	CMD_KBD_DISABLE = 0xad,
	CMD_KBD_ENABLE = 0xae,
	CMD_READ_INPORT = 0xc0,
	CMD_READ_OUTPORT = 0xd0,
	CMD_WRITE_OUTPORT = 0xd1,
	CMD_WRITE_KBD_OBUF = 0xd2,
	CMD_WRITE_AUX_OBUF = 0xd3, /* Linux's "AUX loop" */
	CMD_WRITE_AUX = 0xd4,
	CMD_PULSE_FIRST = 0xf0, /* 0xf0..0xff: pulse output port bits 3:0 */
};

#define SELF_TEST_OK 0x55
#define IFACE_TEST_OK 0x00
#define NO_DEVICE_REPLY 0xfe
#define INPORT_VALUE 0xa0 /* keyboard not inhibited, colour display */

static uint8_t ctr(const struct i8042 *k)
{
	return k->ram[0];
}

static void irq_update(struct i8042 *k)
{
	bool kbd = k->obf && !k->obuf_aux && (ctr(k) & I8042_CTR_KBDINT);
	bool aux = k->obf && k->obuf_aux && (ctr(k) & I8042_CTR_AUXINT);

	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		irq_line_set(&k->kbd_irq, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		irq_line_set(&k->aux_irq, aux);
	}
}

/* One output buffer, like the hardware: a new byte replaces an unread one. */
static void obuf_put(struct i8042 *k, uint8_t v, bool aux)
{
	k->obuf = v;
	k->obf = true;
	k->obuf_aux = aux;
	k->status &= (uint8_t)~I8042_STR_TIMEOUT;
}

/* A byte for a device that is not there: the controller times out. */
static void no_device(struct i8042 *k, bool aux)
{
	obuf_put(k, NO_DEVICE_REPLY, aux);
	k->status |= I8042_STR_TIMEOUT;
}

static uint8_t outport_value(const struct i8042 *k)
{
	/* bits 5:4 mirror the two "output buffer full" interrupt lines */
	uint8_t v = k->outport & 0x0f;

	if (k->obf)
		v |= k->obuf_aux ? 0x20 : 0x10;
	return v;
}

/* Returns true when the command asks for a reset. */
static bool command(struct i8042 *k, uint8_t c)
{
	k->cmd = 0;
	if (c >= CMD_READ_RAM && c < CMD_READ_RAM + 0x20) {
		obuf_put(k, k->ram[c - CMD_READ_RAM], false);
		return false;
	}
	if ((c >= CMD_WRITE_RAM && c < CMD_WRITE_RAM + 0x20) ||
	    (c >= CMD_WRITE_OUTPORT && c <= CMD_WRITE_AUX)) {
		k->cmd = c; /* the data byte follows on port 0x60 */
		return false;
	}
	/* pulsing output port bit 0 low is the CPU reset line */
	if (c >= CMD_PULSE_FIRST)
		return !(c & 0x01);
	switch (c) {
	case CMD_AUX_DISABLE:
		k->ram[0] |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		obuf_put(k, IFACE_TEST_OK, false);
		break;
	case CMD_SELF_TEST:
		k->ram[0] |= I8042_CTR_SYS;
		obuf_put(k, SELF_TEST_OK, false);
		break;
	case CMD_READ_INPORT:
		obuf_put(k, INPORT_VALUE, false);
		break;
	case CMD_READ_OUTPORT:
		obuf_put(k, outport_value(k), false);
		break;
	default: /* unknown commands are ignored, as most controllers do */
		break;
	}
	return false;
}

/* A byte written to port 0x60. Returns true when it asks for a reset. */
static bool data_write(struct i8042 *k, uint8_t v)
{
	uint8_t c = k->cmd;

	k->cmd = 0;
	if (c >= CMD_WRITE_RAM && c < CMD_WRITE_RAM + 0x20) {
		k->ram[c - CMD_WRITE_RAM] = v;
		return false;
	}
	switch (c) {
	case CMD_WRITE_OUTPORT:
		k->outport = v;
		return !(v & 0x01);
	case CMD_WRITE_KBD_OBUF:
		obuf_put(k, v, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		obuf_put(k, v, true);
		break;
	case CMD_WRITE_AUX:
		no_device(k, true);
		break;
	default: /* no command pending: the byte is for the keyboard */
		no_device(k, false);
		break;
	}
	return false;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (size != 1 || offset != 0)
		return ~0ULL;
	pthread_mutex_lock(&k->lock);
	v = k->obuf;
	k->obf = false;
	irq_update(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void data_write_op(void *opaque, uint64_t offset, uint64_t value,
			  unsigned size)
{
	struct i8042 *k = opaque;
	bool reset;

	if (size != 1 || offset != 0)
		return;
	pthread_mutex_lock(&k->lock);
	k->status &= (uint8_t)~I8042_STR_CMD;
	reset = data_write(k, (uint8_t)value);
	irq_update(k);
	pthread_mutex_unlock(&k->lock);
	/* outside the lock: the VM may stop vCPUs from this callback */
	if (reset)
		power_request(&k->power, POWER_RESET, "i8042");
}

static uint64_t status_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (size != 1 || offset != 0)
		return ~0ULL;
	pthread_mutex_lock(&k->lock);
	/* IBF is never set: every write is processed before the next one */
	v = k->status | I8042_STR_UNLOCKED;
	if (ctr(k) & I8042_CTR_SYS)
		v |= I8042_STR_SYS;
	if (k->obf)
		v |= I8042_STR_OBF | (k->obuf_aux ? I8042_STR_AUXDATA : 0);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void cmd_write(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size)
{
	struct i8042 *k = opaque;
	bool reset;

	if (size != 1 || offset != 0)
		return;
	pthread_mutex_lock(&k->lock);
	k->status |= I8042_STR_CMD;
	reset = command(k, (uint8_t)value);
	irq_update(k);
	pthread_mutex_unlock(&k->lock);
	if (reset)
		power_request(&k->power, POWER_RESET, "i8042");
}

const struct bus_dev_ops i8042_data_ops = {
	.read = data_read,
	.write = data_write_op,
};

const struct bus_dev_ops i8042_cmd_ops = {
	.read = status_read,
	.write = cmd_write,
};

int i8042_init(struct i8042 *k, struct irq_line kbd_irq,
	       struct irq_line aux_irq, struct power_ctl power)
{
	int err;

	memset(k, 0, sizeof(*k));
	err = pthread_mutex_init(&k->lock, NULL);
	if (err)
		return -err;
	k->kbd_irq = kbd_irq;
	k->aux_irq = aux_irq;
	k->power = power;
	k->ram[0] = I8042_CTR_DEFAULT;
	k->outport = I8042_OUTPORT_DEFAULT;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
