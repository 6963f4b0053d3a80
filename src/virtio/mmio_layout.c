/*
 * The one list of virtio-mmio devices (virtio_mmio.h): the boot plan
 * describes slot i at the window and pin layout.h gives it, the VM puts the
 * device this list names there.
 */
#include <errno.h>

#include "petrel/virtio_mmio.h"

static int add(struct virtio_mmio_slot *slots, unsigned n,
	       enum virtio_mmio_kind kind, unsigned index)
{
	if (n >= VIRTIO_MMIO_SLOTS)
		return -ENOSPC;
	slots[n] = (struct virtio_mmio_slot){
		.kind = kind,
		.index = index,
		.base = VIRTIO_MMIO_SLOT_BASE(n),
		.gsi = VIRTIO_MMIO_SLOT_GSI(n),
	};
	return 0;
}

int virtio_mmio_slots(const struct vm_config *cfg,
		      struct virtio_mmio_slot slots[VIRTIO_MMIO_SLOTS])
{
	unsigned n = 0;
	int err;

	for (unsigned i = 0; i < cfg->nr_disks && i < CONFIG_MAX_DISKS; i++) {
		if (cfg->disks[i].transport != VIRTIO_TRANSPORT_MMIO)
			continue;
		if ((err = add(slots, n, VIRTIO_MMIO_DEV_BLK, i)) < 0)
			return err;
		n++;
	}
	if (cfg->rng && cfg->rng_transport == VIRTIO_TRANSPORT_MMIO) {
		if ((err = add(slots, n, VIRTIO_MMIO_DEV_RNG, 0)) < 0)
			return err;
		n++;
	}
	if (cfg->vconsole.on && cfg->vconsole.transport == VIRTIO_TRANSPORT_MMIO) {
		if ((err = add(slots, n, VIRTIO_MMIO_DEV_CONSOLE, 0)) < 0)
			return err;
		n++;
	}
	for (unsigned i = 0; i < cfg->nr_nics && i < CONFIG_MAX_NICS; i++) {
		if (cfg->nics[i].transport != VIRTIO_TRANSPORT_MMIO)
			continue;
		if ((err = add(slots, n, VIRTIO_MMIO_DEV_NET, i)) < 0)
			return err;
		n++;
	}
	return (int)n;
}
