/*
 * Hostile guest, part 2: a virtio driver that lies. Two virtio-blk disks on
 * virtio-pci ("hostile0", "hostile1") and the virtio-rng on virtio-mmio;
 * the guest drives queue 0 of blk0 and of the rng with kit/guest_virtio.h.
 *
 * 1. Rings petrel must refuse at DRIVER_OK: descriptor table past the end
 *    of RAM, in the MMIO hole (on the device's own BAR), wrapping at 2^64;
 *    avail ring straddling the end of RAM; used ring wrapping at 2^64.
 * 2. Chains petrel must refuse when kicked: a buffer past the end of RAM,
 *    in the MMIO hole (the LAPIC page), wrapping at 2^64, running past the
 *    end of RAM; a descriptor loop; a next index outside the table; a
 *    zero-length buffer; an indirect table with more buffers than any
 *    request may have (oversize chain); an indirect table inside another;
 *    an avail index 1000 entries ahead of the device.
 *    Each must end with NEEDS_RESET in the device status (virtio 1.2,
 *    2.1.2: the device's way to tell the driver it got something it cannot
 *    recover from), and petrel must say what it refused: one stderr line
 *    each for the first VIRTIO_MAX_RESET_WARNINGS (8) per device, then one
 *    "only counted" line, and --stats gives the count. A storm of
 *    STORM more refusals on the rng must add no stderr line.
 * 3. After every attack a reset and a well-formed request work: blk's
 *    GET_ID returns the serial with status OK in the used ring, a read past
 *    the end of the disk comes back as VIRTIO_BLK_S_IOERR in the used ring
 *    (a bad request, not a bad chain: no reset), the rng fills 64 bytes.
 * 4. BARs reprogrammed with memory decode on: blk1's BAR over blk0's, over
 *    RAM, over the LAPIC page, and at the top of the 64-bit space (base +
 *    size = 2^64). Each time blk0 still answers at its own BAR, RAM stays
 *    RAM, the LAPIC stays the LAPIC; blk1's BAR moved back works again.
 * The host also checks fds and heap before the VM and after it (kit.h).
 */
#define RAM_SIZE (64ULL << 20)
#define REGION_BLK0 0x500000ULL
#define REGION_RNG 0x540000ULL
#define REGION_BLK1 0x580000ULL
#define RAM_PROBE 0x600000ULL
#define QSIZE 16
#define STORM 100
#define STAGE_DMA 1
#define STAGE_BARS 2

#ifdef GUEST
#include "guest_virtio.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_MMIO_WINDOW 0xd0000000ULL
#define BLK_T_IN 0
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1

static unsigned refused; /* attacks that ended in NEEDS_RESET, on the device at hand */

/* Queue 0 of d with its rings in `region` (desc, avail, used a page apart). */
static void use_region(struct gv_dev *d, uint64_t region)
{
	d->qsize = QSIZE;
	d->desc = region;
	d->avail = region + 0x1000;
	d->used = region + 0x2000;
	memset((void *)region, 0, 0x4000);
}

static void expect_refused_at_start(struct gv_dev *d, uint64_t region, uint64_t desc,
				    uint64_t avail, uint64_t used)
{
	use_region(d, region);
	if (desc)
		d->desc = desc;
	if (avail)
		d->avail = avail;
	if (used)
		d->used = used;
	(void)gv_setup(d);
	GUEST_ASSERT(gv_wait_needs_reset(d));
	refused++;
}

/* A fresh queue in region, ready: the attack then writes descriptors. */
static struct gv_desc *fresh(struct gv_dev *d, uint64_t region)
{
	use_region(d, region);
	GUEST_ASSERT_EQ(gv_setup(d), GV_S_ACK | GV_S_DRIVER | GV_S_FEATURES_OK | GV_S_DRIVER_OK);
	return gv_descs(d);
}

static void expect_refused(struct gv_dev *d)
{
	GUEST_ASSERT(gv_wait_needs_reset(d));
	refused++;
}

static void chain_attacks(struct gv_dev *d, uint64_t region)
{
	uint64_t data = region + 0x3000, table = region + 0x8000;
	struct gv_desc *t;

	/* one bad buffer as the whole chain */
	static const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ RAM_SIZE, 512 },                     /* past the end of RAM */
		{ 0xfee00000ULL, 64 },                 /* the LAPIC page (MMIO hole) */
		{ 0xffffffffffffff00ULL, 0x200 },      /* wraps at 2^64 */
		{ RAM_SIZE - 0x100, 0x200 },           /* runs past the end of RAM */
		{ 0x3000, 0 },                         /* zero length */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = fresh(d, region);
		t[0] = (struct gv_desc){ bad[i].addr, bad[i].len, GV_DESC_WRITE, 0 };
		gv_post(d, 0);
		expect_refused(d);
	}

	/* a loop: 0 -> 1 -> 0 */
	t = fresh(d, region);
	t[0] = (struct gv_desc){ data, 16, GV_DESC_WRITE | GV_DESC_NEXT, 1 };
	t[1] = (struct gv_desc){ data + 16, 16, GV_DESC_WRITE | GV_DESC_NEXT, 0 };
	gv_post(d, 0);
	expect_refused(d);

	/* next outside the table */
	t = fresh(d, region);
	t[0] = (struct gv_desc){ data, 16, GV_DESC_WRITE | GV_DESC_NEXT, QSIZE + 3 };
	gv_post(d, 0);
	expect_refused(d);

	/* an oversize chain: 2048 one-byte buffers through an indirect table */
	t = fresh(d, region);
	struct gv_desc *it = (struct gv_desc *)table;
	for (unsigned i = 0; i < 2048; i++)
		it[i] = (struct gv_desc){ data + i, 1, GV_DESC_WRITE | GV_DESC_NEXT,
					  (uint16_t)(i + 1) };
	it[2047].flags = GV_DESC_WRITE;
	t[0] = (struct gv_desc){ table, 2048 * 16, GV_DESC_INDIRECT, 0 };
	gv_post(d, 0);
	expect_refused(d);

	/* an indirect table inside an indirect table */
	t = fresh(d, region);
	it[0] = (struct gv_desc){ table + 0x100, 16, GV_DESC_INDIRECT, 0 };
	it[0x10] = (struct gv_desc){ data, 16, GV_DESC_WRITE, 0 };
	t[0] = (struct gv_desc){ table, 16, GV_DESC_INDIRECT, 0 };
	gv_post(d, 0);
	expect_refused(d);

	/* the avail index 1000 entries ahead of the device */
	t = fresh(d, region);
	t[0] = (struct gv_desc){ data, 16, GV_DESC_WRITE, 0 };
	gv_post_raw_idx(d, 1000);
	expect_refused(d);
}

static void ring_attacks(struct gv_dev *d, uint64_t region, uint64_t own_window)
{
	expect_refused_at_start(d, region, RAM_SIZE, 0, 0);
	expect_refused_at_start(d, region, own_window, 0, 0);
	expect_refused_at_start(d, region, 0xffffffffffffff80ULL, 0, 0);
	expect_refused_at_start(d, region, 0, RAM_SIZE - 2, 0);
	expect_refused_at_start(d, region, 0, 0, 0xffffffffffffff00ULL);
}

/* GET_ID on a blk device: the serial, with status OK in the used ring. */
static void blk_get_id(struct gv_dev *d, uint64_t region, const char *want)
{
	struct gv_desc *t = fresh(d, region);
	uint64_t hdr = region + 0x3000, buf = region + 0x3100, st = region + 0x3200;
	uint32_t id, len;

	memset((void *)buf, 0, 32);
	*(volatile uint8_t *)st = 0xff;
	((uint32_t *)hdr)[0] = BLK_T_GET_ID;
	((uint32_t *)hdr)[1] = 0;
	((uint64_t *)hdr)[1] = 0;
	t[0] = (struct gv_desc){ hdr, 16, GV_DESC_NEXT, 1 };
	t[1] = (struct gv_desc){ buf, 20, GV_DESC_WRITE | GV_DESC_NEXT, 2 };
	t[2] = (struct gv_desc){ st, 1, GV_DESC_WRITE, 0 };
	gv_post(d, 0);
	GUEST_ASSERT(gv_wait_used(d, &id, &len));
	GUEST_ASSERT_EQ(id, 0);
	GUEST_ASSERT_EQ(*(volatile uint8_t *)st, BLK_S_OK);
	GUEST_ASSERT_EQ(memcmp((void *)buf, want, strlen(want) + 1), 0);
	GUEST_ASSERT_EQ(gv_status(d) & GV_S_NEEDS_RESET, 0);
}

/* A read past the end of the disk: IOERR in the status byte, no reset. */
static void blk_read_past_end(struct gv_dev *d, uint64_t region)
{
	struct gv_desc *t = fresh(d, region);
	uint64_t hdr = region + 0x3000, buf = region + 0x3400, st = region + 0x3200;
	uint32_t id, len;

	*(volatile uint8_t *)st = 0xff;
	((uint32_t *)hdr)[0] = BLK_T_IN;
	((uint32_t *)hdr)[1] = 0;
	((uint64_t *)hdr)[1] = 1ULL << 40;
	t[0] = (struct gv_desc){ hdr, 16, GV_DESC_NEXT, 1 };
	t[1] = (struct gv_desc){ buf, 512, GV_DESC_WRITE | GV_DESC_NEXT, 2 };
	t[2] = (struct gv_desc){ st, 1, GV_DESC_WRITE, 0 };
	gv_post(d, 0);
	GUEST_ASSERT(gv_wait_used(d, &id, &len));
	GUEST_ASSERT_EQ(id, 0);
	GUEST_ASSERT_EQ(*(volatile uint8_t *)st, BLK_S_IOERR);
	GUEST_ASSERT_EQ(gv_status(d) & GV_S_NEEDS_RESET, 0);
}

static void rng_fill(struct gv_dev *d, uint64_t region)
{
	struct gv_desc *t = fresh(d, region);
	uint32_t id, len;

	t[0] = (struct gv_desc){ region + 0x3000, 64, GV_DESC_WRITE, 0 };
	gv_post(d, 0);
	GUEST_ASSERT(gv_wait_used(d, &id, &len));
	GUEST_ASSERT_EQ(id, 0);
	GUEST_ASSERT_EQ(len, 64);
}

/* blk1's BAR at `at` with decode on; blk0 and what was at `at` still work. */
static void bar_over(struct gv_dev *blk0, struct gv_dev *blk1, uint64_t at, uint64_t home)
{
	gv_pci_set_bar0(blk1->pci_slot, at);
	blk_get_id(blk0, REGION_BLK0, "hostile0");
	GUEST_ASSERT_EQ(*(volatile uint64_t *)RAM_PROBE, 0x0123456789abcdefULL);
	*(volatile uint64_t *)RAM_PROBE = 0xfedcba9876543210ULL;
	GUEST_ASSERT_EQ(*(volatile uint64_t *)RAM_PROBE, 0xfedcba9876543210ULL);
	*(volatile uint64_t *)RAM_PROBE = 0x0123456789abcdefULL;
	GUEST_ASSERT_EQ(lapic_id(), 0);
	gv_pci_set_bar0(blk1->pci_slot, home);
	GUEST_ASSERT_EQ(gv_pci_bar0(blk1->pci_slot), home);
	blk_get_id(blk1, REGION_BLK1, "hostile1");
}

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	int s0 = gv_pci_find(VIRTIO_ID_BLOCK, 0), s1 = gv_pci_find(VIRTIO_ID_BLOCK, 1);
	struct gv_dev blk0 = { .pci = true }, blk1 = { .pci = true };
	struct gv_dev rng = { .pci = false, .base = VIRTIO_MMIO_WINDOW };
	(void)a0, (void)a1, (void)a2, (void)a3;

	GUEST_ASSERT(s0 >= 0 && s1 >= 0);
	blk0.pci_slot = (unsigned)s0;
	blk0.base = gv_pci_bar0(blk0.pci_slot);
	blk1.pci_slot = (unsigned)s1;
	blk1.base = gv_pci_bar0(blk1.pci_slot);
	GUEST_ASSERT_EQ(mmio_read32(VIRTIO_MMIO_WINDOW + 8), 4); /* entropy */

	blk_get_id(&blk0, REGION_BLK0, "hostile0");
	blk_get_id(&blk1, REGION_BLK1, "hostile1");
	rng_fill(&rng, REGION_RNG);

	unsigned refused_blk, refused_rng;

	ring_attacks(&blk0, REGION_BLK0, blk0.base);
	blk_get_id(&blk0, REGION_BLK0, "hostile0");
	chain_attacks(&blk0, REGION_BLK0);
	blk_get_id(&blk0, REGION_BLK0, "hostile0");
	blk_read_past_end(&blk0, REGION_BLK0);
	blk_get_id(&blk0, REGION_BLK0, "hostile0");
	refused_blk = refused;

	refused = 0;
	ring_attacks(&rng, REGION_RNG, VIRTIO_MMIO_WINDOW);
	rng_fill(&rng, REGION_RNG);
	chain_attacks(&rng, REGION_RNG);
	rng_fill(&rng, REGION_RNG);
	for (unsigned i = 0; i < STORM; i++)
		expect_refused_at_start(&rng, REGION_RNG, RAM_SIZE, 0, 0);
	rng_fill(&rng, REGION_RNG);
	refused_rng = refused;
	GUEST_SYNC(STAGE_DMA, refused_blk, refused_rng);

	*(volatile uint64_t *)RAM_PROBE = 0x0123456789abcdefULL;
	bar_over(&blk0, &blk1, blk0.base, blk1.base);
	bar_over(&blk0, &blk1, RAM_PROBE & ~0x7fffULL, blk1.base);
	bar_over(&blk0, &blk1, 0xfee00000ULL, blk1.base);
	bar_over(&blk0, &blk1, 0xffffffffffff8000ULL, blk1.base);
	bar_over(&blk0, &blk1, 0, blk1.base);
	GUEST_SYNC(STAGE_BARS);
}

#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "petrel/exitcode.h"

struct state {
	char disk[2][64];
	int stage;
	uint64_t refused_blk, refused_rng;
};

static void configure(struct kit_vm *k, struct vm_config *cfg)
{
	struct state *s = k->opts.opaque;

	cfg->nr_disks = 2;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(cfg->disks[i].path, sizeof(cfg->disks[i].path), "%s", s->disk[i]);
		snprintf(cfg->disks[i].serial, sizeof(cfg->disks[i].serial), "hostile%u", i);
		cfg->disks[i].transport = VIRTIO_TRANSPORT_PCI;
	}
	cfg->rng = true;
	cfg->rng_transport = VIRTIO_TRANSPORT_MMIO;
	cfg->stats = true; /* the NEEDS_RESET counts, on stderr when the VM stops */
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct state *s = k->opts.opaque;
	(void)v;

	if ((int)uc->args[0] != s->stage + 1)
		return kit_fail_stop(k, "stage %llu after stage %d",
				     (unsigned long long)uc->args[0], s->stage);
	s->stage = (int)uc->args[0];
	if (s->stage == STAGE_DMA) {
		s->refused_blk = uc->args[1];
		s->refused_rng = uc->args[2];
	}
	return KIT_CONTINUE;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* --stats' line for dev says NEEDS_RESET n times. */
static void check_stat(struct kit_vm *k, const char *dev, uint64_t n)
{
	char want[64];
	const char *line = k->stderr_out ? strstr(k->stderr_out, dev) : NULL;
	const char *end = line ? strchr(line, '\n') : NULL;

	snprintf(want, sizeof(want), ", NEEDS_RESET %llu times", (unsigned long long)n);
	if (!line || !end || !memmem(line, (size_t)(end - line), want, strlen(want)))
		kit_fail(k, "no stats line for %s with \"%s\"", dev, want);
}

int main(void)
{
	struct kit_vm k;
	struct state s = { .disk = { "/tmp/petrel-hostile-XXXXXX", "/tmp/petrel-hostile-XXXXXX" } };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .on_ucall = on_ucall, .opaque = &s,
			      .configure = configure, .capture_stderr = true,
			      .mem_size = RAM_SIZE };
	struct kit_usage before;
	int r;

	if (kit_scratch_disk(s.disk[0], 1 << 20) < 0)
		return 1;
	if (kit_scratch_disk(s.disk[1], 1 << 20) < 0) {
		unlink(s.disk[0]);
		return 1;
	}
	kit_usage_now(&before);
	r = kit_vm_create(&k, &o);
	unlink(s.disk[0]);
	unlink(s.disk[1]);
	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, kit_run(&k), EXIT_GUEST_OFF);
	KIT_CHECK_EQ(&k, s.stage, STAGE_BARS);
	/* 5 ring and 10 chain attacks on each of the two devices, the storm on the rng */
	KIT_CHECK_EQ(&k, s.refused_blk, 5 + 10);
	KIT_CHECK_EQ(&k, s.refused_rng, 5 + 10 + STORM);
	/* per device: the first 8 said why (the 5 rings, 3 chains), then "only counted" */
	KIT_CHECK_EQ(&k, count(k.stderr_out, "the device needs a reset by the driver"), 2 * 8);
	KIT_CHECK_EQ(&k, count(k.stderr_out, "is not in guest RAM"), 2 * 5);
	KIT_CHECK_EQ(&k, count(k.stderr_out, "a malformed descriptor chain"), 2 * 3);
	KIT_CHECK_EQ(&k, count(k.stderr_out, "further malformed requests are only counted"), 2);
	check_stat(&k, "virtio-blk0 (virtio-pci)", s.refused_blk);
	check_stat(&k, "virtio-rng0 (virtio-mmio)", s.refused_rng);
	return kit_finish_usage(&k, &before, 64 * 1024);
}
#endif
