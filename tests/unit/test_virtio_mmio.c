/*
 * The virtio-mmio register file in front of the real virtio core, with a
 * dummy device and a recording irqchip; and the slot list from a vm_config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "petrel/virtio_mmio.h"

#define NR_QUEUES 2
#define QUEUE_MAX 256
#define CONFIG_LEN 12
#define DEV_FEATURE 5 /* some device-specific bit */
#define RAM_SIZE 0x10000

struct rec {
	struct irqchip chip;
	unsigned nr_irq;
	unsigned irq_gsi[64];
	int irq_level[64];
	/* the dummy device */
	uint8_t config[CONFIG_LEN];
	unsigned resets, starts;
	/* guest RAM for the rings */
	uint8_t ram[RAM_SIZE];
	struct guest_mem mem;
	struct virtio_dev d;
	struct virtio_mmio m;
};

static int rec_set_level(void *opaque, unsigned gsi, int level)
{
	struct rec *r = opaque;

	if (r->nr_irq < 64) {
		r->irq_gsi[r->nr_irq] = gsi;
		r->irq_level[r->nr_irq] = level;
	}
	r->nr_irq++;
	return 0;
}

static int rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	return -1;
}

static const struct irqchip_ops rec_ops = { .set_level = rec_set_level, .msi = rec_msi };

static void dummy_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
	memcpy(buf, ((struct rec *)dev)->config + off, len);
}

static void dummy_config_write(void *dev, unsigned off, const void *buf,
			       unsigned len)
{
	memcpy(((struct rec *)dev)->config + off, buf, len);
}

static int dummy_start(void *dev)
{
	((struct rec *)dev)->starts++;
	return 0;
}

static void dummy_reset(void *dev)
{
	((struct rec *)dev)->resets++;
}

static void dummy_kick(void *dev, unsigned q)
{
	(void)dev, (void)q;
}

static const struct virtio_dev_ops dummy_ops = {
	.config_read = dummy_config_read,
	.config_write = dummy_config_write,
	.start = dummy_start,
	.reset = dummy_reset,
	.kick = dummy_kick,
};

static int setup(void **state)
{
	struct rec *r = test_calloc(1, sizeof(*r));

	r->chip.ops = &rec_ops;
	r->chip.opaque = r;
	for (unsigned i = 0; i < CONFIG_LEN; i++)
		r->config[i] = (uint8_t)(0x10 + i);
	guest_mem_window(&r->mem, 0, r->ram, RAM_SIZE);
	assert_int_equal(virtio_dev_init(&r->d, "virtio-test", VIRTIO_ID_RNG,
					 1ULL << DEV_FEATURE, NR_QUEUES,
					 QUEUE_MAX, CONFIG_LEN, &dummy_ops, r,
					 &r->mem, NULL),
			 0);
	assert_int_equal(virtio_mmio_init(&r->m, &r->d,
					  (struct irq_line){ &r->chip, 16, "vdev" }),
			 0);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rec *r = *state;

	virtio_dev_destroy(&r->d);
	test_free(r);
	return 0;
}

static uint32_t rd(struct rec *r, uint64_t off)
{
	return (uint32_t)virtio_mmio_ops.read(&r->m, off, 4);
}

static void wr(struct rec *r, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(&r->m, off, v, 4);
}

static uint64_t ignored(struct rec *r)
{
	return atomic_load(&r->m.ignored);
}

static void identity(void **state)
{
	struct rec *r = *state;

	assert_int_equal(rd(r, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(r, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(r, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(rd(r, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_memory_equal(&(uint32_t){ VIRTIO_MMIO_VENDOR }, "PTRL", 4);
	/* no shared memory regions: length -1 */
	wr(r, VIRTIO_MMIO_SHM_SEL, 0);
	assert_int_equal(rd(r, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(r, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* write-only registers, legacy ones and holes read 0 */
	wr(r, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_SEL), 0);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_PFN), 0);
	assert_int_equal(rd(r, 0x0f8), 0);
	/* the line starts low */
	assert_int_equal(r->nr_irq, 1);
	assert_int_equal(r->irq_gsi[0], 16);
	assert_int_equal(r->irq_level[0], 0);
}

static void features(void **state)
{
	struct rec *r = *state;
	uint32_t lo;

	wr(r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = rd(r, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & (1u << DEV_FEATURE));
	assert_true(lo & (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_DEVICE_FEATURES),
			 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(r, VIRTIO_MMIO_DEVICE_FEATURES), 0);

	wr(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES, 1u << DEV_FEATURE);
	assert_int_equal(r->d.guest_features,
			 1ULL << VIRTIO_F_VERSION_1 | 1ULL << DEV_FEATURE);
}

static struct virtq *vq(struct rec *r, unsigned q)
{
	return &r->d.queues[q].vq;
}

static void queue_programming(void **state)
{
	struct rec *r = *state;
	uint64_t before;

	wr(r, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_NUM_MAX), QUEUE_MAX);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, 128);
	assert_int_equal(vq(r, 1)->size, 128);
	assert_int_equal(vq(r, 0)->size, QUEUE_MAX); /* the other queue */
	/* not a power of two, too large, zero: ignored */
	before = ignored(r);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, 100);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, 2 * QUEUE_MAX);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, 0);
	assert_int_equal(vq(r, 1)->size, 128);
	assert_int_equal(ignored(r), before + 3);

	wr(r, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr(r, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x1);
	wr(r, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x2000);
	wr(r, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0x2);
	wr(r, VIRTIO_MMIO_QUEUE_USED_LOW, 0x3000);
	wr(r, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x3);
	assert_int_equal(vq(r, 1)->desc, 0x100001000ULL);
	assert_int_equal(vq(r, 1)->avail, 0x200002000ULL);
	assert_int_equal(vq(r, 1)->used, 0x300003000ULL);
	wr(r, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	assert_int_equal(vq(r, 1)->desc, 0x1000);

	/* ready: the queue is frozen */
	wr(r, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 1);
	before = ignored(r);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, 64);
	wr(r, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(r, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x5000);
	wr(r, VIRTIO_MMIO_QUEUE_USED_LOW, 0x5000);
	assert_int_equal(ignored(r), before + 4);
	assert_int_equal(vq(r, 1)->size, 128);
	assert_int_equal(vq(r, 1)->desc, 0x1000);
	assert_int_equal(vq(r, 1)->used, 0x300003000ULL);
	/* and thawed again */
	wr(r, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, 64);
	assert_int_equal(vq(r, 1)->size, 64);

	/* a queue that does not exist: reads 0, takes nothing */
	wr(r, VIRTIO_MMIO_QUEUE_SEL, NR_QUEUES);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(r, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(r, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void notify(void **state)
{
	struct rec *r = *state;
	uint64_t n = 0;
	int fd = virtio_queue_kick_fd(&r->d, 1);

	wr(r, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(read(fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	wr(r, VIRTIO_MMIO_QUEUE_NOTIFY, NR_QUEUES);
	assert_int_equal(ignored(r), 1);
	assert_int_equal(read(virtio_queue_kick_fd(&r->d, 0), &n, sizeof(n)), -1);
}

/* Programs queue q over the test RAM and makes it ready. */
static void program_queue(struct rec *r, unsigned q, uint32_t size)
{
	uint32_t base = 0x1000 + q * 0x4000;

	wr(r, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(r, VIRTIO_MMIO_QUEUE_DESC_LOW, base);
	wr(r, VIRTIO_MMIO_QUEUE_AVAIL_LOW, base + 0x1000);
	wr(r, VIRTIO_MMIO_QUEUE_USED_LOW, base + 0x2000);
	wr(r, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(struct rec *r)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned starts = r->starts;

	wr(r, VIRTIO_MMIO_STATUS, s);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	wr(r, VIRTIO_MMIO_STATUS, s);
	assert_int_equal(rd(r, VIRTIO_MMIO_STATUS), s);
	program_queue(r, 0, 16);
	program_queue(r, 1, 16);
	s |= VIRTIO_CONFIG_S_DRIVER_OK;
	wr(r, VIRTIO_MMIO_STATUS, s);
	assert_int_equal(rd(r, VIRTIO_MMIO_STATUS), s);
	assert_int_equal(r->starts, starts + 1);
}

static void status_and_reset(void **state)
{
	struct rec *r = *state;

	driver_ok(r);
	/* after DRIVER_OK a queue cannot be disabled or enabled */
	wr(r, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(r, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 1);

	/* an interrupt pending at reset goes away with it */
	virtio_lock(&r->d);
	r->d.t.notify_queue(r->d.t.opaque, 0);
	virtio_unlock(&r->d);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS), 1);

	wr(r, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(r->resets, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(r->irq_level[r->nr_irq - 1], 0);
	assert_int_equal(r->d.guest_features, 0);
	for (unsigned q = 0; q < NR_QUEUES; q++) {
		wr(r, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 0);
	}
	/* and the driver can start over */
	driver_ok(r);
	assert_int_equal(r->starts, 2);
}

static void interrupts(void **state)
{
	struct rec *r = *state;
	unsigned n0 = r->nr_irq;

	virtio_lock(&r->d);
	r->d.t.notify_queue(r->d.t.opaque, 1);
	virtio_unlock(&r->d);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	assert_int_equal(r->nr_irq, n0 + 1);
	assert_int_equal(r->irq_gsi[n0], 16);
	assert_int_equal(r->irq_level[n0], 1);

	/* a second event while the line is high: no new edge to make */
	virtio_lock(&r->d);
	r->d.t.notify_config(r->d.t.opaque);
	r->d.t.notify_queue(r->d.t.opaque, 0);
	virtio_unlock(&r->d);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(r->nr_irq, n0 + 1);

	/* acking one of two keeps the line up */
	wr(r, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(r->nr_irq, n0 + 1);
	/* InterruptStatus is read-only */
	wr(r, VIRTIO_MMIO_INTERRUPT_STATUS, 0);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	/* the last one drops it */
	wr(r, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(r->nr_irq, n0 + 2);
	assert_int_equal(r->irq_level[n0 + 1], 0);
	/* an ACK with nothing pending changes nothing */
	wr(r, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	assert_int_equal(r->nr_irq, n0 + 2);
}

/* Through the core: a config change after DRIVER_OK interrupts. */
static void config_generation(void **state)
{
	struct rec *r = *state;
	unsigned n0 = r->nr_irq;

	assert_int_equal(rd(r, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_lock(&r->d);
	virtio_config_changed(&r->d);
	virtio_unlock(&r->d);
	assert_int_equal(rd(r, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(r->nr_irq, n0); /* before DRIVER_OK: silent */

	driver_ok(r);
	virtio_lock(&r->d);
	virtio_config_changed(&r->d);
	virtio_unlock(&r->d);
	assert_int_equal(rd(r, VIRTIO_MMIO_CONFIG_GENERATION), 2);
	assert_int_equal(rd(r, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(r->irq_level[r->nr_irq - 1], 1);
}

static void config_space(void **state)
{
	struct rec *r = *state;
	const struct bus_dev_ops *o = &virtio_mmio_ops;

	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_CONFIG, 1), 0x10);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_CONFIG + 1, 2), 0x1211);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_CONFIG + 4, 4), 0x17161514);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_CONFIG + 4, 8),
			 0x1b1a191817161514ULL);
	/* past config_len: 0 */
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_CONFIG + CONFIG_LEN, 4), 0);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_SIZE - 4, 4), 0);
	o->write(&r->m, VIRTIO_MMIO_CONFIG + 2, 0xaa, 1);
	assert_int_equal(r->config[2], 0xaa);
	assert_int_equal(r->config[3], 0x13);
	o->write(&r->m, VIRTIO_MMIO_CONFIG + 8, 0xddccbbaa, 4);
	assert_memory_equal(r->config + 8, "\xaa\xbb\xcc\xdd", 4);
	/* a write running past config_len is dropped whole */
	o->write(&r->m, VIRTIO_MMIO_CONFIG + 10, 0x11223344, 4);
	assert_memory_equal(r->config + 8, "\xaa\xbb\xcc\xdd", 4);
	/* beyond the window (the bus never sends these): nothing */
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_SIZE, 4), 0);
	o->write(&r->m, VIRTIO_MMIO_SIZE - 2, 0, 4);
}

static void narrow_accesses(void **state)
{
	struct rec *r = *state;
	const struct bus_dev_ops *o = &virtio_mmio_ops;
	uint64_t before = ignored(r);

	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	assert_int_equal(o->read(&r->m, VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0);
	assert_int_equal(ignored(r), before + 4);

	o->write(&r->m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	o->write(&r->m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 2);
	o->write(&r->m, VIRTIO_MMIO_STATUS + 1, VIRTIO_CONFIG_S_ACKNOWLEDGE, 4);
	o->write(&r->m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 8);
	assert_int_equal(rd(r, VIRTIO_MMIO_STATUS), 0);
	/* read-only registers take no writes */
	wr(r, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(r, VIRTIO_MMIO_QUEUE_NUM_MAX, 4);
	assert_int_equal(rd(r, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_NUM_MAX), QUEUE_MAX);
	assert_int_equal(ignored(r), before + 10);
}

static void slots(void **state)
{
	struct vm_config cfg;
	struct virtio_mmio_slot s[VIRTIO_MMIO_SLOTS];
	(void)state;

	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(virtio_mmio_slots(&cfg, s), 0);
	cfg.rng = true; /* on PCI */
	cfg.nr_disks = 3;
	cfg.disks[1].transport = VIRTIO_TRANSPORT_MMIO;
	cfg.disks[2].transport = VIRTIO_TRANSPORT_MMIO;
	assert_int_equal(virtio_mmio_slots(&cfg, s), 2);
	cfg.rng_transport = VIRTIO_TRANSPORT_MMIO;
	assert_int_equal(virtio_mmio_slots(&cfg, s), 3);
	assert_int_equal(s[0].kind, VIRTIO_MMIO_DEV_BLK);
	assert_int_equal(s[0].index, 1);
	assert_int_equal(s[0].base, 0xd0000000);
	assert_int_equal(s[0].gsi, 16);
	assert_int_equal(s[1].kind, VIRTIO_MMIO_DEV_BLK);
	assert_int_equal(s[1].index, 2);
	assert_int_equal(s[1].base, 0xd0001000);
	assert_int_equal(s[1].gsi, 17);
	assert_int_equal(s[2].kind, VIRTIO_MMIO_DEV_RNG);
	assert_int_equal(s[2].base, 0xd0002000);
	assert_int_equal(s[2].gsi, 18);

	/* every slot, then one device too many */
	cfg.nr_disks = CONFIG_MAX_DISKS;
	for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++)
		cfg.disks[i].transport = VIRTIO_TRANSPORT_MMIO;
	cfg.rng = false;
	assert_int_equal(virtio_mmio_slots(&cfg, s), VIRTIO_MMIO_SLOTS);
	assert_int_equal(s[7].base, 0xd0007000);
	assert_int_equal(s[7].gsi, 23);
	cfg.rng = true;
	assert_int_equal(virtio_mmio_slots(&cfg, s), -ENOSPC);
}

static void layout(void **state)
{
	(void)state;
	/* above the PCI BAR window, below the IOAPIC, pins the IOAPIC has */
	assert_true(VIRTIO_MMIO_SLOT_BASE(0) >= 0xd0000000ULL);
	assert_true(VIRTIO_MMIO_SLOT_BASE(VIRTIO_MMIO_SLOTS - 1) +
			    VIRTIO_MMIO_SIZE <= IOAPIC_ADDR);
	assert_true(VIRTIO_MMIO_SIZE <= VIRTIO_MMIO_STRIDE);
	assert_true(VIRTIO_MMIO_SLOT_GSI(0) >= 16);
	assert_true(VIRTIO_MMIO_SLOT_GSI(VIRTIO_MMIO_SLOTS - 1) < IOAPIC_PINS);
}

static void init_args(void **state)
{
	struct rec *r = *state;

	assert_int_equal(virtio_mmio_init(NULL, &r->d, (struct irq_line){ 0 }),
			 -EINVAL);
	assert_int_equal(virtio_mmio_init(&r->m, NULL, (struct irq_line){ 0 }),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identity, setup, teardown),
		cmocka_unit_test_setup_teardown(features, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_programming, setup, teardown),
		cmocka_unit_test_setup_teardown(notify, setup, teardown),
		cmocka_unit_test_setup_teardown(status_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(config_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(narrow_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(init_args, setup, teardown),
		cmocka_unit_test(slots),
		cmocka_unit_test(layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
