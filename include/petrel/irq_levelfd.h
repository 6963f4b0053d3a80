/*
 * A level-triggered interrupt line carried by eventfds instead of an ioctl
 * per edge: the fast path for INTx-style lines (virtio-mmio's). It is an
 * irqchip itself, so a device gets an ordinary struct irq_line from it and
 * does not know which path it takes.
 *
 * Level semantics are kept exactly: raising the line writes the trigger
 * eventfd (the kernel asserts the GSI); the kernel deasserts it when the
 * guest EOIs and signals the resample eventfd, and the I/O thread raises it
 * again if the device still holds it high. Lowering the line only records
 * the level (the EOI deasserts). Thread-safe.
 */
#ifndef PETREL_IRQ_LEVELFD_H
#define PETREL_IRQ_LEVELFD_H

#include <stdatomic.h>
#include <stdbool.h>

#include "petrel/evloop.h"
#include "petrel/irq.h"

struct irq_levelfd {
	struct irqchip chip;   /* what the device's irq_line points at */
	struct irqchip *parent;
	struct evloop *loop;
	unsigned gsi;
	int fd, resample_fd;
	atomic_int level;
	atomic_ullong triggers, resamples; /* statistics */
};

/*
 * For gsi of parent (which must offer irqfd_level). 0, -ENOTSUP (the
 * parent has no level irqfd: use the parent's line directly), or -errno.
 */
int irq_levelfd_init(struct irq_levelfd *l, struct irqchip *parent,
		     unsigned gsi, struct evloop *loop);
void irq_levelfd_destroy(struct irq_levelfd *l);
/* The line to hand to the device. */
struct irq_line irq_levelfd_line(struct irq_levelfd *l, const char *owner);

#endif
