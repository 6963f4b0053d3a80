/*
 * The irqchip seam. Devices raise interrupts only through irq_set_level()
 * and irq_msi(); whether KVM's in-kernel IOAPIC/PIC or a userspace model is
 * behind it is invisible to them. Unit tests plug in a recording irqchip.
 */
#ifndef PETREL_IRQ_H
#define PETREL_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "petrel/trace.h"

/*
 * Where a GSI leads, as the chip holds it now (for --trace irq): the
 * IOAPIC pin and its 64-bit redirection entry, and the 8259 pin. -1: the
 * GSI does not reach that chip.
 */
struct irq_route_desc {
	int ioapic_pin;
	uint64_t redir;     /* valid when ioapic_pin >= 0 */
	int pic;            /* 0 master, 1 slave, -1 none */
	unsigned pic_pin;
	bool pic_masked;    /* the pin's IMR bit */
};

/*
 * What an irqchip reports about itself (the control API's GET /irq): its
 * mode, the IOAPIC redirection table (raw 64-bit entries, whichever model
 * holds it) and the MSI routes it programmed.
 */
#define IRQ_INFO_MAX_PINS 64
#define IRQ_INFO_MAX_MSI 256
struct irqchip_info {
	const char *mode;    /* "kernel", ... */
	unsigned nr_pins;    /* 0: no IOAPIC to show */
	uint64_t ioapic_id;
	uint64_t redir[IRQ_INFO_MAX_PINS];
	unsigned nr_msi;
	struct {
		unsigned gsi;
		uint64_t addr;
		uint32_t data;
	} msi[IRQ_INFO_MAX_MSI];
};

struct irqchip_ops {
	int (*set_level)(void *opaque, unsigned gsi, int level);
	int (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/*
	 * Optional (NULL: the chip has none): MSI routes fired by writing an
	 * eventfd, which the kernel turns into the interrupt itself (KVM_IRQFD
	 * on a KVM_SET_GSI_ROUTING MSI entry): a device thread raises an MSI
	 * with one write(2) instead of an ioctl. add returns a route id and
	 * the eventfd; set (re)programs its message; del frees both.
	 */
	int (*msi_route_add)(void *opaque, int *fd);
	int (*msi_route_set)(void *opaque, int id, uint64_t addr, uint32_t data);
	void (*msi_route_del)(void *opaque, int id);
	/*
	 * Optional: a level-triggered GSI driven by eventfds (KVM_IRQFD with
	 * KVM_IRQFD_FLAG_RESAMPLE): a write to fd asserts gsi, the kernel
	 * deasserts it at the guest's EOI and then signals resample_fd.
	 * assign false takes it away again. 0 or -errno.
	 */
	int (*irqfd_level)(void *opaque, unsigned gsi, int fd, int resample_fd,
			   bool assign);
	/*
	 * Split irqchip only (NULL with KVM's, which does all this itself):
	 * the vCPU loop's part (irqchip_split.h). extint_pending: the 8259's
	 * output is high, an ExtINT waits for the BSP (cheap: read before
	 * every KVM_RUN). extint_ack: the INTA cycle, the vector to inject
	 * with KVM_INTERRUPT (-1 if the output fell meanwhile). eoi: the guest
	 * EOId a vector KVM flagged as the IOAPIC's (KVM_EXIT_IOAPIC_EOI).
	 */
	bool (*extint_pending)(void *opaque);
	int (*extint_ack)(void *opaque);
	void (*eoi)(void *opaque, uint8_t vector);
	/* Optional: --stats lines about the chip, to stderr. */
	void (*print_stats)(void *opaque);
	/*
	 * Optional, called only while --trace irq is on: fills d for gsi.
	 * 0 or -errno (the line is then traced without its route).
	 */
	int (*describe_gsi)(void *opaque, unsigned gsi, struct irq_route_desc *d);
	/*
	 * Optional: fills *out for the control API (any thread, the vCPUs
	 * running). 0 or -errno.
	 */
	int (*info)(void *opaque, struct irqchip_info *out);
};

struct irqchip {
	const struct irqchip_ops *ops;
	void *opaque;
	struct tracer *tr; /* the VM's tracer (NULL: none) */
};

/* One interrupt line as handed to a device. */
struct irq_line {
	struct irqchip *chip;
	unsigned gsi;
	const char *owner; /* the device that raises it, for --trace irq */
};

/* --trace irq's line for irq_line_set (irq_trace.c). */
void irq_trace_line(const struct irq_line *l, int level, int result);

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
	int r;

	if (!l->chip)
		return 0;
	r = irq_set_level(l->chip, l->gsi, level);
	if (trace_on(l->chip->tr, TRACE_IRQ))
		irq_trace_line(l, level, r);
	return r;
}

#endif
