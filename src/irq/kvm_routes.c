/* KVM's GSI routing table; see kvm_routes.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "petrel/irq.h"
#include "petrel/kvm.h"
#include "petrel/kvm_routes.h"
#include "petrel/trace.h"

static void add_fixed_kernel(struct kvm_irq_routing *rt)
{
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue; /* the cascade: no device sits there */
		rt->entries[rt->nr++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
					       : KVM_IRQCHIP_PIC_SLAVE, gsi % 8 },
		};
	}
	for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi == 2)
			continue;
		rt->entries[rt->nr++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi },
		};
	}
}

static void add_msi(struct kvm_irq_routing *rt, unsigned gsi, uint64_t addr,
		    uint32_t data)
{
	rt->entries[rt->nr++] = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)addr,
			   .address_hi = (uint32_t)(addr >> 32),
			   .data = data },
	};
}

/* Called with r->lock held. */
static int commit(struct kvm_routes *r)
{
	const unsigned max = 16 + IOAPIC_PINS + KVM_ROUTES_MSI;
	struct kvm_irq_routing *rt;
	int err;

	rt = calloc(1, sizeof(*rt) + max * sizeof(rt->entries[0]));
	if (!rt)
		return -ENOMEM;
	if (r->split) {
		for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
			add_msi(rt, pin, r->pin[pin].addr, r->pin[pin].data);
	} else {
		add_fixed_kernel(rt);
	}
	for (unsigned i = 0; i < KVM_ROUTES_MSI; i++)
		if (r->msi[i].used)
			add_msi(rt, KVM_ROUTES_MSI_GSI_BASE + i, r->msi[i].addr,
				r->msi[i].data);
	err = kvm_ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, rt);
	if (trace_on(r->tr, TRACE_KVM))
		trace_kvm(r->tr, "KVM_SET_GSI_ROUTING", err, "entries=%u", rt->nr);
	free(rt);
	if (err >= 0)
		r->commits++;
	return err < 0 ? err : 0;
}

int kvm_routes_init(struct kvm_routes *r, int vm_fd, bool split, struct tracer *tr)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->tr = tr;
	r->split = split;
	pthread_mutex_init(&r->lock, NULL);
	/*
	 * Split: every pin starts as a masked entry would read, vector 0 and
	 * edge, which marks no vector for an EOI exit.
	 */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		r->pin[pin].addr = LAPIC_ADDR;
	pthread_mutex_lock(&r->lock);
	err = commit(r);
	pthread_mutex_unlock(&r->lock);
	return err;
}

void kvm_routes_destroy(struct kvm_routes *r)
{
	for (unsigned i = 0; i < KVM_ROUTES_MSI; i++)
		if (r->msi[i].used)
			close(r->msi[i].fd);
	pthread_mutex_destroy(&r->lock);
}

int kvm_routes_set_pin(struct kvm_routes *r, unsigned pin, uint64_t addr,
		       uint32_t data)
{
	int err = 0;

	if (!r->split || pin >= IOAPIC_PINS)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (r->pin[pin].addr != addr || r->pin[pin].data != data) {
		r->pin[pin].addr = addr;
		r->pin[pin].data = data;
		err = commit(r);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

static int irqfd(struct kvm_routes *r, int fd, unsigned gsi, bool assign)
{
	struct kvm_irqfd f = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};
	int err = kvm_ioctl(r->vm_fd, KVM_IRQFD, &f);

	if (trace_on(r->tr, TRACE_KVM))
		trace_kvm(r->tr, "KVM_IRQFD", err, "fd=%d gsi=%u %s", fd, gsi,
			  assign ? "assign" : "deassign");
	return err;
}

int kvm_routes_msi_add(struct kvm_routes *r, int *fd_out)
{
	int id = -ENOSPC, fd, err;

	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < KVM_ROUTES_MSI && id < 0; i++)
		if (!r->msi[i].used)
			id = i;
	if (id >= 0) {
		/* the route must exist before an irqfd can name its GSI */
		r->msi[id].used = true;
		r->msi[id].fd = fd;
		r->msi[id].addr = 0;
		r->msi[id].data = 0;
		if ((err = commit(r)) < 0 ||
		    (err = irqfd(r, fd, KVM_ROUTES_MSI_GSI_BASE + (unsigned)id, true)) < 0) {
			r->msi[id].used = false;
			commit(r);
			id = err;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (id < 0)
		close(fd);
	else
		*fd_out = fd;
	return id;
}

int kvm_routes_msi_set(struct kvm_routes *r, int id, uint64_t addr, uint32_t data)
{
	int err;

	if (id < 0 || id >= KVM_ROUTES_MSI)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->msi[id].addr = addr;
	r->msi[id].data = data;
	err = commit(r);
	pthread_mutex_unlock(&r->lock);
	return err;
}

void kvm_routes_msi_del(struct kvm_routes *r, int id)
{
	if (id < 0 || id >= KVM_ROUTES_MSI)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->msi[id].used) {
		irqfd(r, r->msi[id].fd, KVM_ROUTES_MSI_GSI_BASE + (unsigned)id, false);
		close(r->msi[id].fd);
		r->msi[id].used = false;
		commit(r);
	}
	pthread_mutex_unlock(&r->lock);
}

void kvm_routes_msi_list(struct kvm_routes *r, struct irqchip_info *out)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < KVM_ROUTES_MSI && out->nr_msi < IRQ_INFO_MAX_MSI; i++) {
		if (!r->msi[i].used)
			continue;
		out->msi[out->nr_msi].gsi = KVM_ROUTES_MSI_GSI_BASE + i;
		out->msi[out->nr_msi].addr = r->msi[i].addr;
		out->msi[out->nr_msi].data = r->msi[i].data;
		out->nr_msi++;
	}
	pthread_mutex_unlock(&r->lock);
}
