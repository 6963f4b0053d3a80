/* The boot marker. See boot_marker.h for the contract. */
#include <errno.h>

#include "petrel/boot_marker.h"

void boot_marker_init(struct boot_marker *m, struct mono_clock clock,
		      uint64_t start_ns)
{
	m->clock = clock;
	m->start_ns = start_ns;
	atomic_init(&m->at_ns, BOOT_MARKER_NONE);
	m->on_mark = NULL;
	m->on_mark_arg = NULL;
}

int boot_marker_get(struct boot_marker *m, uint64_t *ns)
{
	uint64_t at = atomic_load(&m->at_ns);

	if (at == BOOT_MARKER_NONE)
		return -ENOENT;
	*ns = at;
	return 0;
}

static uint64_t boot_marker_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return ~0ULL;
}

static void boot_marker_write(void *opaque, uint64_t off, uint64_t v,
			      unsigned size)
{
	struct boot_marker *m = opaque;
	uint64_t none = BOOT_MARKER_NONE, now, at;

	if (off != 0 || size != 1 || (v & 0xff) != BOOT_MARKER_VALUE)
		return;
	/* cheap enough to read the clock even for a second write */
	now = mono_clock_now(&m->clock);
	at = now > m->start_ns ? now - m->start_ns : 0;
	if (at == BOOT_MARKER_NONE) /* 584 years: keep "none" unambiguous */
		at--;
	if (atomic_compare_exchange_strong(&m->at_ns, &none, at) && m->on_mark)
		m->on_mark(m->on_mark_arg);
}

const struct bus_dev_ops boot_marker_ops = {
	.read = boot_marker_read,
	.write = boot_marker_write,
};
