/*
 * PIO and MMIO dispatch through petrel's buses: a test device on vm->pio
 * and one on vm->mmio see every guest access with the offset inside their
 * range (not the absolute address), the access size (1/2/4 for PIO,
 * 1/2/4/8 for MMIO) and the value; guest reads get exactly what the device
 * returned. Unclaimed addresses, and an access that runs past the end of a
 * device, read as all-ones and bump the bus's unclaimed counters.
 */
#define PIO_BASE 0x520
#define PIO_LEN 8
#define PIO_NOBODY 0x530
#define MMIO_BASE 0xd0000000ULL
#define MMIO_LEN 0x1000
#define MMIO_NOBODY 0xd0100000ULL

/* What the test devices return for a read at `off` (before truncation). */
static inline unsigned long long dev_value(unsigned long long off)
{
	return 0x1122334455667788ULL ^ (off * 0x0101010101010101ULL);
}

#ifdef GUEST
#include "guest.h"

#define TRUNC(v, size) ((size) == 8 ? (v) : (v) & ((1ULL << (8 * (size))) - 1))

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;

	outb(PIO_BASE + 0, 0xa1);
	outw(PIO_BASE + 2, 0xb2c3);
	outl(PIO_BASE + 4, 0xd4e5f607);
	outb(PIO_BASE + 7, 0x18);
	GUEST_ASSERT_EQ(inb(PIO_BASE + 1), TRUNC(dev_value(1), 1));
	GUEST_ASSERT_EQ(inw(PIO_BASE + 6), TRUNC(dev_value(6), 2));
	GUEST_ASSERT_EQ(inl(PIO_BASE + 4), TRUNC(dev_value(4), 4));

	mmio_write8(MMIO_BASE + 0x10, 0x11);
	mmio_write16(MMIO_BASE + 0x22, 0x2233);
	mmio_write32(MMIO_BASE + 0x44, 0x44556677);
	mmio_write64(MMIO_BASE + 0x88, 0x8899aabbccddeeffULL);
	GUEST_ASSERT_EQ(mmio_read8(MMIO_BASE + 0x18), TRUNC(dev_value(0x18), 1));
	GUEST_ASSERT_EQ(mmio_read16(MMIO_BASE + 0x2a), TRUNC(dev_value(0x2a), 2));
	GUEST_ASSERT_EQ(mmio_read32(MMIO_BASE + 0x4c), TRUNC(dev_value(0x4c), 4));
	GUEST_ASSERT_EQ(mmio_read64(MMIO_BASE + 0xff8), dev_value(0xff8));

	/* nobody there: all-ones, counted as unclaimed */
	GUEST_ASSERT_EQ(inb(PIO_NOBODY), 0xff);
	GUEST_ASSERT_EQ(inw(PIO_NOBODY), 0xffff);
	GUEST_ASSERT_EQ(inl(PIO_NOBODY), 0xffffffff);
	GUEST_ASSERT_EQ(inl(PIO_BASE + 6), 0xffffffff); /* runs past the device */
	outb(PIO_NOBODY, 0x55);
	GUEST_ASSERT_EQ(mmio_read64(MMIO_NOBODY), ~0ULL);
	GUEST_ASSERT_EQ(mmio_read32(MMIO_NOBODY + 4), 0xffffffff);
	mmio_write32(MMIO_NOBODY, 0x12345678);
	GUEST_SYNC(1);
}

#else
#include <stdio.h>
#include <string.h>

#include "kit.h"

struct access {
	char bus; /* 'p' or 'm' */
	char dir; /* 'r' or 'w' */
	uint64_t offset;
	unsigned size;
	uint64_t value; /* written value; for reads, what the device returned */
};

struct testdev {
	char bus;
	struct access log[32];
	unsigned n;
};

static void record(struct testdev *d, char dir, uint64_t off, unsigned size, uint64_t v)
{
	if (d->n < 32)
		d->log[d->n] = (struct access){ d->bus, dir, off, size, v };
	d->n++;
}

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	uint64_t v = dev_value(off);
	record(opaque, 'r', off, size, v);
	return v; /* the bus truncates to size */
}

static void dev_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	record(opaque, 'w', off, size, value);
}

static const struct bus_dev_ops dev_ops = { dev_read, dev_write };

static void check_log(struct kit_vm *k, const struct testdev *d,
		      const struct access *want, unsigned n)
{
	KIT_CHECK_EQ(k, d->n, n);
	for (unsigned i = 0; i < n && i < d->n; i++) {
		const struct access *a = &d->log[i], *w = &want[i];
		if (a->dir != w->dir || a->offset != w->offset || a->size != w->size ||
		    (w->dir == 'w' && a->value != w->value))
			kit_fail(k, "%cio access %u: got %c off=0x%llx size=%u val=0x%llx, "
				 "want %c off=0x%llx size=%u val=0x%llx", d->bus, i, a->dir,
				 (unsigned long long)a->offset, a->size,
				 (unsigned long long)a->value, w->dir,
				 (unsigned long long)w->offset, w->size,
				 (unsigned long long)w->value);
	}
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	(void)v;
	*(int *)k->opts.opaque = (int)uc->args[0];
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	struct testdev pio = { .bus = 'p' }, mmio = { .bus = 'm' };
	int stage = 0;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .on_ucall = on_ucall, .opaque = &stage };
	uint64_t ur0, uw0, mr0, mw0;
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, bus_insert(&k.vm.pio, PIO_BASE, PIO_LEN, &dev_ops, &pio, "testdev"), 0);
	KIT_CHECK_EQ(&k, bus_insert(&k.vm.mmio, MMIO_BASE, MMIO_LEN, &dev_ops, &mmio, "testdev"), 0);
	ur0 = atomic_load(&k.vm.pio.unclaimed_reads);
	uw0 = atomic_load(&k.vm.pio.unclaimed_writes);
	mr0 = atomic_load(&k.vm.mmio.unclaimed_reads);
	mw0 = atomic_load(&k.vm.mmio.unclaimed_writes);

	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, stage, 1);

	static const struct access want_pio[] = {
		{ 'p', 'w', 0, 1, 0xa1 },
		{ 'p', 'w', 2, 2, 0xb2c3 },
		{ 'p', 'w', 4, 4, 0xd4e5f607 },
		{ 'p', 'w', 7, 1, 0x18 },
		{ 'p', 'r', 1, 1, 0 },
		{ 'p', 'r', 6, 2, 0 },
		{ 'p', 'r', 4, 4, 0 },
	};
	static const struct access want_mmio[] = {
		{ 'm', 'w', 0x10, 1, 0x11 },
		{ 'm', 'w', 0x22, 2, 0x2233 },
		{ 'm', 'w', 0x44, 4, 0x44556677 },
		{ 'm', 'w', 0x88, 8, 0x8899aabbccddeeffULL },
		{ 'm', 'r', 0x18, 1, 0 },
		{ 'm', 'r', 0x2a, 2, 0 },
		{ 'm', 'r', 0x4c, 4, 0 },
		{ 'm', 'r', 0xff8, 8, 0 },
	};
	check_log(&k, &pio, want_pio, sizeof(want_pio) / sizeof(want_pio[0]));
	check_log(&k, &mmio, want_mmio, sizeof(want_mmio) / sizeof(want_mmio[0]));
	KIT_CHECK_EQ(&k, atomic_load(&k.vm.pio.unclaimed_reads) - ur0, 4);
	KIT_CHECK_EQ(&k, atomic_load(&k.vm.pio.unclaimed_writes) - uw0, 1);
	KIT_CHECK_EQ(&k, atomic_load(&k.vm.mmio.unclaimed_reads) - mr0, 2);
	KIT_CHECK_EQ(&k, atomic_load(&k.vm.mmio.unclaimed_writes) - mw0, 1);
	return kit_finish(&k);
}
#endif
