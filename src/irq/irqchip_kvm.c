#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/irqchip_kvm.h"
#include "petrel/kvm.h"
#include "petrel/layout.h"
#include "petrel/util.h"
#include "petrel/vm.h"

static int kvm_set_level(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

static int kvm_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r = kvm_ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m);

	return r < 0 ? r : 0;
}

static const struct irqchip_ops kvm_irqchip_ops = {
	.set_level = kvm_set_level,
	.msi = kvm_msi,
};

static int set_routing(struct vm *vm)
{
	const unsigned max = 16 + IOAPIC_PINS;
	struct kvm_irq_routing *rt;
	unsigned n = 0;
	int r;

	rt = calloc(1, sizeof(*rt) + max * sizeof(rt->entries[0]));
	if (!rt)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue; /* the cascade: no device sits there */
		rt->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
					       : KVM_IRQCHIP_PIC_SLAVE, gsi % 8 },
		};
	}
	for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi == 2)
			continue;
		rt->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi },
		};
	}
	rt->nr = n;
	r = kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, rt);
	free(rt);
	return r;
}

int irqchip_kvm_get_pic(struct vm *vm, struct kvm_pic_state *master,
			struct kvm_pic_state *slave)
{
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	int r;

	if ((r = kvm_ioctl_quiet(vm->vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
		return r;
	*master = c.chip.pic;
	c = (struct kvm_irqchip){ .chip_id = KVM_IRQCHIP_PIC_SLAVE };
	if ((r = kvm_ioctl_quiet(vm->vm_fd, KVM_GET_IRQCHIP, &c)) < 0)
		return r;
	*slave = c.chip.pic;
	return 0;
}

int irqchip_kvm_create(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int r;

	if ((r = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0)) < 0)
		return r;
	if ((r = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)) < 0)
		return r;
	if ((r = set_routing(vm)) < 0)
		return r;
	vm->irqchip = (struct irqchip){ &kvm_irqchip_ops, vm };
	return 0;
}
