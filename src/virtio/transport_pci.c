/* The virtio-pci modern transport; see the contract in virtio_pci.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "petrel/util.h"
#include "petrel/virtio_pci.h"

#define BAR 0
#define OFF_COMMON 0x0000
#define OFF_ISR 0x1000
#define OFF_DEVICE 0x2000
#define OFF_NOTIFY 0x3000
#define OFF_MSIX_TABLE 0x4000
#define OFF_MSIX_PBA 0x5000
#define AREA_SIZE 0x1000
#define NOTIFY_MULT 4
#define BAR_MAX_WARNINGS 4 /* lines about a BAR put over another device */
#define VIRTIO_PCI_ISR_QUEUE_BIT 0x1 /* 4.1.4.5: bit 0, used buffer */

/* Where the capabilities sit in config space. */
#define CAP_COMMON 0x40
#define CAP_ISR 0x50
#define CAP_DEVICE 0x60
#define CAP_NOTIFY 0x70
#define CAP_PCI_CFG 0x84
#define CAP_MSIX 0x98

#define COMMON_SIZE ((unsigned)sizeof(struct virtio_pci_common_cfg))
#define PCI_CFG_DATA (CAP_PCI_CFG + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data))

static void put_cap(struct pci_dev *d, unsigned at, uint8_t next, uint8_t len,
		    uint8_t type, uint32_t offset, uint32_t length)
{
	pci_dev_cfg_set(d, at, PCI_CAP_ID_VNDR, 1);
	pci_dev_cfg_set(d, at + 1, next, 1);
	pci_dev_cfg_set(d, at + 2, len, 1);
	pci_dev_cfg_set(d, at + 3, type, 1);
	pci_dev_cfg_set(d, at + 4, BAR, 1);
	pci_dev_cfg_set(d, at + 8, offset, 4);
	pci_dev_cfg_set(d, at + 12, length, 4);
}

/* --- INTx (device lock held) --- */

/*
 * The line follows ISR while MSI-X is off (4.1.4.5.1: the Status bit is
 * the OR of ISR's bits, and INTx is asserted from it "according to
 * standard PCI rules", i.e. unless INTx Disable is set).
 */
static void intx_update(struct virtio_pci *p)
{
	bool up;

	p->intx_pending = p->isr != 0 && !pci_msix_enabled(&p->msix);
	up = p->intx_pending && !p->intx_disabled;
	if (up == p->intx_up)
		return;
	p->intx_up = up;
	if (up)
		p->intx_raised++;
	irq_line_set(&p->intx, up);
}

/* --- common configuration --- */

/* The common config as the driver reads it now (device lock held). */
static void common_image(struct virtio_pci *p, struct virtio_pci_common_cfg *c)
{
	struct virtio_dev *d = p->vdev;
	struct virtio_queue *vq = virtio_queue(d, p->queue_select);

	memset(c, 0, sizeof(*c));
	c->device_feature_select = p->dfselect;
	c->device_feature = p->dfselect < 2 ?
		(uint32_t)(d->host_features >> (32 * p->dfselect)) : 0;
	c->guest_feature_select = p->gfselect;
	c->guest_feature = p->gfselect < 2 ?
		(uint32_t)(d->guest_features >> (32 * p->gfselect)) : 0;
	c->msix_config = d->config_vector;
	c->num_queues = (uint16_t)d->nr_queues;
	c->device_status = d->status;
	c->config_generation = (uint8_t)d->config_generation;
	c->queue_select = p->queue_select;
	if (!vq)
		return; /* 4.1.4.3.2: a queue that does not exist reads size 0 */
	c->queue_size = vq->vq.size;
	c->queue_msix_vector = vq->vector;
	c->queue_enable = vq->vq.ready;
	c->queue_notify_off = p->queue_select;
	c->queue_desc_lo = (uint32_t)vq->vq.desc;
	c->queue_desc_hi = (uint32_t)(vq->vq.desc >> 32);
	c->queue_avail_lo = (uint32_t)vq->vq.avail;
	c->queue_avail_hi = (uint32_t)(vq->vq.avail >> 32);
	c->queue_used_lo = (uint32_t)vq->vq.used;
	c->queue_used_hi = (uint32_t)(vq->vq.used >> 32);
}

#define FIELD(f) offsetof(struct virtio_pci_common_cfg, f)
#define TOUCHES(off, size, f)                                            \
	((off) < FIELD(f) + sizeof(((struct virtio_pci_common_cfg *)0)->f) && \
	 FIELD(f) < (off) + (size))

/* A vector the driver may name: one of ours, or NO_VECTOR. */
static uint16_t check_vector(struct virtio_pci *p, uint16_t v)
{
	return v < p->msix.nr ? v : VIRTIO_NO_VECTOR;
}

static void queue_write(struct virtio_pci *p, struct virtio_queue *vq,
			const struct virtio_pci_common_cfg *c, uint64_t off,
			unsigned size)
{
	struct virtio_dev *d = p->vdev;

	if (TOUCHES(off, size, queue_msix_vector))
		vq->vector = check_vector(p, c->queue_msix_vector);
	/* 4.1.4.3.2: the rings are fixed once the queue is enabled */
	if (vq->vq.ready)
		return;
	if (TOUCHES(off, size, queue_size)) {
		uint16_t n = c->queue_size;

		/* split rings are a power of two, at most what we offer */
		if (n && !(n & (n - 1)) && n <= vq->max_size)
			vq->vq.size = n;
	}
	if (TOUCHES(off, size, queue_desc_lo) || TOUCHES(off, size, queue_desc_hi))
		vq->vq.desc = (uint64_t)c->queue_desc_hi << 32 | c->queue_desc_lo;
	if (TOUCHES(off, size, queue_avail_lo) || TOUCHES(off, size, queue_avail_hi))
		vq->vq.avail = (uint64_t)c->queue_avail_hi << 32 | c->queue_avail_lo;
	if (TOUCHES(off, size, queue_used_lo) || TOUCHES(off, size, queue_used_hi))
		vq->vq.used = (uint64_t)c->queue_used_hi << 32 | c->queue_used_lo;
	if (TOUCHES(off, size, queue_enable) && c->queue_enable == 1) {
		vq->vq.ready = true;
		/* enabled after DRIVER_OK: start it now */
		if ((d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		    virtq_start(&vq->vq, d->guest_features) < 0) {
			vq->vq.ready = false;
			virtio_needs_reset(d, "a queue enabled late is not in guest RAM");
		}
	}
}

static uint64_t common_read(struct virtio_pci *p, uint64_t off, unsigned size)
{
	struct virtio_pci_common_cfg c;
	uint64_t v = 0;

	if (off + size > COMMON_SIZE)
		return 0;
	virtio_lock(p->vdev);
	common_image(p, &c);
	virtio_unlock(p->vdev);
	memcpy(&v, (const uint8_t *)&c + off, size);
	return v;
}

static void common_write(struct virtio_pci *p, uint64_t off, uint64_t val,
			 unsigned size)
{
	struct virtio_dev *d = p->vdev;
	struct virtio_pci_common_cfg c;
	bool status = false, features = false;
	uint32_t fval = 0, fsel = 0;

	if (off + size > COMMON_SIZE)
		return;
	virtio_lock(d);
	common_image(p, &c);
	memcpy((uint8_t *)&c + off, &val, size);
	if (TOUCHES(off, size, device_feature_select))
		p->dfselect = c.device_feature_select;
	if (TOUCHES(off, size, guest_feature_select))
		p->gfselect = c.guest_feature_select;
	if (TOUCHES(off, size, guest_feature)) {
		features = true;
		fsel = p->gfselect;
		fval = c.guest_feature;
	}
	if (TOUCHES(off, size, msix_config))
		d->config_vector = check_vector(p, c.msix_config);
	if (TOUCHES(off, size, queue_select))
		p->queue_select = c.queue_select;
	else if (off >= FIELD(queue_size)) {
		struct virtio_queue *vq = virtio_queue(d, p->queue_select);

		if (vq)
			queue_write(p, vq, &c, off, size);
	}
	status = TOUCHES(off, size, device_status);
	virtio_unlock(d);
	/* these take the device lock themselves */
	if (features)
		virtio_set_features(d, fsel, fval);
	if (status) {
		/*
		 * A virtio reset leaves the PCI function alone: the MSI-X
		 * table belongs to the OS's PCI layer, which programmed it.
		 */
		if (c.device_status == 0) {
			virtio_lock(d);
			p->isr = 0;
			intx_update(p);
			virtio_unlock(d);
		}
		virtio_set_status(d, c.device_status);
	}
}

/* --- the BAR --- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *p = opaque;
	uint64_t v = 0;

	if (off < OFF_COMMON + AREA_SIZE)
		return common_read(p, off - OFF_COMMON, size);
	if (off >= OFF_ISR && off < OFF_ISR + AREA_SIZE) {
		if (off != OFF_ISR)
			return 0;
		virtio_lock(p->vdev);
		v = p->isr;
		p->isr = 0; /* 4.1.4.5: reading clears, and drops INTx */
		intx_update(p);
		virtio_unlock(p->vdev);
		return v;
	}
	if (off >= OFF_DEVICE && off < OFF_DEVICE + AREA_SIZE) {
		virtio_config_read(p->vdev, (unsigned)(off - OFF_DEVICE), &v, size);
		return v;
	}
	if (off >= OFF_MSIX_TABLE && off < OFF_MSIX_TABLE + AREA_SIZE)
		return pci_msix_table_read(&p->msix, off - OFF_MSIX_TABLE, size);
	if (off >= OFF_MSIX_PBA && off < OFF_MSIX_PBA + AREA_SIZE)
		return pci_msix_pba_read(&p->msix, off - OFF_MSIX_PBA, size);
	return 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct virtio_pci *p = opaque;

	if (off < OFF_COMMON + AREA_SIZE)
		common_write(p, off - OFF_COMMON, val, size);
	else if (off >= OFF_DEVICE && off < OFF_DEVICE + AREA_SIZE)
		virtio_config_write(p->vdev, (unsigned)(off - OFF_DEVICE), &val, size);
	else if (off >= OFF_NOTIFY && off < OFF_NOTIFY + AREA_SIZE)
		virtio_queue_kick(p->vdev, (unsigned)((off - OFF_NOTIFY) / NOTIFY_MULT));
	else if (off >= OFF_MSIX_TABLE && off < OFF_MSIX_TABLE + AREA_SIZE)
		pci_msix_table_write(&p->msix, off - OFF_MSIX_TABLE, val, size);
}

const struct bus_dev_ops virtio_pci_bar_ops = { bar_read, bar_write };

/* --- interrupts (device lock held) --- */

/*
 * 4.1.5.4: with MSI-X on, the vector's message, or nothing for NO_VECTOR;
 * with it off, ISR and INTx. pci_msix_notify says -ENODEV when MSI-X is
 * off, checked under its own lock, so a driver turning it off between a
 * check here and the send still gets its interrupt.
 */
static bool msix_sent(struct virtio_pci *p, uint16_t vector)
{
	if (vector == VIRTIO_NO_VECTOR)
		return pci_msix_enabled(&p->msix);
	return pci_msix_notify(&p->msix, vector) != -ENODEV;
}

static void notify_queue(void *opaque, unsigned q)
{
	struct virtio_pci *p = opaque;
	struct virtio_queue *vq = virtio_queue(p->vdev, q);

	if (vq && msix_sent(p, vq->vector))
		return;
	p->isr |= VIRTIO_PCI_ISR_QUEUE_BIT;
	intx_update(p);
}

static void notify_config(void *opaque)
{
	struct virtio_pci *p = opaque;

	/* 4.1.4.5.1: set before any config notification, MSI-X or not */
	p->isr |= VIRTIO_PCI_ISR_CONFIG;
	if (!msix_sent(p, p->vdev->config_vector))
		intx_update(p);
}

/* --- placing the BAR --- */

static void ioeventfds(struct virtio_pci *p, bool on)
{
	if (!p->ioev.assign || on == p->ioev_on)
		return;
	for (unsigned q = 0; q < p->vdev->nr_queues; q++) {
		uint64_t gpa = p->bar_at + OFF_NOTIFY + NOTIFY_MULT * q;
		int fd = virtio_queue_kick_fd(p->vdev, q);

		if (!on) {
			p->ioev.deassign(p->ioev.opaque, gpa, fd);
		} else if (p->ioev.assign(p->ioev.opaque, gpa, fd) < 0) {
			/* the trapped write still works: only slower */
			while (q--)
				p->ioev.deassign(p->ioev.opaque,
						 p->bar_at + OFF_NOTIFY + NOTIFY_MULT * q,
						 virtio_queue_kick_fd(p->vdev, q));
			return;
		}
	}
	p->ioev_on = on;
}

/* Puts the BAR where config space says, or takes it off the bus. */
static void update_bar(struct virtio_pci *p)
{
	uint16_t cmd = (uint16_t)pci_dev_cfg_read(&p->pci, PCI_COMMAND, 2);
	uint64_t at = pci_dev_bar_addr(&p->pci, BAR);
	/* while sizing, the BAR reads back its size mask: not a place */
	bool want = (cmd & PCI_COMMAND_MEMORY) && at != 0 &&
		    at <= UINT64_MAX - VIRTIO_PCI_BAR_SIZE &&
		    at != (~(uint64_t)(VIRTIO_PCI_BAR_SIZE - 1));
	int err = 0;

	if (p->mapped && (!want || at != p->bar_at)) {
		ioeventfds(p, false);
		if (want)
			err = bus_move(p->mmio, p->bar_at, at);
		if (!want || err < 0) {
			bus_remove(p->mmio, p->bar_at);
			p->mapped = false;
		} else {
			p->bar_at = at;
		}
	} else if (!p->mapped && want) {
		err = bus_insert(p->mmio, at, VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops,
				 p, p->name);
		if (err == 0) {
			p->mapped = true;
			p->bar_at = at;
		}
	}
	/* a guest may do this in a loop: a few lines, not one per write */
	if (err < 0 && p->bar_conflicts++ < BAR_MAX_WARNINGS)
		pt_warn("%s: the guest put BAR 0 at 0x%llx, over another device (%s); it is unmapped%s",
			p->name, (unsigned long long)at, strerror(-err),
			p->bar_conflicts == BAR_MAX_WARNINGS ? " (further such writes are not logged)" : "");
	if (p->mapped)
		ioeventfds(p, true);
}

/* The VIRTIO_PCI_CAP_PCI_CFG window: a BAR access through config space. */
static bool window(struct virtio_pci *p, unsigned *off, unsigned *len)
{
	uint8_t bar = (uint8_t)pci_dev_cfg_read(&p->pci, CAP_PCI_CFG + 4, 1);

	*off = pci_dev_cfg_read(&p->pci, CAP_PCI_CFG + 8, 4);
	*len = pci_dev_cfg_read(&p->pci, CAP_PCI_CFG + 12, 4);
	/* 4.1.4.9: length 1, 2 or 4, offset aligned to it */
	return bar == BAR && (*len == 1 || *len == 2 || *len == 4) &&
	       !(*off & (*len - 1)) && *off < VIRTIO_PCI_BAR_SIZE;
}

static uint32_t cfg_read(struct pci_dev *d, unsigned offset, unsigned size)
{
	struct virtio_pci *p = d->opaque;
	unsigned off, len;
	uint32_t v;

	if (offset >= PCI_CFG_DATA && offset < PCI_CFG_DATA + 4 && window(p, &off, &len))
		return (uint32_t)bar_read(p, off, len);
	v = pci_dev_cfg_read(d, offset, size);
	/* Interrupt Status lives in the device's state, not in config[] */
	if (offset <= PCI_STATUS && PCI_STATUS < offset + size) {
		virtio_lock(p->vdev);
		if (p->intx_pending)
			v |= (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - offset));
		virtio_unlock(p->vdev);
	}
	return v;
}

static void cfg_write(struct pci_dev *d, unsigned offset, uint32_t value,
		      unsigned size)
{
	struct virtio_pci *p = d->opaque;
	unsigned off, len;

	if (offset >= PCI_CFG_DATA && offset < PCI_CFG_DATA + 4) {
		if (window(p, &off, &len))
			bar_write(p, off, value, len);
		return;
	}
	pci_dev_cfg_write(d, offset, value, size);
	if (offset < PCI_BASE_ADDRESS_0 + 8 && offset + size > PCI_COMMAND)
		update_bar(p);
	if (offset + size > CAP_MSIX && offset < CAP_MSIX + PCI_CAP_MSIX_SIZEOF)
		pci_msix_config_written(&p->msix, d);
	/* INTx Disable, or MSI-X turned on or off: the line may change */
	if ((offset <= PCI_COMMAND + 1 && offset + size > PCI_COMMAND + 1) ||
	    (offset + size > CAP_MSIX && offset < CAP_MSIX + PCI_CAP_MSIX_SIZEOF)) {
		uint16_t cmd = (uint16_t)pci_dev_cfg_read(d, PCI_COMMAND, 2);

		virtio_lock(p->vdev);
		p->intx_disabled = cmd & PCI_COMMAND_INTX_DISABLE;
		intx_update(p);
		virtio_unlock(p->vdev);
	}
}

static const struct pci_dev_ops virtio_pci_cfg_ops = { cfg_read, cfg_write };

int virtio_pci_init(struct virtio_pci *p, struct virtio_dev *vdev,
		    uint32_t class_code, struct bus *mmio, uint64_t bar_gpa,
		    struct irqchip *chip, const struct virtio_pci_ioeventfd *ioev)
{
	struct pci_dev *d = &p->pci;
	unsigned nvec = vdev->nr_queues + 1;
	int err;

	if (bar_gpa % VIRTIO_PCI_BAR_SIZE || vdev->nr_queues * NOTIFY_MULT > AREA_SIZE ||
	    vdev->config_len > AREA_SIZE)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->vdev = vdev;
	p->mmio = mmio;
	if (ioev)
		p->ioev = *ioev;
	snprintf(p->name, sizeof(p->name), "%s", vdev->name);
	pci_dev_init(d, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + vdev->device_id,
		     class_code, 1, &virtio_pci_cfg_ops, p);
	pci_dev_cfg_set(d, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR, 2);
	pci_dev_cfg_set(d, PCI_SUBSYSTEM_ID, vdev->device_id, 2);
	pci_dev_cfg_set(d, PCI_STATUS, PCI_STATUS_CAP_LIST, 2);
	pci_dev_cfg_set(d, PCI_CAPABILITY_LIST, CAP_COMMON, 1);
	pci_dev_cfg_set(d, PCI_INTERRUPT_PIN, 1, 1); /* INTA#, as a one-function device has */
	if ((err = pci_dev_set_bar(d, BAR, VIRTIO_PCI_BAR_SIZE,
				   PCI_BASE_ADDRESS_MEM_TYPE_64)) < 0)
		return err;

	put_cap(d, CAP_COMMON, CAP_ISR, sizeof(struct virtio_pci_cap),
		VIRTIO_PCI_CAP_COMMON_CFG, OFF_COMMON, COMMON_SIZE);
	/* Linux refuses a zero-length capability: a device without config has none */
	put_cap(d, CAP_ISR, vdev->config_len ? CAP_DEVICE : CAP_NOTIFY,
		sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_ISR_CFG, OFF_ISR, 1);
	if (vdev->config_len)
		put_cap(d, CAP_DEVICE, CAP_NOTIFY, sizeof(struct virtio_pci_cap),
			VIRTIO_PCI_CAP_DEVICE_CFG, OFF_DEVICE, vdev->config_len);
	put_cap(d, CAP_NOTIFY, CAP_PCI_CFG, sizeof(struct virtio_pci_notify_cap),
		VIRTIO_PCI_CAP_NOTIFY_CFG, OFF_NOTIFY, vdev->nr_queues * NOTIFY_MULT);
	pci_dev_cfg_set(d, CAP_NOTIFY + offsetof(struct virtio_pci_notify_cap,
						 notify_off_multiplier),
			NOTIFY_MULT, 4);
	put_cap(d, CAP_PCI_CFG, CAP_MSIX, sizeof(struct virtio_pci_cfg_cap),
		VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
	/* the window's bar, offset and length are the driver's to set */
	memset(&d->wmask[CAP_PCI_CFG + 4], 0xff, 1);
	memset(&d->wmask[CAP_PCI_CFG + 8], 0xff, 8);
	if ((err = pci_msix_init(&p->msix, d, CAP_MSIX, 0, nvec, BAR, OFF_MSIX_TABLE,
				 OFF_MSIX_PBA, chip)) < 0)
		return err;
	p->msix.owner = p->vdev->name;

	/* as firmware would leave it: placed and decoding */
	pci_dev_cfg_set(d, PCI_BASE_ADDRESS_0, (uint32_t)bar_gpa |
			PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
	pci_dev_cfg_set(d, PCI_BASE_ADDRESS_1, (uint32_t)(bar_gpa >> 32), 4);
	pci_dev_cfg_set(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	update_bar(p);
	if (!p->mapped) {
		pci_msix_destroy(&p->msix);
		return -EEXIST;
	}
	virtio_dev_set_transport(vdev, (struct virtio_transport){
		notify_queue, notify_config, p });
	return 0;
}

void virtio_pci_set_intx(struct virtio_pci *p, struct irq_line line)
{
	virtio_lock(p->vdev);
	p->intx = line;
	pci_dev_cfg_set(&p->pci, PCI_INTERRUPT_LINE, line.gsi, 1);
	virtio_unlock(p->vdev);
}

uint64_t virtio_pci_intx_count(struct virtio_pci *p)
{
	uint64_t n;

	virtio_lock(p->vdev);
	n = p->intx_raised;
	virtio_unlock(p->vdev);
	return n;
}

void virtio_pci_destroy(struct virtio_pci *p)
{
	if (!p->vdev)
		return;
	virtio_lock(p->vdev);
	if (p->intx_up)
		irq_line_set(&p->intx, 0);
	p->intx_up = false;
	virtio_unlock(p->vdev);
	ioeventfds(p, false);
	if (p->mapped)
		bus_remove(p->mmio, p->bar_at);
	p->mapped = false;
	pci_msix_destroy(&p->msix);
	p->vdev = NULL;
}
