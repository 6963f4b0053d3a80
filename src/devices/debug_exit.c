#include "petrel/debug_exit.h"

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

	(void)off;
	(void)size;
	d->request(d->opaque, debug_exit_status(v));
}

const struct bus_dev_ops debug_exit_ops = { debug_exit_read, debug_exit_write };
