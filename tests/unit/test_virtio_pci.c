/*
 * virtio-pci modern: the capability layout a driver walks, BAR sizing and
 * moving, the common configuration, MSI-X (table, masking, PBA), notify
 * writes reaching the kick eventfd, the PCI_CFG access window, and INTx
 * (pin, line, ISR, INTx Disable, the Status bit) when MSI-X is off.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "petrel/virtio_pci.h"

#define BAR_AT 0xc0000000ULL
#define COMMON(f) offsetof(struct virtio_pci_common_cfg, f)
#define ISR_QUEUE 0x1 /* 4.1.4.5: bit 0, a used buffer */

struct msi_rec {
	unsigned n;
	uint64_t addr;
	uint32_t data;
};

static int rec_level(void *o, unsigned gsi, int level)
{
	(void)o;
	(void)gsi;
	(void)level;
	return 0;
}

static int rec_msi(void *o, uint64_t addr, uint32_t data)
{
	struct msi_rec *r = o;

	r->n++;
	r->addr = addr;
	r->data = data;
	return 0;
}

static const struct irqchip_ops rec_ops = { .set_level = rec_level, .msi = rec_msi };

/* The INTx line as the IOAPIC would see it: level and edges. */
struct line_rec {
	unsigned gsi, ups, downs;
	int level;
};

static int line_level(void *o, unsigned gsi, int level)
{
	struct line_rec *r = o;

	r->gsi = gsi;
	if (level && !r->level)
		r->ups++;
	if (!level && r->level)
		r->downs++;
	r->level = level;
	return 0;
}

static const struct irqchip_ops line_ops = { .set_level = line_level, .msi = rec_msi };

struct dummy {
	uint8_t config[8];
	unsigned kicks, starts, resets;
};

static void d_cfg_read(void *dev, unsigned off, void *buf, unsigned len)
{
	memcpy(buf, ((struct dummy *)dev)->config + off, len);
}

static int d_start(void *dev)
{
	((struct dummy *)dev)->starts++;
	return 0;
}

static void d_reset(void *dev)
{
	((struct dummy *)dev)->resets++;
}

static void d_kick(void *dev, unsigned q)
{
	(void)q;
	((struct dummy *)dev)->kicks++;
}

static const struct virtio_dev_ops dummy_ops = {
	.config_read = d_cfg_read, .start = d_start, .reset = d_reset, .kick = d_kick,
};

struct fx {
	struct guest_mem mem;
	struct bus mmio;
	struct virtio_dev vdev;
	struct virtio_pci p;
	struct dummy dev;
	struct msi_rec msi;
	struct irqchip chip;
	struct line_rec line;
	struct irqchip linechip;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_mem_init(&f->mem, 1 << 20), 0);
	bus_init(&f->mmio, "mmio");
	f->chip = (struct irqchip){ &rec_ops, &f->msi, NULL };
	memcpy(f->dev.config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	assert_int_equal(virtio_dev_init(&f->vdev, "virtio-test", VIRTIO_ID_RNG,
					 1ULL << 3, 2, 64, 8, &dummy_ops, &f->dev,
					 &f->mem, NULL), 0);
	assert_int_equal(virtio_pci_init(&f->p, &f->vdev, 0x00ff00, &f->mmio,
					 BAR_AT, &f->chip, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_pci_destroy(&f->p);
	virtio_dev_destroy(&f->vdev);
	bus_destroy(&f->mmio);
	guest_mem_destroy(&f->mem);
	free(f);
	return 0;
}

static uint32_t cfg_rd(struct fx *f, unsigned off, unsigned size)
{
	return f->p.pci.ops->config_read(&f->p.pci, off, size);
}

static void cfg_wr(struct fx *f, unsigned off, uint32_t v, unsigned size)
{
	f->p.pci.ops->config_write(&f->p.pci, off, v, size);
}

static uint64_t rd(struct fx *f, uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	bus_read(&f->mmio, gpa, &v, size);
	return v;
}

static void wr(struct fx *f, uint64_t gpa, uint64_t v, unsigned size)
{
	bus_write(&f->mmio, gpa, &v, size);
}

/* The config offset of the vendor capability of cfg_type, as Linux finds it. */
static unsigned find_cap(struct fx *f, uint8_t type)
{
	unsigned at = cfg_rd(f, PCI_CAPABILITY_LIST, 1);
	unsigned guard = 0;

	while (at && guard++ < 48) {
		if (cfg_rd(f, at, 1) == PCI_CAP_ID_VNDR && cfg_rd(f, at + 3, 1) == type)
			return at;
		at = cfg_rd(f, at + 1, 1);
	}
	return 0;
}

static void identity_and_caps(void **state)
{
	struct fx *f = *state;
	unsigned c;

	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(f, PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_RNG);
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	struct { uint8_t type; uint32_t off, min_len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, 0x0000, sizeof(struct virtio_pci_common_cfg) },
		{ VIRTIO_PCI_CAP_ISR_CFG, 0x1000, 1 },
		{ VIRTIO_PCI_CAP_DEVICE_CFG, 0x2000, 8 },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, 0x3000, 8 },
		{ VIRTIO_PCI_CAP_PCI_CFG, 0, 0 },
	};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		c = find_cap(f, want[i].type);
		assert_int_not_equal(c, 0);
		assert_int_equal(cfg_rd(f, c + 4, 1), 0); /* BAR 0 */
		assert_int_equal(cfg_rd(f, c + 8, 4), want[i].off);
		assert_true(cfg_rd(f, c + 12, 4) >= want[i].min_len);
	}
	c = find_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG);
	assert_int_equal(cfg_rd(f, c + 16, 4), 4); /* notify_off_multiplier */
	/* MSI-X: 3 vectors (2 queues + config), table and PBA in BAR 0 */
	for (c = cfg_rd(f, PCI_CAPABILITY_LIST, 1); c; c = cfg_rd(f, c + 1, 1))
		if (cfg_rd(f, c, 1) == PCI_CAP_ID_MSIX)
			break;
	assert_int_not_equal(c, 0);
	assert_int_equal(cfg_rd(f, c + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 2);
	assert_int_equal(cfg_rd(f, c + PCI_MSIX_TABLE, 4), 0x4000);
	assert_int_equal(cfg_rd(f, c + PCI_MSIX_PBA, 4), 0x5000);
}

static void bar_sizing_and_moving(void **state)
{
	struct fx *f = *state;
	uint32_t lo;

	/* placed by petrel, decoding */
	assert_int_equal(rd(f, BAR_AT + COMMON(num_queues), 2), 2);
	/* sizing, as Linux does it: decode off, all-ones, read, restore */
	cfg_wr(f, PCI_COMMAND, 0, 2);
	assert_int_equal(rd(f, BAR_AT + COMMON(num_queues), 2), 0xffff);
	cfg_wr(f, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cfg_wr(f, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	lo = cfg_rd(f, PCI_BASE_ADDRESS_0, 4);
	assert_int_equal(lo, (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1) | PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	/* moved above 4 GiB and enabled */
	cfg_wr(f, PCI_BASE_ADDRESS_0, 0x8000, 4);
	cfg_wr(f, PCI_BASE_ADDRESS_1, 0x1, 4);
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(rd(f, 0x100008000ULL + COMMON(num_queues), 2), 2);
	assert_int_equal(rd(f, BAR_AT + COMMON(num_queues), 2), 0xffff);
	/* moved while decoding: follows */
	cfg_wr(f, PCI_BASE_ADDRESS_1, 0x0, 4);
	assert_int_equal(rd(f, 0x8000 + COMMON(num_queues), 2), 2);
	assert_int_equal(f->mmio.nr, 1);
	/* onto another device: unmapped, petrel goes on */
	assert_int_equal(bus_insert(&f->mmio, 0xd0000000, 0x1000,
				    &virtio_pci_bar_ops, &f->p, "other"), 0);
	cfg_wr(f, PCI_BASE_ADDRESS_0, 0xd0000000 | PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
	assert_int_equal(f->mmio.nr, 1);
	assert_int_equal(rd(f, 0x8000 + COMMON(num_queues), 2), 0xffff);
	assert_int_equal(f->p.bar_conflicts, 1);
	/* a guest doing it in a loop is counted (and logged only the first times) */
	for (unsigned i = 0; i < 10; i++) {
		cfg_wr(f, PCI_BASE_ADDRESS_0, 0x8000 | PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
		assert_int_equal(rd(f, 0x8000 + COMMON(num_queues), 2), 2);
		cfg_wr(f, PCI_BASE_ADDRESS_0, 0xd0000000 | PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
	}
	assert_int_equal(f->p.bar_conflicts, 11);
}

static void features_and_status(void **state)
{
	struct fx *f = *state;
	uint64_t b = BAR_AT;

	wr(f, b + COMMON(device_feature_select), 0, 4);
	assert_int_equal(rd(f, b + COMMON(device_feature), 4) & 0xff, 1 << 3);
	wr(f, b + COMMON(device_feature_select), 1, 4);
	assert_true(rd(f, b + COMMON(device_feature), 4) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	wr(f, b + COMMON(device_feature_select), 7, 4);
	assert_int_equal(rd(f, b + COMMON(device_feature), 4), 0);
	/* a legacy driver (no VERSION_1): FEATURES_OK does not stick */
	wr(f, b + COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(f, b + COMMON(guest_feature_select), 0, 4);
	wr(f, b + COMMON(guest_feature), 1 << 3, 4);
	wr(f, b + COMMON(device_status), 0x0b, 1);
	assert_int_equal(rd(f, b + COMMON(device_status), 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* a feature we never offered: refused too */
	wr(f, b + COMMON(guest_feature_select), 1, 4);
	wr(f, b + COMMON(guest_feature), 1 | 1u << 20, 4);
	wr(f, b + COMMON(device_status), 0x0b, 1);
	assert_int_equal(rd(f, b + COMMON(device_status), 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(f, b + COMMON(guest_feature), 1, 4);
	wr(f, b + COMMON(device_status), 0x0b, 1);
	assert_int_equal(rd(f, b + COMMON(device_status), 1), 0x0b);
	/* after FEATURES_OK the features are fixed */
	wr(f, b + COMMON(guest_feature_select), 0, 4);
	wr(f, b + COMMON(guest_feature), 0, 4);
	assert_int_equal(rd(f, b + COMMON(guest_feature), 4), 1 << 3);
	/* reset */
	wr(f, b + COMMON(device_status), 0, 1);
	assert_int_equal(rd(f, b + COMMON(device_status), 1), 0);
	assert_int_equal(f->dev.resets, 1);
	assert_int_equal(rd(f, b + COMMON(guest_feature), 4), 0);
	/* device config through the BAR */
	assert_int_equal(rd(f, b + 0x2000 + 4, 4), 0x88776655);
	assert_int_equal(rd(f, b + 0x2000 + 8, 4), 0); /* past config_len */
}

static void queues(void **state)
{
	struct fx *f = *state;
	uint64_t b = BAR_AT;
	uint64_t n;

	wr(f, b + COMMON(queue_select), 5, 2);
	assert_int_equal(rd(f, b + COMMON(queue_size), 2), 0); /* no such queue */
	wr(f, b + COMMON(queue_select), 1, 2);
	assert_int_equal(rd(f, b + COMMON(queue_size), 2), 64);
	assert_int_equal(rd(f, b + COMMON(queue_notify_off), 2), 1);
	wr(f, b + COMMON(queue_size), 48, 2); /* not a power of two */
	assert_int_equal(rd(f, b + COMMON(queue_size), 2), 64);
	wr(f, b + COMMON(queue_size), 128, 2); /* above the maximum */
	assert_int_equal(rd(f, b + COMMON(queue_size), 2), 64);
	wr(f, b + COMMON(queue_size), 16, 2);
	wr(f, b + COMMON(queue_desc_lo), 0x10000, 4);
	wr(f, b + COMMON(queue_desc_hi), 0, 4);
	wr(f, b + COMMON(queue_avail_lo), 0x11000, 4);
	wr(f, b + COMMON(queue_used_lo), 0x12000, 8); /* a 64-bit store */
	wr(f, b + COMMON(queue_enable), 1, 2);
	assert_int_equal(rd(f, b + COMMON(queue_enable), 2), 1);
	assert_int_equal(rd(f, b + COMMON(queue_used_lo), 4), 0x12000);
	/* fixed once enabled */
	wr(f, b + COMMON(queue_desc_lo), 0x20000, 4);
	wr(f, b + COMMON(queue_size), 32, 2);
	assert_int_equal(rd(f, b + COMMON(queue_desc_lo), 4), 0x10000);
	assert_int_equal(rd(f, b + COMMON(queue_size), 2), 16);
	/* a notify write reaches queue 1's eventfd */
	wr(f, b + 0x3000 + 4, 1, 2);
	assert_int_equal(read(virtio_queue_kick_fd(&f->vdev, 1), &n, 8), 8);
	assert_int_equal(n, 1);
	/* a vector we do not have reads back as NO_VECTOR */
	wr(f, b + COMMON(queue_msix_vector), 9, 2);
	assert_int_equal(rd(f, b + COMMON(queue_msix_vector), 2), VIRTIO_NO_VECTOR);
	wr(f, b + COMMON(queue_msix_vector), 1, 2);
	assert_int_equal(rd(f, b + COMMON(queue_msix_vector), 2), 1);
}

static void msix_masking(void **state)
{
	struct fx *f = *state;
	uint64_t t = BAR_AT + 0x4000;
	unsigned cap;

	for (cap = cfg_rd(f, PCI_CAPABILITY_LIST, 1); cap; cap = cfg_rd(f, cap + 1, 1))
		if (cfg_rd(f, cap, 1) == PCI_CAP_ID_MSIX)
			break;
	/* vector 2: entries start masked */
	assert_int_equal(rd(f, t + 2 * 16 + 12, 4), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	wr(f, t + 2 * 16 + 0, 0xfee01000, 4);
	wr(f, t + 2 * 16 + 4, 0, 4);
	wr(f, t + 2 * 16 + 8, 0x4041, 4);
	/* MSI-X disabled: nothing goes out */
	assert_int_equal(pci_msix_notify(&f->p.msix, 2), -ENODEV);
	cfg_wr(f, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(cfg_rd(f, cap + PCI_MSIX_FLAGS, 2), PCI_MSIX_FLAGS_ENABLE | 2);
	/* masked entry: pending */
	assert_int_equal(pci_msix_notify(&f->p.msix, 2), 0);
	assert_int_equal(f->msi.n, 0);
	assert_int_equal(rd(f, BAR_AT + 0x5000, 8), 1 << 2);
	/* unmask: the pending message goes out */
	wr(f, t + 2 * 16 + 12, 0, 4);
	assert_int_equal(f->msi.n, 1);
	assert_int_equal(f->msi.addr, 0xfee01000);
	assert_int_equal(f->msi.data, 0x4041);
	assert_int_equal(rd(f, BAR_AT + 0x5000, 8), 0);
	/* function mask */
	cfg_wr(f, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	pci_msix_notify(&f->p.msix, 2);
	assert_int_equal(f->msi.n, 1);
	cfg_wr(f, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(f->msi.n, 2);
	assert_int_equal(pci_msix_notify(&f->p.msix, 3), -EINVAL);
	/* odd-sized table accesses are dropped */
	wr(f, t + 2 * 16 + 8, 0x55, 1);
	assert_int_equal(rd(f, t + 2 * 16 + 8, 4), 0x4041);
	assert_int_equal(rd(f, t + 2 * 16 + 8, 2), 0);
}

/* The config-change interrupt: ISR bit 1, the config vector, read-to-clear. */
static void isr_and_config_vector(void **state)
{
	struct fx *f = *state;
	uint64_t b = BAR_AT;
	unsigned cap;

	for (cap = cfg_rd(f, PCI_CAPABILITY_LIST, 1); cap; cap = cfg_rd(f, cap + 1, 1))
		if (cfg_rd(f, cap, 1) == PCI_CAP_ID_MSIX)
			break;
	wr(f, b + 0x4000 + 0, 0xfee00000, 4);
	wr(f, b + 0x4000 + 8, 0x30, 4);
	wr(f, b + 0x4000 + 12, 0, 4);
	cfg_wr(f, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	wr(f, b + COMMON(msix_config), 0, 2);
	wr(f, b + COMMON(device_status), 0x0f, 1); /* features refused: no DRIVER_OK */
	virtio_lock(&f->vdev);
	f->vdev.status |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_config_changed(&f->vdev);
	virtio_unlock(&f->vdev);
	assert_int_equal(f->msi.n, 1);
	assert_int_equal(f->msi.data, 0x30);
	assert_int_equal(rd(f, b + COMMON(config_generation), 1), 1);
	assert_int_equal(rd(f, b + 0x1000, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(rd(f, b + 0x1000, 1), 0);
}

static unsigned msix_cap(struct fx *f)
{
	unsigned cap;

	for (cap = cfg_rd(f, PCI_CAPABILITY_LIST, 1); cap; cap = cfg_rd(f, cap + 1, 1))
		if (cfg_rd(f, cap, 1) == PCI_CAP_ID_MSIX)
			return cap;
	fail_msg("no MSI-X capability");
	return 0;
}

/* What the core does when the device used buffers on q, or changed config. */
static void notify_q(struct fx *f, unsigned q)
{
	virtio_lock(&f->vdev);
	f->vdev.t.notify_queue(f->vdev.t.opaque, q);
	virtio_unlock(&f->vdev);
}

static void notify_cfg(struct fx *f)
{
	virtio_lock(&f->vdev);
	f->vdev.t.notify_config(f->vdev.t.opaque);
	virtio_unlock(&f->vdev);
}

static bool status_int(struct fx *f)
{
	/* read as a byte, a word and within the dword at 4 */
	bool b = cfg_rd(f, PCI_STATUS, 1) & PCI_STATUS_INTERRUPT;

	assert_int_equal(!!(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT), b);
	assert_int_equal(!!(cfg_rd(f, PCI_COMMAND, 4) & (PCI_STATUS_INTERRUPT << 16)), b);
	return b;
}

/*
 * INTx with MSI-X off (virtio 1.2, 4.1.4.5 and 4.1.5.4; PCI 3.0, 6.2.2-3):
 * pin INTA#, the line high while ISR is non-zero, a read of ISR clears it
 * and drops the line, INTx Disable keeps it off the wire but not out of the
 * Status bit, and with MSI-X on nothing goes to INTx.
 */
static void intx(void **state)
{
	struct fx *f = *state;
	uint64_t isr = BAR_AT + 0x1000;

	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 1);
	cfg_wr(f, PCI_INTERRUPT_PIN, 0, 1); /* read-only */
	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 1);
	/* before a line is given, notifications set ISR and reach no chip */
	notify_q(f, 0);
	assert_true(status_int(f));
	assert_int_equal(rd(f, isr, 1), 1);
	assert_false(status_int(f));

	f->linechip = (struct irqchip){ &line_ops, &f->line, NULL };
	virtio_pci_set_intx(&f->p, (struct irq_line){ &f->linechip, 10, "test" });
	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_LINE, 1), 10); /* as firmware */
	cfg_wr(f, PCI_INTERRUPT_LINE, 11, 1);                  /* the guest's */
	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_LINE, 1), 11);

	/* a queue notification: ISR bit 0, the line up once, the Status bit */
	assert_false(status_int(f));
	notify_q(f, 1);
	notify_q(f, 0);
	assert_int_equal(f->line.level, 1);
	assert_int_equal(f->line.gsi, 10);
	assert_int_equal(f->line.ups, 1);
	assert_true(status_int(f));
	assert_int_equal(f->msi.n, 0);
	/* the read returns and clears it and drops the line */
	assert_int_equal(rd(f, isr, 1), ISR_QUEUE);
	assert_int_equal(f->line.level, 0);
	assert_false(status_int(f));
	assert_int_equal(rd(f, isr, 1), 0);
	/* config change: bit 1, on the same line */
	notify_cfg(f);
	notify_q(f, 0);
	assert_int_equal(f->line.ups, 2);
	assert_int_equal(rd(f, isr, 1), VIRTIO_PCI_ISR_CONFIG | ISR_QUEUE);
	assert_int_equal(f->line.downs, 2);

	/* INTx Disable: the request shows in Status but not on the wire */
	uint16_t cmd = (uint16_t)cfg_rd(f, PCI_COMMAND, 2);
	cfg_wr(f, PCI_COMMAND, cmd | PCI_COMMAND_INTX_DISABLE, 2);
	assert_true(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	notify_q(f, 0);
	assert_int_equal(f->line.level, 0);
	assert_true(status_int(f));
	/* enabled again with the request pending: the line goes up */
	cfg_wr(f, PCI_COMMAND, cmd, 2);
	assert_int_equal(f->line.level, 1);
	/* and asserted, disabling it takes the line down at once */
	cfg_wr(f, PCI_COMMAND + 1, (cmd | PCI_COMMAND_INTX_DISABLE) >> 8, 1);
	assert_int_equal(f->line.level, 0);
	cfg_wr(f, PCI_COMMAND, cmd, 2);
	assert_int_equal(f->line.level, 1);
	/* a device reset clears ISR and the line */
	wr(f, BAR_AT + COMMON(device_status), 0, 1);
	assert_int_equal(f->line.level, 0);
	assert_false(status_int(f));
	assert_int_equal(rd(f, isr, 1), 0);
	/* five raises: the first, before the line was given, reached no chip */
	assert_int_equal(virtio_pci_intx_count(&f->p), 5);
	assert_int_equal(f->line.ups, 4);
}

/* With MSI-X on, notifications are messages (or nothing), never INTx. */
static void intx_off_with_msix(void **state)
{
	struct fx *f = *state;
	uint64_t b = BAR_AT, isr = BAR_AT + 0x1000;
	unsigned cap = msix_cap(f);

	f->linechip = (struct irqchip){ &line_ops, &f->line, NULL };
	virtio_pci_set_intx(&f->p, (struct irq_line){ &f->linechip, 11, "test" });
	wr(f, b + 0x4000 + 0, 0xfee00000, 4);
	wr(f, b + 0x4000 + 8, 0x31, 4);
	wr(f, b + 0x4000 + 12, 0, 4);
	cfg_wr(f, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	/* queue 0 on vector 0; queue 1 and config on NO_VECTOR */
	wr(f, b + COMMON(queue_select), 0, 2);
	wr(f, b + COMMON(queue_msix_vector), 0, 2);
	notify_q(f, 0);
	assert_int_equal(f->msi.n, 1);
	assert_int_equal(f->msi.data, 0x31);
	notify_q(f, 1);
	assert_int_equal(f->msi.n, 1);
	assert_int_equal(f->line.ups, 0);
	assert_false(status_int(f));
	/* 4.1.4.5.1: the config bit is set whatever the interrupt path */
	notify_cfg(f);
	assert_int_equal(f->line.ups, 0);
	assert_false(status_int(f));
	/* MSI-X turned off with that bit still set: now it is an INTx request */
	cfg_wr(f, cap + PCI_MSIX_FLAGS, 0, 2);
	assert_int_equal(f->line.level, 1);
	assert_int_equal(f->line.gsi, 11);
	assert_true(status_int(f));
	assert_int_equal(rd(f, isr, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(f->line.level, 0);
	/* and a vector the driver set earlier no longer applies: INTx */
	notify_q(f, 0);
	assert_int_equal(f->msi.n, 1);
	assert_int_equal(f->line.level, 1);
	/* MSI-X on again: the pending request leaves the wire */
	cfg_wr(f, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(f->line.level, 0);
	assert_false(status_int(f));
	/* destroy lowers a line left high */
	cfg_wr(f, cap + PCI_MSIX_FLAGS, 0, 2);
	assert_int_equal(f->line.level, 1);
	virtio_pci_destroy(&f->p);
	assert_int_equal(f->line.level, 0);
}

/* VIRTIO_PCI_CAP_PCI_CFG: BAR access through config space. */
static void pci_cfg_window(void **state)
{
	struct fx *f = *state;
	unsigned c = find_cap(f, VIRTIO_PCI_CAP_PCI_CFG);
	unsigned data = c + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);

	cfg_wr(f, c + 4, 0, 1);
	cfg_wr(f, c + 8, COMMON(num_queues), 4);
	cfg_wr(f, c + 12, 2, 4);
	assert_int_equal(cfg_rd(f, data, 4) & 0xffff, 2);
	cfg_wr(f, c + 8, COMMON(queue_select), 4);
	cfg_wr(f, data, 1, 2);
	assert_int_equal(rd(f, BAR_AT + COMMON(queue_select), 2), 1);
	/* a bad window length does nothing */
	cfg_wr(f, c + 12, 3, 4);
	cfg_wr(f, data, 0, 2);
	assert_int_equal(rd(f, BAR_AT + COMMON(queue_select), 2), 1);
}

/* A device without configuration has no device-config capability at all. */
static void no_config_no_cap(void **state)
{
	struct fx *f = *state;
	struct virtio_dev v2;
	struct virtio_pci p2;
	struct bus mmio;
	unsigned at, guard = 0;
	bool notify = false;

	bus_init(&mmio, "mmio");
	assert_int_equal(virtio_dev_init(&v2, "virtio-nocfg", VIRTIO_ID_RNG, 0, 1, 64, 0,
					 &dummy_ops, &f->dev, &f->mem, NULL), 0);
	assert_int_equal(virtio_pci_init(&p2, &v2, 0xff0000, &mmio, BAR_AT, &f->chip, NULL), 0);
	for (at = p2.pci.ops->config_read(&p2.pci, PCI_CAPABILITY_LIST, 1); at && guard++ < 48;
	     at = p2.pci.ops->config_read(&p2.pci, at + 1, 1)) {
		if (p2.pci.ops->config_read(&p2.pci, at, 1) != PCI_CAP_ID_VNDR)
			continue;
		unsigned type = p2.pci.ops->config_read(&p2.pci, at + 3, 1);

		assert_int_not_equal(type, VIRTIO_PCI_CAP_DEVICE_CFG);
		if (type != VIRTIO_PCI_CAP_PCI_CFG)
			assert_int_not_equal(p2.pci.ops->config_read(&p2.pci, at + 12, 4), 0);
		notify |= type == VIRTIO_PCI_CAP_NOTIFY_CFG;
	}
	assert_true(notify);
	virtio_pci_destroy(&p2);
	virtio_dev_destroy(&v2);
	bus_destroy(&mmio);
}

/* A chip with irqfd routes: each vector's message follows table writes. */
struct route_rec {
	int fd[8];
	uint64_t addr[8];
	uint32_t data[8];
	unsigned n, sets;
};

static int rt_add(void *o, int *fd)
{
	struct route_rec *r = o;
	int p[2];

	if (r->n == 8 || pipe(p) < 0)
		return -ENOSPC;
	r->fd[r->n] = p[0];
	*fd = p[1];
	return (int)r->n++;
}

static int rt_set(void *o, int id, uint64_t addr, uint32_t data)
{
	struct route_rec *r = o;

	r->addr[id] = addr;
	r->data[id] = data;
	r->sets++;
	return 0;
}

static void rt_del(void *o, int id)
{
	(void)o;
	(void)id;
}

static int rt_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o, (void)addr, (void)data;
	fail_msg("irq_msi used while irqfd routes exist");
	return 0;
}

static const struct irqchip_ops route_ops = {
	.set_level = rec_level, .msi = rt_msi,
	.msi_route_add = rt_add, .msi_route_set = rt_set, .msi_route_del = rt_del,
};

static void msix_through_irqfd(void **state)
{
	struct fx *f = *state;
	struct route_rec rr = { .n = 0 };
	struct irqchip chip = { &route_ops, &rr, NULL };
	struct virtio_dev v2;
	struct virtio_pci p2;
	struct bus mmio;
	uint64_t t = BAR_AT + 0x4000, n, one = 1;
	unsigned cap;

	bus_init(&mmio, "mmio");
	assert_int_equal(virtio_dev_init(&v2, "virtio-irqfd", VIRTIO_ID_RNG, 0, 1, 64, 0,
					 &dummy_ops, &f->dev, &f->mem, NULL), 0);
	assert_int_equal(virtio_pci_init(&p2, &v2, 0xff0000, &mmio, BAR_AT, &chip, NULL), 0);
	/* the recording chip of the fixture has no routes: refused, nothing changes */
	assert_int_equal(pci_msix_use_irqfd(&f->p.msix), -ENOTSUP);
	assert_int_equal(pci_msix_use_irqfd(&p2.msix), 0);
	assert_int_equal(rr.n, 2); /* one queue + config */
	for (cap = p2.pci.ops->config_read(&p2.pci, PCI_CAPABILITY_LIST, 1); cap;
	     cap = p2.pci.ops->config_read(&p2.pci, cap + 1, 1))
		if (p2.pci.ops->config_read(&p2.pci, cap, 1) == PCI_CAP_ID_MSIX)
			break;
	bus_write(&mmio, t + 16 + 0, &(uint32_t){ 0xfee02000 }, 4);
	bus_write(&mmio, t + 16 + 8, &(uint32_t){ 0x41 }, 4);
	assert_int_equal(rr.addr[1], 0xfee02000);
	assert_int_equal(rr.data[1], 0x41);
	unsigned sets = rr.sets;
	bus_write(&mmio, t + 16 + 12, &(uint32_t){ 0 }, 4); /* unmask: no new message */
	assert_int_equal(rr.sets, sets);
	p2.pci.ops->config_write(&p2.pci, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(pci_msix_notify(&p2.msix, 1), 0);
	assert_int_equal(read(rr.fd[1], &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, one);
	virtio_pci_destroy(&p2);
	virtio_dev_destroy(&v2);
	bus_destroy(&mmio);
	for (unsigned i = 0; i < rr.n; i++)
		close(rr.fd[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(bar_sizing_and_moving, setup, teardown),
		cmocka_unit_test_setup_teardown(features_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(queues, setup, teardown),
		cmocka_unit_test_setup_teardown(msix_masking, setup, teardown),
		cmocka_unit_test_setup_teardown(isr_and_config_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(pci_cfg_window, setup, teardown),
		cmocka_unit_test_setup_teardown(no_config_no_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(msix_through_irqfd, setup, teardown),
		cmocka_unit_test_setup_teardown(intx, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_off_with_msix, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio_pci", tests, NULL, NULL);
}
