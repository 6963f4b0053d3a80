/*
 * A minimal virtio 1.x driver for kit guests (guest side only): one split
 * queue (queue 0) on virtio-pci modern or virtio-mmio v2, no interrupts
 * (the guest polls the used ring and the status register). Made for tests
 * that attack the device: every field the driver programs is the caller's
 * to choose, including addresses no real driver would use.
 *
 * Layout of the virtio-pci BAR petrel uses (virtio_pci.h): common config at
 * 0, notify at 0x3000 + 4 * queue_notify_off. A guest finds the BAR by
 * scanning bus 0 (gvirtio_pci_find).
 */
#ifndef KIT_GUEST_VIRTIO_H
#define KIT_GUEST_VIRTIO_H

#include "guest.h"

#define GV_S_ACK 1
#define GV_S_DRIVER 2
#define GV_S_DRIVER_OK 4
#define GV_S_FEATURES_OK 8
#define GV_S_NEEDS_RESET 0x40
#define GV_F_INDIRECT 28 /* VIRTIO_RING_F_INDIRECT_DESC */
#define GV_F_VERSION_1 32
#define GV_DESC_NEXT 1
#define GV_DESC_WRITE 2
#define GV_DESC_INDIRECT 4

struct gv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct gv_dev {
	bool pci;
	uint64_t base;     /* the BAR (pci) or the register window (mmio) */
	unsigned pci_slot; /* bus 0 device number (pci) */
	uint16_t qsize;
	/* queue 0's rings, chosen by the caller */
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
};

/*
 * --- PCI config space through 0xcf8/0xcfc ---
 * One address register for the whole machine: with several vCPUs, only one
 * may use these at a time (the guest's job, as for Linux's pci_config_lock).
 */
static inline uint32_t gv_pci_read32(unsigned slot, unsigned reg)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
	return inl(0xcfc);
}

static inline void gv_pci_write32(unsigned slot, unsigned reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
	outl(0xcfc, v);
}

/* BAR 0 (64-bit memory BAR) of a bus 0 device. */
static inline uint64_t gv_pci_bar0(unsigned slot)
{
	return (gv_pci_read32(slot, 0x10) & ~0xfull) | (uint64_t)gv_pci_read32(slot, 0x14) << 32;
}

static inline void gv_pci_set_bar0(unsigned slot, uint64_t at)
{
	gv_pci_write32(slot, 0x10, (uint32_t)at);
	gv_pci_write32(slot, 0x14, (uint32_t)(at >> 32));
}

/* The nth (from 0) bus-0 function with this virtio device ID: its slot, or -1. */
static inline int gv_pci_find(unsigned virtio_id, unsigned nth)
{
	for (unsigned s = 0; s < 32; s++)
		if (gv_pci_read32(s, 0) == ((0x1040u + virtio_id) << 16 | 0x1af4u) && nth-- == 0)
			return (int)s;
	return -1;
}

/* --- registers, by transport --- */
static inline uint8_t gv_status(struct gv_dev *d)
{
	return d->pci ? mmio_read8(d->base + 0x14) : (uint8_t)mmio_read32(d->base + 0x70);
}

static inline void gv_set_status(struct gv_dev *d, uint8_t s)
{
	if (d->pci)
		mmio_write8(d->base + 0x14, s);
	else
		mmio_write32(d->base + 0x70, s);
}

static inline uint32_t gv_device_features(struct gv_dev *d, unsigned sel)
{
	if (d->pci) {
		mmio_write32(d->base + 0x00, sel);
		return mmio_read32(d->base + 0x04);
	}
	mmio_write32(d->base + 0x14, sel);
	return mmio_read32(d->base + 0x10);
}

static inline void gv_driver_features(struct gv_dev *d, unsigned sel, uint32_t v)
{
	if (d->pci) {
		mmio_write32(d->base + 0x08, sel);
		mmio_write32(d->base + 0x0c, v);
	} else {
		mmio_write32(d->base + 0x24, sel);
		mmio_write32(d->base + 0x20, v);
	}
}

static inline void gv_kick(struct gv_dev *d)
{
	if (d->pci)
		mmio_write16(d->base + 0x3000, 0); /* queue 0's notify_off is 0 */
	else
		mmio_write32(d->base + 0x50, 0);
}

/*
 * Reset, negotiate VERSION_1 (and INDIRECT_DESC if offered), program queue
 * 0 with d->qsize and d->desc/avail/used as they are, set DRIVER_OK.
 * Returns the device status after DRIVER_OK (the caller checks NEEDS_RESET).
 */
static inline uint8_t gv_setup(struct gv_dev *d)
{
	uint32_t lo;

	gv_set_status(d, 0);
	for (unsigned i = 0; i < 1000 && gv_status(d) != 0; i++)
		cpu_relax();
	d->avail_idx = d->used_seen = 0;
	gv_set_status(d, GV_S_ACK);
	gv_set_status(d, GV_S_ACK | GV_S_DRIVER);
	lo = gv_device_features(d, 0) & (1u << GV_F_INDIRECT);
	gv_driver_features(d, 0, lo);
	gv_driver_features(d, 1, 1u << (GV_F_VERSION_1 - 32));
	gv_set_status(d, GV_S_ACK | GV_S_DRIVER | GV_S_FEATURES_OK);
	if (!(gv_status(d) & GV_S_FEATURES_OK))
		return gv_status(d);
	if (d->pci) {
		mmio_write16(d->base + 0x16, 0);       /* queue_select */
		mmio_write16(d->base + 0x18, d->qsize);
		mmio_write16(d->base + 0x1a, 0xffff);  /* no MSI-X vector */
		/* 64-bit fields as two 32-bit halves, as drivers must (4.1.3.1) */
		mmio_write32(d->base + 0x20, (uint32_t)d->desc);
		mmio_write32(d->base + 0x24, (uint32_t)(d->desc >> 32));
		mmio_write32(d->base + 0x28, (uint32_t)d->avail);
		mmio_write32(d->base + 0x2c, (uint32_t)(d->avail >> 32));
		mmio_write32(d->base + 0x30, (uint32_t)d->used);
		mmio_write32(d->base + 0x34, (uint32_t)(d->used >> 32));
		mmio_write16(d->base + 0x1c, 1);       /* queue_enable */
	} else {
		mmio_write32(d->base + 0x30, 0);       /* QueueSel */
		mmio_write32(d->base + 0x38, d->qsize);
		mmio_write32(d->base + 0x80, (uint32_t)d->desc);
		mmio_write32(d->base + 0x84, (uint32_t)(d->desc >> 32));
		mmio_write32(d->base + 0x90, (uint32_t)d->avail);
		mmio_write32(d->base + 0x94, (uint32_t)(d->avail >> 32));
		mmio_write32(d->base + 0xa0, (uint32_t)d->used);
		mmio_write32(d->base + 0xa4, (uint32_t)(d->used >> 32));
		mmio_write32(d->base + 0x44, 1);       /* QueueReady */
	}
	gv_set_status(d, GV_S_ACK | GV_S_DRIVER | GV_S_FEATURES_OK | GV_S_DRIVER_OK);
	return gv_status(d);
}

static inline struct gv_desc *gv_descs(struct gv_dev *d)
{
	return (struct gv_desc *)d->desc;
}

/* Makes chain `head` available (avail->idx += n of them) and kicks. */
static inline void gv_post(struct gv_dev *d, uint16_t head)
{
	volatile uint16_t *avail = (volatile uint16_t *)d->avail;

	avail[2 + d->avail_idx % d->qsize] = head;
	d->avail_idx++;
	__asm__ volatile("mfence" ::: "memory");
	avail[1] = d->avail_idx;
	__asm__ volatile("mfence" ::: "memory");
	gv_kick(d);
}

/* Sets avail->idx to any value (no ring entry written) and kicks. */
static inline void gv_post_raw_idx(struct gv_dev *d, uint16_t idx)
{
	((volatile uint16_t *)d->avail)[1] = idx;
	__asm__ volatile("mfence" ::: "memory");
	gv_kick(d);
}

/* Polls (a register read per try) until NEEDS_RESET shows: true if it did. */
static inline bool gv_wait_needs_reset(struct gv_dev *d)
{
	for (unsigned i = 0; i < 20000; i++) {
		if (gv_status(d) & GV_S_NEEDS_RESET)
			return true;
		for (unsigned j = 0; j < 2000; j++)
			cpu_relax();
	}
	return false;
}

/*
 * Waits for the next used entry: true with its id and len, false on
 * timeout (polls RAM: no exits).
 */
static inline bool gv_wait_used(struct gv_dev *d, uint32_t *id, uint32_t *len)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(d->used + 2);
	volatile uint32_t *ring = (volatile uint32_t *)(d->used + 4);

	for (unsigned long i = 0; i < 2000000000ul; i++) {
		if (*used_idx != d->used_seen) {
			unsigned slot = d->used_seen % d->qsize;
			*id = ring[2 * slot];
			*len = ring[2 * slot + 1];
			d->used_seen++;
			return true;
		}
		cpu_relax();
	}
	return false;
}

#endif
