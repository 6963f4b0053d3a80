#include "petrel/legacy.h"

#define CF9_SYS_RST 0x02  /* hard reset when RST_CPU fires */
#define CF9_RST_CPU 0x04  /* writing 1 starts the reset */
#define CF9_FULL_RST 0x08 /* also cycle power */

static uint64_t cf9_read(void *opaque, uint64_t offset, unsigned size)
{
	struct legacy_cf9 *r = opaque;

	if (size != 1 || offset != 0)
		return ~0ULL;
	return atomic_load(&r->value);
}

static void cf9_write(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size)
{
	struct legacy_cf9 *r = opaque;

	if (size != 1 || offset != 0)
		return;
	/* Linux writes SYS_RST first, then SYS_RST|RST_CPU: keep the mode */
	atomic_store(&r->value, (unsigned char)(value & (CF9_SYS_RST | CF9_FULL_RST)));
	if (value & CF9_RST_CPU)
		power_request(&r->power, POWER_RESET, "cf9");
}

const struct bus_dev_ops legacy_cf9_ops = {
	.read = cf9_read,
	.write = cf9_write,
};

void legacy_cf9_init(struct legacy_cf9 *r, struct power_ctl power)
{
	atomic_init(&r->value, 0);
	r->power = power;
}
