/*
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2; no legacy
 * interface): a register file of VIRTIO_MMIO_SIZE bytes on the MMIO bus in
 * front of one struct virtio_dev, and a level-triggered interrupt line.
 *
 * Registers (offsets from <linux/virtio_mmio.h>) take 32-bit aligned
 * accesses only, as the spec requires of the driver; any other access to
 * them reads 0 and writes nothing. The device configuration at
 * VIRTIO_MMIO_CONFIG takes any width. Write-only registers and offsets the
 * spec does not define read 0.
 *
 * Interrupts: the core's notify_queue / notify_config set bit 0 (used
 * buffer) / bit 1 (configuration change) of InterruptStatus; the line is
 * high while InterruptStatus is not 0 and goes low when InterruptACK (or a
 * device reset) clears the last bit. Level, not edge: a driver that acks
 * one event while another arrives cannot lose it, and the interrupt can be
 * shared.
 *
 * Queue programming: QueueNum, QueueDesc/Driver/Device are taken only while
 * the selected queue is not ready (the spec forbids changing a live queue);
 * a QueueNum that is 0, larger than QueueNumMax or not a power of two (split
 * rings need one) is ignored, so the queue keeps its previous size and a
 * driver that goes on anyway fails at DRIVER_OK (the core sets
 * NEEDS_RESET). Notifications are the queue index written to QueueNotify
 * (no VIRTIO_F_NOTIFICATION_DATA); a VMM that wants them without a vCPU exit
 * registers virtio_queue_kick_fd(d, q) as a KVM_IOEVENTFD on
 * base + VIRTIO_MMIO_QUEUE_NOTIFY with datamatch q.
 *
 * Threading: the register file runs on vCPU threads, notifications on the
 * I/O thread; InterruptStatus lives under the device's lock.
 */
#ifndef PETREL_VIRTIO_MMIO_H
#define PETREL_VIRTIO_MMIO_H

#include <stdatomic.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/config.h"
#include "petrel/irq.h"
#include "petrel/layout.h"
#include "petrel/virtio.h"

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN 2
/*
 * VendorID is free for the device to choose (Linux only matches on it when
 * a driver asks for a vendor, none does): "PTRL" read as little-endian
 * bytes, the creator id petrel's ACPI tables carry, the way QEMU says
 * "QEMU".
 */
#define VIRTIO_MMIO_VENDOR 0x4c525450

struct virtio_mmio {
	struct virtio_dev *dev;
	struct irq_line irq;
	/* selectors: one driver programs them, several vCPUs may touch them */
	atomic_uint device_features_sel;
	atomic_uint driver_features_sel;
	atomic_uint queue_sel;
	uint32_t interrupt_status; /* VIRTIO_MMIO_INT_*; dev->lock */
	atomic_ullong ignored;     /* accesses dropped (width, offset, state) */
};

/*
 * Makes m the transport of d (virtio_dev_set_transport) with interrupt line
 * irq, low. Call before the guest runs. 0 or -EINVAL.
 */
int virtio_mmio_init(struct virtio_mmio *m, struct virtio_dev *d,
		     struct irq_line irq);

/* The register file; insert with opaque = the struct virtio_mmio. */
extern const struct bus_dev_ops virtio_mmio_ops;

/*
 * Which devices of a vm_config use virtio-mmio, in slot order: the disks
 * with transport=mmio in --disk order, then the rng, then the console. The boot plan (DSDT,
 * command line) and the VM's wiring both take their list from here, so a
 * slot's window and pin (layout.h) describe the device that is there.
 */
enum virtio_mmio_kind {
	VIRTIO_MMIO_DEV_BLK, /* cfg->disks[index] */
	VIRTIO_MMIO_DEV_RNG,
	VIRTIO_MMIO_DEV_CONSOLE, /* cfg->vconsole */
	VIRTIO_MMIO_DEV_NET, /* cfg->nics[index] */
};

struct virtio_mmio_slot {
	enum virtio_mmio_kind kind;
	unsigned index; /* into cfg->disks or cfg->nics; 0 for the others */
	uint64_t base;  /* VIRTIO_MMIO_SLOT_BASE(slot) */
	unsigned gsi;   /* VIRTIO_MMIO_SLOT_GSI(slot) */
};

/*
 * Fills slots[0..n) and returns n (0 when nothing uses mmio), or -ENOSPC
 * when more than VIRTIO_MMIO_SLOTS devices ask for it.
 */
int virtio_mmio_slots(const struct vm_config *cfg,
		      struct virtio_mmio_slot slots[VIRTIO_MMIO_SLOTS]);

#endif
