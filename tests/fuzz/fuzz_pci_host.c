/*
 * libFuzzer target for the PCI host bridge and configuration mechanism #1
 * (src/devices/pci_host.c), with what sits behind it: port 0xCF9
 * (src/devices/legacy.c), a plain function with I/O, 32-bit and 64-bit
 * BARs, and two virtio-pci functions (src/virtio/transport_pci.c) whose
 * BARs the guest sizes and moves, over each other too, and whose MSI-X
 * table and PBA (src/devices/pci_msix.c) it programs through the BAR while
 * the devices raise interrupts.
 *
 * Input (devf_input.h): records op, sz, off, val; op % 6 ==
 *   0  PIO write of val, size devf_size(sz), at 0xcf8 + off % 8, or at
 *      0xcf0 + off % 16 when sz & 0x80 (the neighbours are unclaimed)
 *   1  PIO read, ports and sizes as for writes
 *   2  MMIO write of val (zero-extended) at base + off, base by
 *      (sz >> 5) & 3: 0xc0000000 (where the BARs start), function 0's BAR,
 *      function 1's BAR, or 0
 *   3  MMIO read, addresses as for writes
 *   4  function sz & 1 notifies queue val % 3 (2: a config change)
 *   5  pci_host_cfg_write (sz & 4: read) of bus (val >> 16) & 1, device
 *      (val >> 8) & 31, function val & 7 at offset off & 0x1ff, the value
 *      ~val, size devf_size(sz)
 * Seeds: tests/fuzz/corpus/fuzz_pci_host/, from mkseeds_devices.c.
 *
 * Checked: CONFIG_ADDRESS reads back what was written, masked; functions
 * that are not there (other buses, functions, empty slots, the enable bit
 * clear) read all-ones; IDs, header type, capability pointers and BAR
 * type bits never change whatever the guest writes; a mapped virtio BAR
 * is on the bus exactly where config space says, with memory decode on,
 * and two never overlap; every MSI sent is the message of an entry that is
 * unmasked in a function with MSI-X on and not masked; INTx lines move
 * only on a change and follow the contract of virtio_pci.h; 0xCF9 byte
 * writes with RST_CPU request one reset.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>

#include "devf_input.h"
#include "petrel/bus.h"
#include "petrel/legacy.h"
#include "petrel/memory.h"
#include "petrel/pci.h"
#include "petrel/util.h"
#include "petrel/virtio.h"
#include "petrel/virtio_pci.h"

#define BAR_AT 0xc0000000ULL
#define NFN 2

struct fz {
	struct guest_mem mem;
	struct bus pio, mmio;
	struct pci_host host;
	struct legacy_cf9 cf9;
	struct pci_dev plain;
	struct virtio_dev vdev[NFN];
	struct virtio_pci vp[NFN];
	struct irqchip chip;
	bool intx[NFN];
	uint8_t cfg[NFN][8];
	unsigned resets;
	uint32_t addr_written;
	struct pci_dev ro[2 + NFN]; /* config space as built: IDs etc. */
};

static bool msi_matches(const struct virtio_pci *p, uint64_t addr, uint32_t data)
{
	const struct pci_msix *m = &p->msix;

	if (!(m->ctrl & PCI_MSIX_FLAGS_ENABLE) || (m->ctrl & PCI_MSIX_FLAGS_MASKALL))
		return false;
	for (unsigned v = 0; v < m->nr; v++) {
		const struct pci_msix_entry *e = &m->table[v];

		if (!(e->ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) && e->data == data &&
		    ((uint64_t)e->addr_hi << 32 | e->addr_lo) == addr)
			return true;
	}
	return false;
}

static int fz_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fz *z = opaque;

	CHECK(msi_matches(&z->vp[0], addr, data) || msi_matches(&z->vp[1], addr, data));
	return 0;
}

static int fz_level(void *opaque, unsigned gsi, int level)
{
	struct fz *z = opaque;
	unsigned i = gsi - 100;

	CHECK(i < NFN && (level != 0) != z->intx[i]);
	z->intx[i] = level != 0;
	return 0;
}

static const struct irqchip_ops fz_chip_ops = { .set_level = fz_level, .msi = fz_msi };

static void fz_power(void *opaque, enum power_event ev, const char *source)
{
	struct fz *z = opaque;

	CHECK(ev == POWER_RESET && !strcmp(source, "cf9"));
	z->resets++;
}

static void d_cfg_read(void *dev, unsigned off, void *buf, unsigned len)
{
	CHECK(off + len <= 8);
	memcpy(buf, (uint8_t *)dev + off, len);
}

static void d_cfg_write(void *dev, unsigned off, const void *buf, unsigned len)
{
	CHECK(off + len <= 8);
	memcpy((uint8_t *)dev + off, buf, len);
}

static void d_kick(void *dev, unsigned q)
{
	(void)dev, (void)q;
}

static const struct virtio_dev_ops dev_ops = {
	.config_read = d_cfg_read, .config_write = d_cfg_write, .kick = d_kick,
};

static struct pci_dev *fn_at(struct fz *z, unsigned bus, unsigned dev, unsigned fn)
{
	if (bus || fn || dev >= PCI_MAX_DEVICES)
		return NULL;
	return z->host.devs[dev];
}

static void check_ro(const struct pci_dev *d, const struct pci_dev *ro)
{
	/* vendor, device, revision, class, header type */
	CHECK(!memcmp(d->config, ro->config, 4));
	CHECK(!memcmp(d->config + PCI_CLASS_REVISION, ro->config + PCI_CLASS_REVISION, 4));
	CHECK(d->config[PCI_HEADER_TYPE] == ro->config[PCI_HEADER_TYPE]);
	CHECK(d->config[PCI_CAPABILITY_LIST] == ro->config[PCI_CAPABILITY_LIST]);
	CHECK(d->config[PCI_INTERRUPT_PIN] == ro->config[PCI_INTERRUPT_PIN]);
	for (unsigned b = 0; b < PCI_NR_BARS; b++) {
		unsigned o = PCI_BASE_ADDRESS_0 + 4 * b;
		uint8_t lowbits = (ro->config[o] & PCI_BASE_ADDRESS_SPACE_IO) ? 0x3 : 0xf;

		CHECK((d->config[o] & lowbits) == (ro->config[o] & lowbits));
		if (!(ro->config[o] & PCI_BASE_ADDRESS_SPACE_IO) &&
		    (ro->config[o] & PCI_BASE_ADDRESS_MEM_TYPE_64))
			b++; /* the upper dword is all address */
	}
}

static void check_state(struct fz *z)
{
	check_ro(&z->host.bridge, &z->ro[0]);
	check_ro(&z->plain, &z->ro[1]);
	for (unsigned i = 0; i < NFN; i++) {
		struct virtio_pci *p = &z->vp[i];

		check_ro(&p->pci, &z->ro[2 + i]);
		CHECK(p->intx_up == z->intx[i]);
		CHECK(z->intx[i] == (p->isr && !(p->msix.ctrl & PCI_MSIX_FLAGS_ENABLE) &&
				     !p->intx_disabled));
		if (!p->mapped)
			continue;
		CHECK(p->bar_at == pci_dev_bar_addr(&p->pci, 0));
		CHECK(pci_dev_cfg_read(&p->pci, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
		for (unsigned j = 0; j < i; j++) {
			const struct virtio_pci *q = &z->vp[j];

			CHECK(!q->mapped || p->bar_at >= q->bar_at + VIRTIO_PCI_BAR_SIZE ||
			      q->bar_at >= p->bar_at + VIRTIO_PCI_BAR_SIZE);
		}
	}
	/* the bus agrees: each mapped BAR's first byte is that function's */
	for (unsigned i = 0; i < NFN; i++) {
		const struct virtio_pci *p = &z->vp[i];
		const struct bus_table *t = atomic_load(&z->mmio.table);
		bool found = false;

		for (size_t k = 0; t && k < t->nr; k++)
			if (t->ranges[k].opaque == p)
				found = t->ranges[k].base == p->bar_at &&
					t->ranges[k].len == VIRTIO_PCI_BAR_SIZE;
		CHECK(found == p->mapped);
	}
}

static uint64_t mask_of(unsigned size)
{
	return size < 8 ? (1ULL << (8 * size)) - 1 : ~0ULL;
}

static void pio_access(struct fz *z, bool wr, uint64_t port, unsigned size, uint32_t val)
{
	uint64_t v = val;
	uint32_t a = z->host.addr;
	unsigned resets = z->resets;

	if (wr) {
		bus_write(&z->pio, port, &v, size);
		if (port == 0xcf8 && size == 4)
			z->addr_written = val;
		CHECK(z->host.addr == (z->addr_written & 0x80fffffcu));
		CHECK(z->resets == resets + (port == 0xcf9 && size == 1 && (val & 4)));
		return;
	}
	v = 0;
	bus_read(&z->pio, port, &v, size);
	if (port == 0xcf8 && size == 4)
		CHECK(v == (z->addr_written & 0x80fffffcu));
	if (port >= 0xcfc && port + size <= 0xd00 && size <= 4) {
		unsigned k = (unsigned)(port - 0xcfc);
		bool absent = !(a & 0x80000000u) ||
			      !fn_at(z, (a >> 16) & 0xff, (a >> 11) & 31, (a >> 8) & 7);

		if (absent)
			CHECK(v == mask_of(size));
		else if (k == 0 && size == 2 && (a & 0xfc) == 0)
			CHECK(v == le16_get(fn_at(z, 0, (a >> 11) & 31, 0)->config));
	}
}

static void mmio_access(struct fz *z, bool wr, uint64_t addr, unsigned size, uint32_t val)
{
	uint64_t v = val;

	if (wr) {
		bus_write(&z->mmio, addr, &v, size);
		return;
	}
	bus_read(&z->mmio, addr, &v, size);
}

static void cfg_access(struct fz *z, const struct devf_rec *r)
{
	unsigned bus = (r->val >> 16) & 1, dev = (r->val >> 8) & 31, fn = r->val & 7;
	unsigned off = r->off & 0x1ff, size = devf_size(r->sz);
	bool valid = (size == 1 || size == 2 || size == 4) && off < PCI_CFG_SIZE &&
		     (off & 3) + size <= 4;

	if (r->sz & 4) {
		uint32_t v = pci_host_cfg_read(&z->host, bus, dev, fn, off, size);

		if (!valid || !fn_at(z, bus, dev, fn))
			CHECK(v == ~0u);
	} else {
		pci_host_cfg_write(&z->host, bus, dev, fn, off, ~r->val, size);
	}
}

static void fz_destroy(struct fz *z)
{
	for (unsigned i = 0; i < NFN; i++) {
		virtio_pci_destroy(&z->vp[i]);
		CHECK(!z->intx[i]);
		virtio_dev_destroy(&z->vdev[i]);
	}
	pci_host_destroy(&z->host);
	bus_destroy(&z->pio);
	bus_destroy(&z->mmio);
	guest_mem_destroy(&z->mem);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = calloc(1, sizeof(*z));

	CHECK(z && guest_mem_init(&z->mem, 0x1000) == 0);
	bus_init(&z->pio, "pio");
	bus_init(&z->mmio, "mmio");
	z->chip = (struct irqchip){ &fz_chip_ops, z, NULL };
	CHECK(pci_host_init(&z->host) == 0);
	legacy_cf9_init(&z->cf9, (struct power_ctl){ fz_power, z });
	pci_host_set_cf9(&z->host, &legacy_cf9_ops, &z->cf9);
	CHECK(bus_insert(&z->pio, 0xcf8, PCI_HOST_NR_PORTS, &pci_host_ops, &z->host, "pci") == 0);
	pci_dev_init(&z->plain, 0x1234, 0x5678, 0x020000, 3, NULL, NULL);
	CHECK(pci_dev_set_bar(&z->plain, 0, 32, PCI_BASE_ADDRESS_SPACE_IO) == 0);
	CHECK(pci_dev_set_bar(&z->plain, 1, 0x1000, 0) == 0);
	CHECK(pci_dev_set_bar(&z->plain, 2, 1 << 20,
			      PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH) == 0);
	CHECK(pci_host_add(&z->host, &z->plain, 3) == 3);
	for (unsigned i = 0; i < NFN; i++) {
		CHECK(virtio_dev_init(&z->vdev[i], i ? "fz1" : "fz0", VIRTIO_ID_RNG, 0, 2, 16,
				      sizeof(z->cfg[i]), &dev_ops, z->cfg[i], &z->mem, NULL) == 0);
		CHECK(virtio_pci_init(&z->vp[i], &z->vdev[i], 0xff0000, &z->mmio,
				      BAR_AT + i * VIRTIO_PCI_BAR_SIZE, &z->chip, NULL) == 0);
		CHECK(pci_host_add(&z->host, &z->vp[i].pci, -1) >= 0);
		virtio_pci_set_intx(&z->vp[i], (struct irq_line){ &z->chip, 100 + i, "fz" });
	}
	z->ro[0] = z->host.bridge;
	z->ro[1] = z->plain;
	for (unsigned i = 0; i < NFN; i++)
		z->ro[2 + i] = z->vp[i].pci;
	check_state(z);
	for (size_t i = 0; i < size / DEVF_REC; i++) {
		struct devf_rec r = devf_get(data, i);
		unsigned sz = devf_size(r.sz);
		uint64_t port = (r.sz & 0x80) ? 0xcf0 + r.off % 16 : 0xcf8 + r.off % 8;
		unsigned which = (r.sz >> 5) & 3;
		uint64_t base = which == 0 ? BAR_AT : which == 3 ? 0 : z->vp[which - 1].bar_at;

		switch (r.op % 6) {
		case 0:
		case 1:
			pio_access(z, r.op % 6 == 0, port, sz, r.val);
			break;
		case 2:
		case 3:
			mmio_access(z, r.op % 6 == 2, base + r.off, sz, r.val);
			break;
		case 4: {
			struct virtio_dev *d = &z->vdev[r.sz & 1];

			virtio_lock(d);
			if (r.val % 3 == 2)
				virtio_config_changed(d);
			else
				virtio_notify(d, r.val % 3);
			virtio_unlock(d);
			break;
		}
		case 5:
			cfg_access(z, &r);
			break;
		}
		check_state(z);
	}
	fz_destroy(z);
	return 0;
}
