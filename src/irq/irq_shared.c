/* Shared level lines, the OR of their sources; see irq_shared.h. */
#include <errno.h>
#include <string.h>

#include "petrel/irq_shared.h"

static int shared_set_level(void *opaque, unsigned gsi, int level)
{
	struct irq_shared_src *src = opaque;
	struct irq_shared *s = src->shared;
	bool up = level != 0;
	int r = 0;
	(void)gsi; /* a source drives the one GSI it was made for */

	pthread_mutex_lock(&s->lock);
	if (up != src->level) {
		src->level = up;
		if (up) {
			src->raised++;
			if (s->asserted[src->gsi]++ == 0)
				r = irq_set_level(s->parent, src->gsi, 1);
		} else if (--s->asserted[src->gsi] == 0) {
			r = irq_set_level(s->parent, src->gsi, 0);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int shared_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irq_shared_src *src = opaque;

	return irq_msi(src->shared->parent, addr, data);
}

static const struct irqchip_ops shared_ops = {
	.set_level = shared_set_level,
	.msi = shared_msi,
};

int irq_shared_init(struct irq_shared *s, struct irqchip *parent)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->parent = parent;
	err = pthread_mutex_init(&s->lock, NULL);
	return -err;
}

void irq_shared_destroy(struct irq_shared *s)
{
	pthread_mutex_destroy(&s->lock);
}

int irq_shared_src_init(struct irq_shared_src *src, struct irq_shared *s,
			unsigned gsi)
{
	if (gsi >= IOAPIC_PINS)
		return -EINVAL;
	memset(src, 0, sizeof(*src));
	src->chip = (struct irqchip){ &shared_ops, src, s->parent->tr };
	src->shared = s;
	src->gsi = gsi;
	return 0;
}

void irq_shared_src_release(struct irq_shared_src *src)
{
	if (src->shared)
		shared_set_level(src, src->gsi, 0);
	src->shared = NULL;
}

struct irq_line irq_shared_line(struct irq_shared_src *src, const char *owner)
{
	return (struct irq_line){ &src->chip, src->gsi, owner };
}
