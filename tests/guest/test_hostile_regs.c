/*
 * Hostile guest, part 1: garbage in every device register petrel maps.
 *
 * The host lists every range on the PIO and MMIO buses (bus_report: UART,
 * i8042, RTC, PCI host, ACPI PM, PM timer, boot marker, POST, debug exit, and in split
 * mode the PIC, PIT and IOAPIC; a virtio-rng on virtio-pci and a virtio-blk
 * on virtio-mmio give their windows too) and hands the table to the guest,
 * which then (with --debug-exit at 0xf4 too: its port ends the VM, so
 * only its other three ports get garbage)
 *   1. writes pseudo-random values of every width at every offset of each
 *      MMIO window (the first 0x100 bytes of each page: the virtio-pci BAR
 *      is 32 KiB) and reads each back, accesses that run past a range's
 *      end included;
 *   2. does the same to every port of every PIO range, eight rounds;
 *   3. writes garbage to all 256 bytes of config space of every PCI
 *      function through 0xcf8/0xcfc (BARs land anywhere, MSI-X turns on);
 *   4. checks the devices still answer: UART scratch round trip, every
 *      function's vendor/device ID unchanged, CMOS RAM round trip, the
 *      virtio-mmio magic, version and device ID, the PM timer running, the
 *      8259's mask and an IOAPIC entry reading back;
 *   5. resets the machine through the i8042 (0xfe to port 0x64): petrel
 *      must stop the VM with its report, status 0, "reset (i8042)".
 * The host checks that every listed range was written to (MMIO after step
 * 1: the PCI garbage may take a BAR off the bus), how the VM
 * stopped, and that the process has the same fds and (within a few KiB)
 * the same heap before the VM was created and after it was destroyed.
 *
 * What the guest leaves alone, because the hardware it models would do the
 * same to a real machine and the test needs the vCPU afterwards: values that
 * power off or reset the machine (i8042 pulse/output-port commands, 0xcf9
 * bit 2, ACPI SLP_EN) until step 5, and NMI/SMI/INIT delivery modes in
 * interrupt messages (IOAPIC redirection entries, MSI-X table data), which
 * are cleared to "fixed": IF stays 0, so fixed interrupts only pend.
 */
#define RANGES_GPA 0x400000ULL
#define MAX_RANGES 64
#define MMIO_PAGE_SPAN 0x100 /* bytes attacked at the start of each MMIO page */
#define PIO_ROUNDS 8
#define STAGE_BEFORE 1
#define STAGE_MMIO_DONE 2 /* the host checks the MMIO hits now: PCI garbage may unmap BARs */
#define STAGE_ATTACKED 3
#define STAGE_CHECKED 4
#define CMOS_RAM_INDEX 0x40
#define VIRTIO_MMIO_WINDOW 0xd0000000ULL /* slot 0 (layout.h): the disk */

enum range_kind { KIND_PLAIN, KIND_IOAPIC, KIND_VIRTIO_PCI, KIND_DEBUG_EXIT };
#define DEBUG_EXIT_PORT 0xf4

struct hrange {
	unsigned long long base, len;
	unsigned bus; /* 0 PIO, 1 MMIO */
	unsigned kind;
};

#ifdef GUEST
#include "guest.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t garbage(void)
{
	/* xorshift64: deterministic, so a failure reproduces (HOSTILE_SEED picks another) */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Clears bits `clear` of byte `at` (an address) if the access covers it. */
static uint64_t clear_byte_bits(uint64_t addr, unsigned size, uint64_t v,
				uint64_t at, uint8_t clear)
{
	if (at >= addr && at < addr + size)
		v &= ~((uint64_t)clear << (8 * (at - addr)));
	return v;
}

/* The values the guest must not write (see the comment at the top). */
static uint64_t defuse(const struct hrange *r, uint64_t addr, unsigned size, uint64_t v)
{
	if (r->bus == 0) {
		if (addr == 0x64) { /* i8042 commands */
			uint8_t c = (uint8_t)v;
			if (c >= 0xf0)
				c |= 1; /* pulse without the reset bit */
			if (c == 0xd1)
				c = 0xd0; /* write output port -> read output port */
			v = (v & ~0xffULL) | c;
		}
		v = clear_byte_bits(addr, size, v, 0xcf9, 0x04);       /* RST_CPU */
		v = clear_byte_bits(addr, size, v, 0x600 + 5, 0x20);   /* PM1_CNT.SLP_EN */
		return v;
	}
	if (r->kind == KIND_IOAPIC) /* IOWIN: delivery mode is bits 8-10 */
		return clear_byte_bits(addr, size, v, r->base + 0x11, 0x07);
	if (r->kind == KIND_VIRTIO_PCI && addr - r->base >= 0x4000 && addr - r->base < 0x5000) {
		/* an MSI-X entry's data dword is at +8: delivery mode bits 8-10 */
		uint64_t entry = r->base + ((addr - r->base) & ~0xfULL);
		v = clear_byte_bits(addr, size, v, entry + 9, 0x07);
		v = clear_byte_bits(addr, size, v, entry + 16 + 9, 0x07);
	}
	return v;
}

static void pio_access(const struct hrange *r, uint16_t port, unsigned size)
{
	uint64_t v = defuse(r, port, size, garbage());

	/* the debug-exit port itself ends the VM; its other ports must not */
	if (r->kind == KIND_DEBUG_EXIT && port == r->base) {
		GUEST_ASSERT_EQ(inb(port), 0xff); /* write-only */
		return;
	}

	if (size == 1) {
		outb(port, (uint8_t)v);
		(void)inb(port);
	} else if (size == 2) {
		outw(port, (uint16_t)v);
		(void)inw(port);
	} else {
		outl(port, (uint32_t)v);
		(void)inl(port);
	}
}

static void mmio_access(const struct hrange *r, uint64_t a, unsigned size)
{
	uint64_t v = defuse(r, a, size, garbage());

	switch (size) {
	case 1: mmio_write8(a, (uint8_t)v); (void)mmio_read8(a); break;
	case 2: mmio_write16(a, (uint16_t)v); (void)mmio_read16(a); break;
	case 4: mmio_write32(a, (uint32_t)v); (void)mmio_read32(a); break;
	default: mmio_write64(a, v); (void)mmio_read64(a); break;
	}
}

static uint32_t pci_read32(unsigned dev, unsigned reg)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	return inl(0xcfc);
}

static void pci_write32(unsigned dev, unsigned reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	outl(0xcfc, v);
}

static uint8_t cmos_roundtrip(uint8_t v)
{
	outb(0x70, CMOS_RAM_INDEX);
	outb(0x71, v);
	outb(0x70, CMOS_RAM_INDEX);
	return inb(0x71);
}

static uint32_t pm_timer_advances(void)
{
	uint32_t t0 = inl(0x608) & 0xffffff, t1 = t0;

	for (unsigned i = 0; i < 1000 && t1 == t0; i++)
		t1 = inl(0x608) & 0xffffff;
	return t1 != t0;
}

void guest_main(uint64_t nranges, uint64_t seed, uint64_t a2, uint64_t a3)
{
	const struct hrange *rs = (const struct hrange *)RANGES_GPA;
	static const unsigned mmio_widths[] = { 1, 2, 4, 8 };
	uint32_t ids[32];
	(void)a2, (void)a3;

	if (seed)
		rng_state = seed;

	/* before: what must still be true afterwards */
	for (unsigned d = 0; d < 32; d++)
		ids[d] = pci_read32(d, 0);
	GUEST_ASSERT(ids[0] != 0xffffffff); /* the host bridge */
	GUEST_ASSERT_EQ(cmos_roundtrip(0x5a), 0x5a);
	GUEST_ASSERT_EQ(mmio_read32(VIRTIO_MMIO_WINDOW), 0x74726976);
	GUEST_SYNC(STAGE_BEFORE, nranges);

	/* 1. MMIO windows */
	for (unsigned i = 0; i < nranges; i++) {
		const struct hrange *r = &rs[i];
		unsigned n = 0;

		if (r->bus != 1)
			continue;
		for (uint64_t page = 0; page < r->len; page += 0x1000)
			for (uint64_t off = 0; off < MMIO_PAGE_SPAN && page + off < r->len; off++)
				mmio_access(r, r->base + page + off, mmio_widths[n++ % 4]);
	}
	GUEST_SYNC(STAGE_MMIO_DONE);
	/* 2. PIO ranges, every width at every port, a byte past the end too */
	for (unsigned round = 0; round < PIO_ROUNDS; round++)
		for (unsigned i = 0; i < nranges; i++) {
			const struct hrange *r = &rs[i];

			if (r->bus != 0)
				continue;
			for (uint64_t off = 0; off <= r->len; off++)
				for (unsigned size = 1; size <= 4; size *= 2)
					pio_access(r, (uint16_t)(r->base + off), size);
		}
	/* 3. PCI config space of every function present */
	for (unsigned d = 0; d < 32; d++) {
		if (ids[d] == 0xffffffff)
			continue;
		for (unsigned reg = 4; reg < 256; reg += 4) /* the IDs are read-only anyway */
			pci_write32(d, reg, (uint32_t)garbage());
		pci_write32(d, 0, (uint32_t)garbage());
	}
	GUEST_SYNC(STAGE_ATTACKED);

	/* 4. still answering */
	outb(0x3f8 + 3, 0x03); /* LCR: DLAB off, so +7 is the scratch register */
	outb(0x3f8 + 7, 0xa5);
	GUEST_ASSERT_EQ(inb(0x3f8 + 7), 0xa5);
	outb(0x3f8 + 7, 0x5a);
	GUEST_ASSERT_EQ(inb(0x3f8 + 7), 0x5a);
	for (unsigned d = 0; d < 32; d++)
		GUEST_ASSERT_EQ(pci_read32(d, 0), ids[d]);
	GUEST_ASSERT_EQ(cmos_roundtrip(0xc3), 0xc3);
	GUEST_ASSERT_EQ(mmio_read32(VIRTIO_MMIO_WINDOW), 0x74726976);
	GUEST_ASSERT_EQ(mmio_read32(VIRTIO_MMIO_WINDOW + 4), 2); /* version */
	GUEST_ASSERT_EQ(mmio_read32(VIRTIO_MMIO_WINDOW + 8), 2); /* block device */
	GUEST_ASSERT(pm_timer_advances());
	/* the 8259 (petrel's in split mode): re-initialised, its mask reads back */
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0x21, 0xa5);
	GUEST_ASSERT_EQ(inb(0x21), 0xa5);
	/* the IOAPIC (petrel's in split mode): a masked entry reads back */
	ioapic_write(0x10, 0x00010030);
	GUEST_ASSERT_EQ(ioapic_read(0x10) & ~0x5000u, 0x00010030);
	GUEST_SYNC(STAGE_CHECKED);

	/* 5. the one write that ends the machine */
	outb(0x64, 0xfe);
	for (;;)
		cpu_relax();
}

#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "petrel/bus.h"
#include "petrel/exitcode.h"

struct state {
	char disk[64];
	int stage;
	uint64_t nranges;
	struct bus_stat seen[MAX_RANGES]; /* the ranges as listed before the run */
	bool on_mmio[MAX_RANGES];
};

static void check_hit(struct kit_vm *k, const struct state *s, bool mmio);

static void configure(struct kit_vm *k, struct vm_config *cfg)
{
	struct state *s = k->opts.opaque;

	cfg->rng = true;
	cfg->rng_transport = VIRTIO_TRANSPORT_PCI;
	cfg->nr_disks = 1;
	snprintf(cfg->disks[0].path, sizeof(cfg->disks[0].path), "%s", s->disk);
	cfg->disks[0].transport = VIRTIO_TRANSPORT_MMIO;
	cfg->disks[0].io = DISK_IO_SYNC;
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct state *s = k->opts.opaque;
	(void)v;

	if ((int)uc->args[0] != s->stage + 1)
		return kit_fail_stop(k, "stage %llu after stage %d",
				     (unsigned long long)uc->args[0], s->stage);
	s->stage = (int)uc->args[0];
	if (s->stage == STAGE_BEFORE)
		KIT_CHECK_EQ(k, uc->args[1], s->nranges);
	if (s->stage == STAGE_MMIO_DONE)
		check_hit(k, s, true);
	return KIT_CONTINUE;
}

/* Lists both buses into guest RAM; returns how many ranges. */
static unsigned list_ranges(struct kit_vm *k, struct bus_stat *seen, bool *on_mmio,
			    unsigned max)
{
	struct hrange *out = gpa_ptr(&k->vm.mem, RANGES_GPA, MAX_RANGES * sizeof(*out));
	unsigned n = 0;

	for (unsigned b = 0; b < 2; b++) {
		struct bus *bus = b ? &k->vm.mmio : &k->vm.pio;
		struct bus_stat st[MAX_RANGES];
		size_t nr = bus_report(bus, st, MAX_RANGES);

		for (size_t i = 0; i < nr && i < MAX_RANGES && n < max; i++) {
			if (!st[i].name)
				continue; /* an unclaimed address, not a range */
			out[n] = (struct hrange){ st[i].base, st[i].len, b, KIND_PLAIN };
			if (!strcmp(st[i].name, "ioapic"))
				out[n].kind = KIND_IOAPIC;
			else if (!strcmp(st[i].name, "debug-exit"))
				out[n].kind = KIND_DEBUG_EXIT;
			else if (b == 1 && st[i].base >= 0xc0000000ULL && st[i].base < 0xd0000000ULL)
				out[n].kind = KIND_VIRTIO_PCI;
			seen[n] = st[i];
			on_mmio[n] = b;
			fprintf(stderr, "range %u: %s 0x%llx+0x%llx %s\n", n, b ? "mmio" : "pio",
				(unsigned long long)st[i].base, (unsigned long long)st[i].len,
				st[i].name);
			n++;
		}
	}
	return n;
}

/*
 * Every range of one bus listed before the run was written to (a moved
 * range keeps its count; one taken off the bus is not listed, so MMIO is
 * checked before the PCI garbage).
 */
static void check_hit(struct kit_vm *k, const struct state *s, bool mmio)
{
	struct bus_stat st[MAX_RANGES];
	size_t nr = bus_report(mmio ? &k->vm.mmio : &k->vm.pio, st, MAX_RANGES);

	for (unsigned i = 0; i < s->nranges; i++) {
		bool hit = false;

		if (s->on_mmio[i] != mmio)
			continue;
		for (size_t j = 0; j < nr && j < MAX_RANGES; j++)
			if (st[j].name && !strcmp(st[j].name, s->seen[i].name) &&
			    st[j].base == s->seen[i].base && st[j].writes > 0)
				hit = true;
		if (!hit)
			kit_fail(k, "range %s at 0x%llx saw no write", s->seen[i].name,
				 (unsigned long long)s->seen[i].base);
	}
}

int main(void)
{
	struct kit_vm k;
	struct state s = { .disk = "/tmp/petrel-hostile-XXXXXX" };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .on_ucall = on_ucall, .opaque = &s,
			      .configure = configure, .capture_stderr = true,
			      .debug_exit_port = DEBUG_EXIT_PORT };
	struct kit_usage before;
	int r, status;
	unsigned n;

	if (kit_scratch_disk(s.disk, 1 << 20) < 0)
		return 1;
	kit_usage_now(&before);
	r = kit_vm_create(&k, &o);
	unlink(s.disk);
	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	n = list_ranges(&k, s.seen, s.on_mmio, MAX_RANGES);
	s.nranges = n;
	k.opts.args[0] = n; /* RSI of the BSP, set again below */
	/* HOSTILE_SEED=N: another garbage sequence (0 or unset: the fixed one) */
	k.opts.args[1] = getenv("HOSTILE_SEED") ? strtoull(getenv("HOSTILE_SEED"), NULL, 0) : 0;
	fprintf(stderr, "garbage seed %llu\n", (unsigned long long)k.opts.args[1]);
	KIT_CHECK_EQ(&k, kit_enter_long_mode(&k, &k.vm.vcpus[0], 0, k.elf.entry), 0);

	status = kit_run(&k);
	KIT_CHECK_EQ(&k, status, EXIT_GUEST_OFF);
	KIT_CHECK_EQ(&k, s.stage, STAGE_CHECKED);
	if (!strstr(k.vm.stop.reason, "reset (i8042)"))
		kit_fail(&k, "the VM stopped with \"%s\", not the i8042 reset", k.vm.stop.reason);
	check_hit(&k, &s, false);
	return kit_finish_usage(&k, &before, 64 * 1024);
}
#endif
