/* A level-triggered line over KVM_IRQFD + resample; see irq_levelfd.h. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "petrel/irq_levelfd.h"

static void trigger(struct irq_levelfd *l)
{
	uint64_t one = 1;

	atomic_fetch_add_explicit(&l->triggers, 1, memory_order_relaxed);
	/* EAGAIN: the counter is full, so an assert is pending anyway */
	if (write(l->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		irq_set_level(l->parent, l->gsi, 1); /* the slow path still works */
}

static int levelfd_set_level(void *opaque, unsigned gsi, int level)
{
	struct irq_levelfd *l = opaque;
	(void)gsi;

	/*
	 * The store comes first: a resample racing with a lower sees 0 and
	 * leaves the line down; one racing with a raise re-triggers, which is
	 * harmless (the guest finds its status register and ACKs).
	 */
	atomic_store(&l->level, level);
	if (level)
		trigger(l);
	return 0;
}

static int levelfd_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irq_levelfd *l = opaque;

	return irq_msi(l->parent, addr, data);
}

/* --trace irq: the GSI leads where the parent chip sends it */
static int levelfd_describe(void *opaque, unsigned gsi, struct irq_route_desc *d)
{
	struct irq_levelfd *l = opaque;

	if (!l->parent->ops->describe_gsi)
		return -ENOTSUP;
	return l->parent->ops->describe_gsi(l->parent->opaque, gsi, d);
}

static const struct irqchip_ops levelfd_ops = {
	.set_level = levelfd_set_level,
	.msi = levelfd_msi,
	.describe_gsi = levelfd_describe,
};

/* On the I/O thread: the guest EOI'd, the kernel deasserted the GSI. */
static void resampled(void *opaque, uint32_t events)
{
	struct irq_levelfd *l = opaque;
	uint64_t n;
	(void)events;

	if (read(l->resample_fd, &n, sizeof(n)) != sizeof(n))
		return;
	atomic_fetch_add_explicit(&l->resamples, 1, memory_order_relaxed);
	if (atomic_load(&l->level))
		trigger(l);
}

int irq_levelfd_init(struct irq_levelfd *l, struct irqchip *parent,
		     unsigned gsi, struct evloop *loop)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->fd = l->resample_fd = -1;
	if (!parent->ops->irqfd_level)
		return -ENOTSUP;
	l->chip = (struct irqchip){ &levelfd_ops, l, parent->tr };
	l->parent = parent;
	l->loop = loop;
	l->gsi = gsi;
	l->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->resample_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->fd < 0 || l->resample_fd < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = parent->ops->irqfd_level(parent->opaque, gsi, l->fd,
					    l->resample_fd, true)) < 0)
		goto fail;
	if ((err = evloop_add(loop, l->resample_fd, EPOLLIN, resampled, l)) < 0) {
		parent->ops->irqfd_level(parent->opaque, gsi, l->fd, l->resample_fd, false);
		goto fail;
	}
	return 0;
fail:
	if (l->fd >= 0)
		close(l->fd);
	if (l->resample_fd >= 0)
		close(l->resample_fd);
	l->fd = l->resample_fd = -1;
	return err;
}

void irq_levelfd_destroy(struct irq_levelfd *l)
{
	if (l->fd < 0)
		return;
	evloop_del(l->loop, l->resample_fd);
	l->parent->ops->irqfd_level(l->parent->opaque, l->gsi, l->fd,
				    l->resample_fd, false);
	close(l->fd);
	close(l->resample_fd);
	l->fd = l->resample_fd = -1;
}

struct irq_line irq_levelfd_line(struct irq_levelfd *l, const char *owner)
{
	return (struct irq_line){ &l->chip, l->gsi, owner };
}
