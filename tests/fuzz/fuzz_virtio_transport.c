/*
 * libFuzzer target for both virtio transports' register interfaces
 * (src/virtio/transport_pci.c with MSI-X and the PCI config hooks,
 * src/virtio/transport_mmio.c) over the virtio core, with a device that
 * pops, pushes and interrupts on every kick, so what the guest programs
 * into the queue registers reaches the virtqueue code.
 *
 * Input: byte 0 picks the transport (bit 0: mmio), then records of 12
 * bytes: op, size code, offset (le16), value (le64). The rest of the input
 * after the last whole record fills guest RAM. Whatever the sequence,
 * petrel must not crash or touch memory outside RAM (ASan), and virtio-pci's
 * INTx line must be high exactly while ISR is non-zero, MSI-X is off and
 * INTx Disable is clear, moving only when that changes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>

#include "petrel/memory.h"
#include "petrel/util.h"
#include "petrel/virtio.h"
#include "petrel/virtio_mmio.h"
#include "petrel/virtio_pci.h"

#define RAM_SIZE 0x10000
#define REC 12
#define BAR_AT 0xc0000000ULL

struct fz {
	struct guest_mem mem;
	struct bus mmio;
	struct irqchip chip;
	struct virtio_dev vdev;
	struct virtio_pci pci;
	struct virtio_mmio vm;
	bool is_mmio;
	struct irqchip intx_chip;
	bool intx; /* the INTx line as the chip sees it */
	uint8_t config[16];
	struct iovec iov[64];
};

static int no_level(void *o, unsigned gsi, int level)
{
	(void)o, (void)gsi, (void)level;
	return 0;
}

static int no_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o, (void)addr, (void)data;
	return 0;
}

static const struct irqchip_ops chip_ops = { .set_level = no_level, .msi = no_msi };

/* A call that does not change the line is a transport bug: abort. */
static int intx_level(void *o, unsigned gsi, int level)
{
	struct fz *z = o;

	if (gsi != 10 || (level != 0) == z->intx)
		abort();
	z->intx = level != 0;
	return 0;
}

static const struct irqchip_ops intx_ops = { .set_level = intx_level, .msi = no_msi };

static void check_intx(struct fz *z)
{
	uint16_t cmd = (uint16_t)pci_dev_cfg_read(&z->pci.pci, PCI_COMMAND, 2);
	bool want = z->pci.isr && !pci_msix_enabled(&z->pci.msix) &&
		    !(cmd & PCI_COMMAND_INTX_DISABLE);

	if (want != z->intx)
		abort();
}

static void d_cfg_read(void *dev, unsigned off, void *buf, unsigned len)
{
	memcpy(buf, ((struct fz *)dev)->config + off, len);
}

static void d_cfg_write(void *dev, unsigned off, const void *buf, unsigned len)
{
	memcpy(((struct fz *)dev)->config + off, buf, len);
}

/* Consume every chain: read the readable part, fill the writable part. */
static void d_kick(void *dev, unsigned q)
{
	struct fz *z = dev;
	struct virtq *vq = &virtio_queue(&z->vdev, q)->vq;
	struct virtq_elem e = { .iov = z->iov, .cap = 64 };
	uint8_t buf[64];
	int r, n = 0;

	while (n++ < 512 && (r = virtq_pop(vq, &e)) != 0) {
		if (r < 0) {
			virtio_needs_reset(&z->vdev, "fuzz: bad chain");
			return;
		}
		virtq_elem_read(&e, 0, buf, sizeof(buf));
		memset(buf, 0xa5, sizeof(buf));
		uint64_t w = virtq_elem_write(&e, 0, buf, e.in_len < 64 ? e.in_len : 64);
		virtq_push(vq, e.head, (uint32_t)w);
		virtio_notify(&z->vdev, q);
	}
}

static const struct virtio_dev_ops dev_ops = {
	.config_read = d_cfg_read, .config_write = d_cfg_write, .kick = d_kick,
};

/* What the I/O thread does with a kick eventfd (there is no loop here). */
static void run_kicks(struct fz *z)
{
	for (unsigned q = 0; q < z->vdev.nr_queues; q++) {
		uint64_t n;

		if (read(virtio_queue_kick_fd(&z->vdev, q), &n, sizeof(n)) != sizeof(n))
			continue;
		virtio_lock(&z->vdev);
		if ((z->vdev.status & 4) && !(z->vdev.status & 64) &&
		    z->vdev.queues[q].vq.ready)
			d_kick(z, q);
		virtio_unlock(&z->vdev);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	struct fz *z;
	size_t nrec, ram_off;

	if (size < 1)
		return 0;
	z = calloc(1, sizeof(*z));
	if (!z || guest_mem_init(&z->mem, RAM_SIZE) < 0)
		abort();
	nrec = (size - 1) / REC;
	if (nrec > 256)
		nrec = 256;
	ram_off = 1 + nrec * REC;
	if (size > ram_off)
		memcpy(z->mem.regions[0].hva, data + ram_off,
		       size - ram_off < RAM_SIZE ? size - ram_off : RAM_SIZE);
	bus_init(&z->mmio, "mmio");
	z->chip = (struct irqchip){ &chip_ops, NULL, NULL };
	z->is_mmio = data[0] & 1;
	if (virtio_dev_init(&z->vdev, "fuzz", VIRTIO_ID_RNG, 1ULL << 5, 2, 16,
			    sizeof(z->config), &dev_ops, z, &z->mem, NULL) < 0)
		abort();
	if (z->is_mmio) {
		if (virtio_mmio_init(&z->vm, &z->vdev, (struct irq_line){ &z->chip, 16, "vdev" }) < 0 ||
		    bus_insert(&z->mmio, BAR_AT, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &z->vm, "m") < 0)
			abort();
	} else if (virtio_pci_init(&z->pci, &z->vdev, 0xff0000, &z->mmio, BAR_AT,
				   &z->chip, NULL) < 0) {
		abort();
	} else {
		z->intx_chip = (struct irqchip){ &intx_ops, z, NULL };
		virtio_pci_set_intx(&z->pci, (struct irq_line){ &z->intx_chip, 10, "fuzz" });
	}
	for (size_t i = 0; i < nrec; i++) {
		const uint8_t *r = data + 1 + i * REC;
		unsigned op = r[0] % 4, sz = sizes[r[1] & 3];
		uint64_t off = le16_get(r + 2), v = le64_get(r + 4);

		switch (op) {
		case 0: /* BAR / register window write */
			bus_write(&z->mmio, BAR_AT + off, &v, sz);
			break;
		case 1:
			bus_read(&z->mmio, BAR_AT + off, &v, sz);
			break;
		case 2: /* PCI config write (the pci transport's hooks) */
			if (!z->is_mmio && sz <= 4)
				z->pci.pci.ops->config_write(&z->pci.pci, off & 0xff & ~(sz - 1),
							     (uint32_t)v, sz);
			break;
		case 3:
			if (!z->is_mmio && sz <= 4)
				z->pci.pci.ops->config_read(&z->pci.pci, off & 0xff & ~(sz - 1), sz);
			break;
		}
		run_kicks(z);
		if (!z->is_mmio)
			check_intx(z);
	}
	if (!z->is_mmio) {
		virtio_pci_destroy(&z->pci);
		if (z->intx) /* destroy lowers the line */
			abort();
	}
	virtio_dev_destroy(&z->vdev);
	bus_destroy(&z->mmio);
	guest_mem_destroy(&z->mem);
	free(z);
	return 0;
}
