/* MSI-X table, PBA and capability; see the contract in pci_msix.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "petrel/irq_trace.h"
#include "petrel/pci_msix.h"

int pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned cap,
		  uint8_t next, unsigned nr, unsigned bar, uint32_t table_off,
		  uint32_t pba_off, struct irqchip *chip)
{
	if (!nr || nr > PCI_MSIX_MAX_VECTORS || bar >= PCI_NR_BARS ||
	    (table_off & 7) || (pba_off & 7) || cap + PCI_CAP_MSIX_SIZEOF > PCI_CFG_SIZE)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->chip = chip;
	m->nr = nr;
	m->cap = cap;
	for (unsigned i = 0; i < nr; i++)
		m->table[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	pci_dev_cfg_set(d, cap, PCI_CAP_ID_MSIX, 1);
	pci_dev_cfg_set(d, cap + 1, next, 1);
	pci_dev_cfg_set(d, cap + PCI_MSIX_FLAGS, nr - 1, 2);
	pci_dev_cfg_set(d, cap + PCI_MSIX_TABLE, table_off | bar, 4);
	pci_dev_cfg_set(d, cap + PCI_MSIX_PBA, pba_off | bar, 4);
	/* only ENABLE and MASKALL are the guest's to change */
	d->wmask[cap + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	return 0;
}

static uint64_t entry_addr(const struct pci_msix_entry *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

/* Points vector v's route at its entry's message (lock held). */
static int route_set(struct pci_msix *m, unsigned v)
{
	const struct pci_msix_entry *e = &m->table[v];
	int r = m->chip->ops->msi_route_set(m->chip->opaque, m->route[v],
					    entry_addr(e), e->data);

	if (trace_on(m->chip->tr, TRACE_IRQ))
		trace_irq_msi_route(m->chip->tr, m->owner, v, m->route[v],
				    entry_addr(e), e->data, r);
	return r;
}

static void drop_routes(struct pci_msix *m, unsigned n)
{
	for (unsigned v = 0; v < n; v++)
		m->chip->ops->msi_route_del(m->chip->opaque, m->route[v]);
}

int pci_msix_use_irqfd(struct pci_msix *m)
{
	const struct irqchip_ops *ops = m->chip->ops;

	if (!ops->msi_route_add || !ops->msi_route_set || !ops->msi_route_del)
		return -ENOTSUP;
	pthread_mutex_lock(&m->lock);
	for (unsigned v = 0; v < m->nr; v++) {
		int id = ops->msi_route_add(m->chip->opaque, &m->fd[v]);

		if (id >= 0)
			m->route[v] = id;
		if (id < 0 || route_set(m, v) < 0) {
			drop_routes(m, id < 0 ? v : v + 1);
			pthread_mutex_unlock(&m->lock);
			return id < 0 ? id : -EINVAL;
		}
	}
	m->irqfd = true;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void pci_msix_destroy(struct pci_msix *m)
{
	if (m->irqfd)
		drop_routes(m, m->nr);
	m->irqfd = false;
	pthread_mutex_destroy(&m->lock);
}

static bool deliverable(const struct pci_msix *m, unsigned v)
{
	return (m->ctrl & PCI_MSIX_FLAGS_ENABLE) &&
	       !(m->ctrl & PCI_MSIX_FLAGS_MASKALL) &&
	       !(m->table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void send_locked(struct pci_msix *m, unsigned v)
{
	const struct pci_msix_entry *e = &m->table[v];

	uint64_t one = 1;

	m->sent++;
	/* the route carries this entry's message: the kernel delivers it */
	if (m->irqfd && write(m->fd[v], &one, sizeof(one)) == sizeof(one)) {
		if (trace_on(m->chip->tr, TRACE_IRQ))
			trace_irq_msi(m->chip->tr, m->owner, v, entry_addr(e), e->data, "irqfd");
		return;
	}
	irq_msi(m->chip, entry_addr(e), e->data);
	if (trace_on(m->chip->tr, TRACE_IRQ))
		trace_irq_msi(m->chip->tr, m->owner, v, entry_addr(e), e->data, "ioctl");
}

/* A mask was lifted: what became deliverable goes out now. */
static void flush_pending_locked(struct pci_msix *m)
{
	for (unsigned v = 0; v < m->nr; v++) {
		if ((m->pba >> v & 1) && deliverable(m, v)) {
			m->pba &= ~(1ULL << v);
			send_locked(m, v);
		}
	}
}

uint64_t pci_msix_table_read(struct pci_msix *m, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	if ((size != 4 && size != 8) || (off & (size - 1)) ||
	    off + size > (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE)
		return 0;
	pthread_mutex_lock(&m->lock);
	memcpy(&v, (const uint8_t *)m->table + off, size);
	pthread_mutex_unlock(&m->lock);
	return v;
}

void pci_msix_table_write(struct pci_msix *m, uint64_t off, uint64_t val,
			  unsigned size)
{
	if ((size != 4 && size != 8) || (off & (size - 1)) ||
	    off + size > (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE)
		return;
	unsigned v = (unsigned)(off / PCI_MSIX_ENTRY_SIZE);
	struct pci_msix_entry *e = &m->table[v], old;

	pthread_mutex_lock(&m->lock);
	old = *e;
	memcpy((uint8_t *)m->table + off, &val, size);
	/* reserved vector-control bits read 0 */
	e->ctrl &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	if (m->irqfd && (old.addr_lo != e->addr_lo || old.addr_hi != e->addr_hi ||
			 old.data != e->data))
		route_set(m, v);
	flush_pending_locked(m);
	pthread_mutex_unlock(&m->lock);
}

uint64_t pci_msix_pba_read(struct pci_msix *m, uint64_t off, unsigned size)
{
	uint64_t v;

	if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > 8)
		return 0;
	pthread_mutex_lock(&m->lock);
	v = m->pba >> (8 * off);
	pthread_mutex_unlock(&m->lock);
	return size == 4 ? (uint32_t)v : v;
}

void pci_msix_config_written(struct pci_msix *m, const struct pci_dev *d)
{
	uint16_t ctrl = (uint16_t)pci_dev_cfg_read(d, m->cap + PCI_MSIX_FLAGS, 2);

	pthread_mutex_lock(&m->lock);
	m->ctrl = ctrl & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	flush_pending_locked(m);
	pthread_mutex_unlock(&m->lock);
}

bool pci_msix_enabled(struct pci_msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->ctrl & PCI_MSIX_FLAGS_ENABLE;
	pthread_mutex_unlock(&m->lock);
	return on;
}

int pci_msix_notify(struct pci_msix *m, unsigned v)
{
	int r = 0;

	if (v >= m->nr)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (!(m->ctrl & PCI_MSIX_FLAGS_ENABLE)) {
		r = -ENODEV;
	} else if (deliverable(m, v)) {
		send_locked(m, v);
	} else {
		m->deferred++;
		m->pba |= 1ULL << v;
		if (trace_on(m->chip->tr, TRACE_IRQ))
			trace_irq_msi(m->chip->tr, m->owner, v, entry_addr(&m->table[v]),
				      m->table[v].data, "pending");
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

void pci_msix_reset(struct pci_msix *m, struct pci_dev *d)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->nr; i++)
		m->table[i] = (struct pci_msix_entry){ .ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT };
	m->pba = 0;
	m->ctrl = 0;
	pthread_mutex_unlock(&m->lock);
	pci_dev_cfg_set(d, m->cap + PCI_MSIX_FLAGS, m->nr - 1, 2);
}
