/*
 * Shared level-triggered lines (PCI INTx): several devices drive one GSI,
 * and the pin must read as the OR of them. An irqchip's set_level has no
 * notion of who is driving (KVM_IRQ_LINE from userspace is one source for
 * all of petrel; a userspace IOAPIC pin is one bit), so one device
 * lowering its line would take it from under another that still holds it.
 * This counts the asserted sources per GSI and passes only the 0 <-> 1
 * transitions of the OR to the parent chip.
 *
 * Each device gets its own struct irq_shared_src, an irqchip in itself:
 * the device sees an ordinary struct irq_line (irq_shared_line) and does
 * not know the line is shared. Thread-safe: one lock per irq_shared,
 * held across the parent call so transitions reach it in order.
 */
#ifndef PETREL_IRQ_SHARED_H
#define PETREL_IRQ_SHARED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/irq.h"
#include "petrel/layout.h"

struct irq_shared {
	pthread_mutex_t lock;
	struct irqchip *parent;
	unsigned asserted[IOAPIC_PINS]; /* sources holding each GSI high */
};

struct irq_shared_src {
	struct irqchip chip; /* what the device's irq_line points at */
	struct irq_shared *shared;
	unsigned gsi;
	bool level;
	uint64_t raised; /* statistics: 0 -> 1 edges of this source */
};

/* 0 or -errno. */
int irq_shared_init(struct irq_shared *s, struct irqchip *parent);
void irq_shared_destroy(struct irq_shared *s);

/*
 * A source on gsi (< IOAPIC_PINS, else -EINVAL); it starts low. Drop it
 * with irq_shared_src_release, which lowers it first.
 */
int irq_shared_src_init(struct irq_shared_src *src, struct irq_shared *s,
			unsigned gsi);
void irq_shared_src_release(struct irq_shared_src *src);
/* The line to hand to the device; owner names it for --trace irq. */
struct irq_line irq_shared_line(struct irq_shared_src *src, const char *owner);

#endif
