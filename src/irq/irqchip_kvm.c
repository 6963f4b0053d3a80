#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/irqchip_kvm.h"
#include "petrel/kvm.h"
#include "petrel/layout.h"
#include "petrel/util.h"
#include "petrel/vm.h"

/*
 * MSI routes live above the IOAPIC's GSIs. KVM_SET_GSI_ROUTING replaces the
 * whole table, so the chip keeps it: the fixed PIC/IOAPIC entries plus one
 * MSI entry per route, rebuilt on every change (rare: a guest programs a
 * vector when its driver starts).
 */
#define MSI_ROUTES 256
#define MSI_GSI_BASE IOAPIC_PINS

struct msi_route {
	bool used;
	int fd;
	uint64_t addr;
	uint32_t data;
};

struct irqchip_kvm {
	int vm_fd;
	pthread_mutex_t lock; /* routes, and the table KVM has */
	struct msi_route routes[MSI_ROUTES];
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

static int set_routing(struct irqchip_kvm *k)
{
	const unsigned max = 16 + IOAPIC_PINS + MSI_ROUTES;
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
	for (unsigned i = 0; i < MSI_ROUTES; i++) {
		const struct msi_route *m = &k->routes[i];

		if (!m->used)
			continue;
		rt->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = MSI_GSI_BASE + i,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)m->addr,
				   .address_hi = (uint32_t)(m->addr >> 32),
				   .data = m->data },
		};
	}
	rt->nr = n;
	r = kvm_ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, rt);
	free(rt);
	return r;
}

static int irqfd(struct irqchip_kvm *k, int fd, unsigned gsi, bool assign)
{
	struct kvm_irqfd f = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return kvm_ioctl(k->vm_fd, KVM_IRQFD, &f);
}

static int kvm_route_add(void *opaque, int *fd_out)
{
	struct irqchip_kvm *k = opaque;
	int id = -ENOSPC, fd, err;

	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < MSI_ROUTES && id < 0; i++)
		if (!k->routes[i].used)
			id = i;
	if (id >= 0) {
		/* the route must exist before an irqfd can name its GSI */
		k->routes[id] = (struct msi_route){ .used = true, .fd = fd };
		if ((err = set_routing(k)) < 0 ||
		    (err = irqfd(k, fd, MSI_GSI_BASE + (unsigned)id, true)) < 0) {
			k->routes[id].used = false;
			set_routing(k);
			id = err;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (id < 0)
		close(fd);
	else
		*fd_out = fd;
	return id;
}

static int kvm_route_set(void *opaque, int id, uint64_t addr, uint32_t data)
{
	struct irqchip_kvm *k = opaque;
	int r;

	if (id < 0 || id >= MSI_ROUTES)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->routes[id].addr = addr;
	k->routes[id].data = data;
	r = set_routing(k);
	pthread_mutex_unlock(&k->lock);
	return r;
}

static void kvm_route_del(void *opaque, int id)
{
	struct irqchip_kvm *k = opaque;

	if (id < 0 || id >= MSI_ROUTES)
		return;
	pthread_mutex_lock(&k->lock);
	if (k->routes[id].used) {
		irqfd(k, k->routes[id].fd, MSI_GSI_BASE + (unsigned)id, false);
		close(k->routes[id].fd);
		k->routes[id].used = false;
		set_routing(k);
	}
	pthread_mutex_unlock(&k->lock);
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
	pthread_mutex_lock(&k->lock);
	for (unsigned i = 0; i < MSI_ROUTES && out->nr_msi < IRQ_INFO_MAX_MSI; i++) {
		if (!k->routes[i].used)
			continue;
		out->msi[out->nr_msi].gsi = MSI_GSI_BASE + i;
		out->msi[out->nr_msi].addr = k->routes[i].addr;
		out->msi[out->nr_msi].data = k->routes[i].data;
		out->nr_msi++;
	}
	pthread_mutex_unlock(&k->lock);
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
};

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
	struct irqchip_kvm *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vm_fd = vm->vm_fd;
	pthread_mutex_init(&k->lock, NULL);
	/* vm->irqchip owns k from here: irqchip_kvm_destroy frees it */
	vm->irqchip = (struct irqchip){ &kvm_irqchip_ops, k };

	if ((r = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0)) < 0)
		return r;
	if ((r = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)) < 0)
		return r;
	if ((r = set_routing(k)) < 0)
		return r;
	return 0;
}

void irqchip_kvm_destroy(struct vm *vm)
{
	struct irqchip_kvm *k;

	if (vm->irqchip.ops != &kvm_irqchip_ops)
		return;
	k = vm->irqchip.opaque;
	for (int i = 0; i < MSI_ROUTES; i++)
		if (k->routes[i].used)
			close(k->routes[i].fd);
	pthread_mutex_destroy(&k->lock);
	free(k);
	vm->irqchip = (struct irqchip){ 0 };
}
