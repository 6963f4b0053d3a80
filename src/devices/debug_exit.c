#include "petrel/debug_exit.h"

#define PIO_SPACE_END 0x10000u

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return ~0ULL; /* write-only, like QEMU's */
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t v,
			     unsigned size)
{
	const struct debug_exit *d = opaque;

	/* the other ports are claimed only so that an outw/outl arrives whole */
	if (off != 0 || (size != 1 && size != 2 && size != 4))
		return;
	d->request(d->opaque, debug_exit_status(v));
}

const struct bus_dev_ops debug_exit_ops = { debug_exit_read, debug_exit_write };

int debug_exit_insert(struct bus *pio, uint16_t port, struct debug_exit *d)
{
	uint32_t len = PIO_SPACE_END - port;

	if (len > DEBUG_EXIT_NR_PORTS)
		len = DEBUG_EXIT_NR_PORTS;
	return bus_insert(pio, port, len, &debug_exit_ops, d, "debug-exit");
}
