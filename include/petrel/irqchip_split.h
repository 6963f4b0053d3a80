/*
 * The split irqchip (KVM_CAP_SPLIT_IRQCHIP): each vCPU's LAPIC stays in
 * KVM, petrel models the rest of the PC's interrupt hardware: the IOAPIC
 * (ioapic.h) at IOAPIC_ADDR, the 8259A pair with its ELCR (pic8259.h) and
 * the 8254 PIT with port 0x61 (pit8254.h), driven by a timer on the I/O
 * thread. The guest sees the same machine as with KVM's irqchip (the same
 * MADT, MP table, pins and GSIs).
 *
 * How an interrupt travels:
 * - a device's line (irq_set_level, GSI g): ISA IRQs 0-15 go to the 8259
 *   input g and to IOAPIC pin g (pin 2 for g = 0, the PIT), GSIs 16-23 to
 *   the IOAPIC only, as kvm_routes.h describes for the kernel irqchip;
 * - the IOAPIC turns a redirection entry into an MSI message, delivered to
 *   the LAPICs with KVM_SIGNAL_MSI; KVM's GSI routes 0..23 mirror those
 *   messages so that a level-triggered vector's EOI exits to petrel
 *   (KVM_EXIT_IOAPIC_EOI, irqchip_ops.eoi), which clears remote IRR and
 *   delivers again if the line is still high;
 * - the 8259's output reaches the BSP's LINT0 as ExtINT: the BSP's thread
 *   acknowledges the PIC (irqchip_ops.extint_ack) when KVM says the vCPU
 *   can take an interrupt, and injects the vector with KVM_INTERRUPT;
 *   otherwise it asks KVM for an interrupt window. Only the BSP takes
 *   ExtINT, as on PC hardware under Linux (its LINT0 is the virtual wire).
 * - MSIs from devices (MSI-X, irqfd) go through KVM's routes as with the
 *   kernel irqchip.
 *
 * One lock serialises the three models; their callbacks run under it.
 */
#ifndef PETREL_IRQCHIP_SPLIT_H
#define PETREL_IRQCHIP_SPLIT_H

#include "petrel/bus.h"
#include "petrel/evloop.h"
#include "petrel/irq.h"
#include "petrel/trace.h"

/* What the split irqchip needs from the machine around it. */
struct irqchip_split_env {
	int vm_fd;
	struct bus *pio;
	struct bus *mmio;
	struct evloop *io; /* runs the PIT's timer */
	uint8_t ioapic_id; /* as the MADT and MP table say (after the CPUs') */
	struct tracer *tr; /* --trace irq and kvm (may be NULL) */
	/*
	 * Makes the BSP's thread look at the PIC's output soon: out of
	 * KVM_RUN if it is inside. Called with the irqchip's lock held.
	 */
	void (*wake_bsp)(void *opaque);
	void *opaque;
};

/*
 * Enables KVM_CAP_SPLIT_IRQCHIP (before any vCPU exists), builds the
 * models, places them on the buses and fills *chip (which then owns them:
 * irqchip_split_destroy frees them, also after a failure here). 0,
 * -EOPNOTSUPP with a message when this KVM has no split irqchip, or -errno.
 */
int irqchip_split_create(struct irqchip *chip, const struct irqchip_split_env *env);
void irqchip_split_destroy(struct irqchip *chip);

#endif
