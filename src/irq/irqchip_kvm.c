#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "petrel/irqchip_kvm.h"
#include "petrel/kvm.h"
#include "petrel/kvm_routes.h"
#include "petrel/layout.h"
#include "petrel/trace.h"

struct irqchip_kvm {
	int vm_fd;
	struct tracer *tr; /* --trace kvm: the ioctls below */
	struct kvm_routes routes;
	bool routes_up;
};

static int kvm_set_level(void *opaque, unsigned gsi, int level)
{
	struct irqchip_kvm *k = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };
	int r = kvm_ioctl(k->vm_fd, KVM_IRQ_LINE, &l);

	if (trace_on(k->tr, TRACE_KVM))
		trace_kvm(k->tr, "KVM_IRQ_LINE", r, "gsi=%u level=%d", gsi, level);
	return r;
}

static int kvm_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irqchip_kvm *k = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r = kvm_ioctl(k->vm_fd, KVM_SIGNAL_MSI, &m);

	/* result 0: the guest blocked it (e.g. masked at the LAPIC), 1: delivered */
	if (trace_on(k->tr, TRACE_KVM))
		trace_kvm(k->tr, "KVM_SIGNAL_MSI", r, "addr=0x%llx data=0x%x",
			  (unsigned long long)addr, data);
	return r < 0 ? r : 0;
}

static int kvm_route_add(void *opaque, int *fd)
{
	return kvm_routes_msi_add(&((struct irqchip_kvm *)opaque)->routes, fd);
}

static int kvm_route_set(void *opaque, int id, uint64_t addr, uint32_t data)
{
	return kvm_routes_msi_set(&((struct irqchip_kvm *)opaque)->routes, id, addr, data);
}

static void kvm_route_del(void *opaque, int id)
{
	kvm_routes_msi_del(&((struct irqchip_kvm *)opaque)->routes, id);
}

static int kvm_irqfd_level(void *opaque, unsigned gsi, int fd, int resample_fd,
			   bool assign)
{
	struct irqchip_kvm *k = opaque;
	struct kvm_irqfd f = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
		.resamplefd = assign ? (uint32_t)resample_fd : 0,
	};
	int r = kvm_ioctl(k->vm_fd, KVM_IRQFD, &f);

	if (trace_on(k->tr, TRACE_KVM))
		trace_kvm(k->tr, "KVM_IRQFD", r, "fd=%d gsi=%u resamplefd=%d %s", fd,
			  gsi, resample_fd, assign ? "assign" : "deassign");
	return r;
}

/*
 * --trace irq: where gsi leads in the routing table (kvm_routes.h), and
 * the entry KVM's IOAPIC holds for that pin now (KVM_GET_IRQCHIP: a VM
 * ioctl, safe while the vCPUs run; only made while the class is on).
 */
static int kvm_describe_gsi(void *opaque, unsigned gsi, struct irq_route_desc *d)
{
	struct irqchip_kvm *k = opaque;
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_IOAPIC };
	int r;

	d->ioapic_pin = d->pic = -1;
	if (gsi >= IOAPIC_PINS || gsi == 2)
		return 0;
	d->ioapic_pin = gsi == 0 ? 2 : (int)gsi;
	if ((r = kvm_ioctl_quiet(k->vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
		return r;
	d->redir = c.chip.ioapic.redirtbl[d->ioapic_pin].bits;
	if (gsi < 16) {
		d->pic = gsi >= 8;
		d->pic_pin = gsi % 8;
		c = (struct kvm_irqchip){ .chip_id = d->pic ? KVM_IRQCHIP_PIC_SLAVE
							    : KVM_IRQCHIP_PIC_MASTER };
		if ((r = kvm_ioctl_quiet(k->vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
			return r;
		d->pic_masked = c.chip.pic.imr >> d->pic_pin & 1;
	}
	return 0;
}

/* The in-kernel IOAPIC's table (KVM_GET_IRQCHIP, a VM ioctl) and our routes. */
static int kvm_info(void *opaque, struct irqchip_info *out)
{
	struct irqchip_kvm *k = opaque;
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_IOAPIC };
	int r;

	memset(out, 0, sizeof(*out));
	out->mode = "kernel";
	if ((r = kvm_ioctl_quiet(k->vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
		return r;
	out->ioapic_id = c.chip.ioapic.id;
	out->nr_pins = KVM_IOAPIC_NUM_PINS < IRQ_INFO_MAX_PINS ? KVM_IOAPIC_NUM_PINS
							       : IRQ_INFO_MAX_PINS;
	for (unsigned i = 0; i < out->nr_pins; i++)
		out->redir[i] = c.chip.ioapic.redirtbl[i].bits;
	kvm_routes_msi_list(&k->routes, out);
	return 0;
}

static const struct irqchip_ops kvm_irqchip_ops = {
	.info = kvm_info,
	.set_level = kvm_set_level,
	.msi = kvm_msi,
	.msi_route_add = kvm_route_add,
	.msi_route_set = kvm_route_set,
	.msi_route_del = kvm_route_del,
	.irqfd_level = kvm_irqfd_level,
	.describe_gsi = kvm_describe_gsi,
};

int irqchip_kvm_get_pic(int vm_fd, struct kvm_pic_state *master,
			struct kvm_pic_state *slave)
{
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	int r;

	if ((r = kvm_ioctl_quiet(vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
		return r;
	*master = c.chip.pic;
	c = (struct kvm_irqchip){ .chip_id = KVM_IRQCHIP_PIC_SLAVE };
	if ((r = kvm_ioctl_quiet(vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
		return r;
	*slave = c.chip.pic;
	return 0;
}

/*
 * The PCI INTx lines are level-triggered in the 8259s too: set their ELCR
 * bits (ports 0x4D0/0x4D1; KVM's PIC keeps them in its state) as PC
 * firmware does for the IRQs it routes PCI to, so a guest on the 8259s
 * that does not program the ELCR itself still sees levels.
 */
static int set_elcr(int vm_fd)
{
	for (unsigned chip = 0; chip < 2; chip++) {
		uint8_t bits = (uint8_t)(PCI_INTX_ELCR >> (8 * chip));
		struct kvm_irqchip c = { .chip_id = chip ? KVM_IRQCHIP_PIC_SLAVE
							 : KVM_IRQCHIP_PIC_MASTER };
		int r;

		if (!bits)
			continue;
		if ((r = kvm_ioctl(vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
			return r;
		c.chip.pic.elcr |= bits;
		if ((r = kvm_ioctl(vm_fd, KVM_SET_IRQCHIP, &c)) < 0)
			return r;
	}
	return 0;
}

int irqchip_kvm_create(struct irqchip *chip, int vm_fd, struct tracer *tr)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct irqchip_kvm *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vm_fd = vm_fd;
	k->tr = tr;
	/* chip owns k from here: irqchip_kvm_destroy frees it */
	*chip = (struct irqchip){ &kvm_irqchip_ops, k, tr };

	if ((r = kvm_ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0)) < 0)
		return r;
	if ((r = set_elcr(vm_fd)) < 0)
		return r;
	if ((r = kvm_ioctl(vm_fd, KVM_CREATE_PIT2, &pit)) < 0)
		return r;
	if ((r = kvm_routes_init(&k->routes, vm_fd, false, tr)) < 0)
		return r;
	k->routes_up = true;
	return 0;
}

bool irqchip_is_kvm(const struct irqchip *chip)
{
	return chip->ops == &kvm_irqchip_ops;
}

void irqchip_kvm_destroy(struct irqchip *chip)
{
	struct irqchip_kvm *k;

	if (!irqchip_is_kvm(chip))
		return;
	k = chip->opaque;
	if (k->routes_up)
		kvm_routes_destroy(&k->routes);
	free(k);
	*chip = (struct irqchip){ 0 };
}
