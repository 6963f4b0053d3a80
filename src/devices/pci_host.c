/* PCI host bridge and config mechanism #1; see the contract in pci.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "petrel/pci.h"

#define CFG_ADDR_ENABLE 0x80000000u
/* enable, bus, device, function, dword register; 30:24 and 1:0 read 0 */
#define CFG_ADDR_MASK 0x80fffffcu
#define CF9_OFFSET 1
#define DATA_OFFSET 4

#define COMMAND_WRITABLE                                                  \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |       \
	 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

static bool valid_access(unsigned offset, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) &&
	       offset < PCI_CFG_SIZE && (offset & 3) + size <= 4;
}

static void put_le(uint8_t *p, uint32_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t pci_dev_cfg_read(const struct pci_dev *d, unsigned offset,
			  unsigned size)
{
	uint32_t v = 0;

	if (!valid_access(offset, size))
		return ~0u;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)d->config[offset + i] << (8 * i);
	return v;
}

void pci_dev_cfg_write(struct pci_dev *d, unsigned offset, uint32_t value,
		       unsigned size)
{
	if (!valid_access(offset, size))
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = d->wmask[offset + i], b = (uint8_t)(value >> (8 * i));
		d->config[offset + i] = (uint8_t)((d->config[offset + i] & ~m) | (b & m));
	}
}

void pci_dev_cfg_set(struct pci_dev *d, unsigned offset, uint32_t value,
		     unsigned size)
{
	if (size <= 4 && offset < PCI_CFG_SIZE && size <= PCI_CFG_SIZE - offset)
		put_le(&d->config[offset], value, size);
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision,
		  const struct pci_dev_ops *ops, void *opaque)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->opaque = opaque;
	d->slot = -1;
	put_le(&d->config[PCI_VENDOR_ID], vendor, 2);
	put_le(&d->config[PCI_DEVICE_ID], device, 2);
	put_le(&d->config[PCI_CLASS_REVISION], class_code << 8 | revision, 4);
	d->config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put_le(&d->wmask[PCI_COMMAND], COMMAND_WRITABLE, 2);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_dev_set_bar(struct pci_dev *d, unsigned bar, uint64_t size,
		    uint32_t flags)
{
	bool io = flags & PCI_BASE_ADDRESS_SPACE_IO;
	bool is64 = !io && (flags & PCI_BASE_ADDRESS_MEM_TYPE_64);
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint64_t mask;

	if (bar >= PCI_NR_BARS || (is64 && bar + 1 >= PCI_NR_BARS))
		return -EINVAL;
	if (size & (size - 1) || size < (io ? 4u : 16u))
		return -EINVAL;
	if (!is64 && size > (1ULL << 32))
		return -EINVAL;
	flags &= io ? PCI_BASE_ADDRESS_SPACE_IO
		    : (PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	/* sizing: the guest writes all-ones and reads back ~(size - 1) */
	mask = ~(size - 1) & ~(uint64_t)(io ? 0x3 : 0xf);
	put_le(&d->config[off], flags, 4);
	put_le(&d->wmask[off], (uint32_t)mask, 4);
	if (is64) {
		put_le(&d->config[off + 4], 0, 4);
		put_le(&d->wmask[off + 4], (uint32_t)(mask >> 32), 4);
	}
	return 0;
}

uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned bar)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t lo;

	if (bar >= PCI_NR_BARS)
		return 0;
	lo = pci_dev_cfg_read(d, off, 4);
	if (lo & PCI_BASE_ADDRESS_SPACE_IO)
		return lo & ~0x3u;
	if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_64) && bar + 1 < PCI_NR_BARS)
		return (uint64_t)pci_dev_cfg_read(d, off + 4, 4) << 32 | (lo & ~0xfu);
	return lo & ~0xfu;
}

static struct pci_dev *lookup(struct pci_host *h, unsigned bus, unsigned dev,
			      unsigned fn)
{
	if (bus != 0 || fn != 0 || dev >= PCI_MAX_DEVICES)
		return NULL;
	return h->devs[dev];
}

static uint32_t cfg_read_locked(struct pci_host *h, unsigned bus, unsigned dev,
				unsigned fn, unsigned offset, unsigned size)
{
	struct pci_dev *d = lookup(h, bus, dev, fn);

	if (!d || !valid_access(offset, size))
		return ~0u;
	if (d->ops && d->ops->config_read)
		return d->ops->config_read(d, offset, size);
	return pci_dev_cfg_read(d, offset, size);
}

static void cfg_write_locked(struct pci_host *h, unsigned bus, unsigned dev,
			     unsigned fn, unsigned offset, uint32_t value,
			     unsigned size)
{
	struct pci_dev *d = lookup(h, bus, dev, fn);

	if (!d || !valid_access(offset, size))
		return; /* master abort: the write goes nowhere */
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d, offset, value, size);
	else
		pci_dev_cfg_write(d, offset, value, size);
}

uint32_t pci_host_cfg_read(struct pci_host *h, unsigned bus, unsigned dev,
			   unsigned fn, unsigned offset, unsigned size)
{
	uint32_t v;

	pthread_mutex_lock(&h->lock);
	v = cfg_read_locked(h, bus, dev, fn, offset, size);
	pthread_mutex_unlock(&h->lock);
	return v;
}

void pci_host_cfg_write(struct pci_host *h, unsigned bus, unsigned dev,
			unsigned fn, unsigned offset, uint32_t value,
			unsigned size)
{
	pthread_mutex_lock(&h->lock);
	cfg_write_locked(h, bus, dev, fn, offset, value, size);
	pthread_mutex_unlock(&h->lock);
}

/* Decode CONFIG_ADDRESS for a data-port access at byte k of the dword. */
#define ADDR_BUS(a) (((a) >> 16) & 0xff)
#define ADDR_DEV(a) (((a) >> 11) & 0x1f)
#define ADDR_FN(a) (((a) >> 8) & 0x7)
#define ADDR_REG(a) ((a) & 0xfc)

static uint64_t host_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_host *h = opaque;
	uint32_t v = ~0u;

	if (offset == CF9_OFFSET && size == 1)
		return h->cf9_ops && h->cf9_ops->read
			       ? h->cf9_ops->read(h->cf9_opaque, 0, 1)
			       : ~0ULL;
	if (offset >= PCI_HOST_NR_PORTS || (size != 1 && size != 2 && size != 4))
		return ~0ULL;
	pthread_mutex_lock(&h->lock);
	if (offset == 0 && size == 4) {
		v = h->addr;
	} else if (offset >= DATA_OFFSET && (h->addr & CFG_ADDR_ENABLE)) {
		unsigned k = (unsigned)offset - DATA_OFFSET;

		if (k + size <= 4)
			v = cfg_read_locked(h, ADDR_BUS(h->addr), ADDR_DEV(h->addr),
					    ADDR_FN(h->addr), ADDR_REG(h->addr) + k,
					    size);
	}
	pthread_mutex_unlock(&h->lock);
	return size < 4 ? v & ((1u << (8 * size)) - 1) : v;
}

static void host_write(void *opaque, uint64_t offset, uint64_t value,
		       unsigned size)
{
	struct pci_host *h = opaque;

	if (offset == CF9_OFFSET && size == 1) {
		/* outside our lock: a reset request may stop the vCPUs */
		if (h->cf9_ops && h->cf9_ops->write)
			h->cf9_ops->write(h->cf9_opaque, 0, value, 1);
		return;
	}
	if (offset >= PCI_HOST_NR_PORTS || (size != 1 && size != 2 && size != 4))
		return;
	pthread_mutex_lock(&h->lock);
	if (offset == 0 && size == 4) {
		h->addr = (uint32_t)value & CFG_ADDR_MASK;
	} else if (offset >= DATA_OFFSET && (h->addr & CFG_ADDR_ENABLE)) {
		unsigned k = (unsigned)offset - DATA_OFFSET;

		if (k + size <= 4)
			cfg_write_locked(h, ADDR_BUS(h->addr), ADDR_DEV(h->addr),
					 ADDR_FN(h->addr), ADDR_REG(h->addr) + k,
					 (uint32_t)value, size);
	}
	pthread_mutex_unlock(&h->lock);
}

const struct bus_dev_ops pci_host_ops = {
	.read = host_read,
	.write = host_write,
};

int pci_host_init(struct pci_host *h)
{
	int err;

	memset(h, 0, sizeof(*h));
	err = pthread_mutex_init(&h->lock, NULL);
	if (err)
		return -err;
	pci_dev_init(&h->bridge, PCI_HOST_BRIDGE_VENDOR, PCI_HOST_BRIDGE_DEVICE,
		     PCI_HOST_BRIDGE_CLASS, 0x02, NULL, NULL);
	h->bridge.slot = 0;
	h->devs[0] = &h->bridge;
	return 0;
}

void pci_host_destroy(struct pci_host *h)
{
	pthread_mutex_destroy(&h->lock);
}

int pci_host_add(struct pci_host *h, struct pci_dev *d, int slot)
{
	int ret = -ENOSPC;

	if (slot >= PCI_MAX_DEVICES || d->slot >= 0)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (slot >= 0) {
		ret = h->devs[slot] ? -EEXIST : slot;
	} else {
		for (int i = 0; i < PCI_MAX_DEVICES; i++) {
			if (!h->devs[i]) {
				ret = i;
				break;
			}
		}
	}
	if (ret >= 0) {
		h->devs[ret] = d;
		d->slot = ret;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

void pci_host_set_cf9(struct pci_host *h, const struct bus_dev_ops *ops,
		      void *opaque)
{
	h->cf9_ops = ops;
	h->cf9_opaque = opaque;
}
