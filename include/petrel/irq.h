/*
 * The irqchip seam. Devices raise interrupts only through irq_set_level()
 * and irq_msi(); whether KVM's in-kernel IOAPIC/PIC or a userspace model is
 * behind it is invisible to them. Unit tests plug in a recording irqchip.
 */
#ifndef PETREL_IRQ_H
#define PETREL_IRQ_H

#include <stdint.h>

struct irqchip_ops {
	int (*set_level)(void *opaque, unsigned gsi, int level);
	int (*msi)(void *opaque, uint64_t addr, uint32_t data);
};

struct irqchip {
	const struct irqchip_ops *ops;
	void *opaque;
};

/* One interrupt line as handed to a device. */
struct irq_line {
	struct irqchip *chip;
	unsigned gsi;
};

static inline int irq_set_level(struct irqchip *c, unsigned gsi, int level)
{
	return c->ops->set_level(c->opaque, gsi, level);
}

static inline int irq_msi(struct irqchip *c, uint64_t addr, uint32_t data)
{
	return c->ops->msi(c->opaque, addr, data);
}

static inline int irq_line_set(const struct irq_line *l, int level)
{
	return l->chip ? irq_set_level(l->chip, l->gsi, level) : 0;
}

#endif
