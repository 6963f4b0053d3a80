#include <errno.h>
#include <stdlib.h>

#include "petrel/irqchip_kvm.h"
#include "petrel/kvm.h"
#include "petrel/kvm_routes.h"

struct irqchip_kvm {
	int vm_fd;
	struct kvm_routes routes;
	bool routes_up;
};

static int kvm_set_level(void *opaque, unsigned gsi, int level)
{
	struct irqchip_kvm *k = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	return kvm_ioctl(k->vm_fd, KVM_IRQ_LINE, &l);
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

	return kvm_ioctl(k->vm_fd, KVM_IRQFD, &f);
}

static const struct irqchip_ops kvm_irqchip_ops = {
	.set_level = kvm_set_level,
	.msi = kvm_msi,
	.msi_route_add = kvm_route_add,
	.msi_route_set = kvm_route_set,
	.msi_route_del = kvm_route_del,
	.irqfd_level = kvm_irqfd_level,
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

int irqchip_kvm_create(struct irqchip *chip, int vm_fd)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct irqchip_kvm *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vm_fd = vm_fd;
	/* chip owns k from here: irqchip_kvm_destroy frees it */
	*chip = (struct irqchip){ &kvm_irqchip_ops, k };

	if ((r = kvm_ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0)) < 0)
		return r;
	if ((r = kvm_ioctl(vm_fd, KVM_CREATE_PIT2, &pit)) < 0)
		return r;
	if ((r = kvm_routes_init(&k->routes, vm_fd, false)) < 0)
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
