#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "petrel/ioapic.h"

#define MAX_EV 64

struct msg {
	unsigned pin;
	uint64_t addr;
	uint32_t data;
	bool masked;
};

struct fx {
	struct ioapic io;
	struct msg dl[MAX_EV]; /* deliveries */
	unsigned ndl;
	struct msg rt[MAX_EV]; /* route_changed calls */
	unsigned nrt;
};

static void rec_deliver(void *opaque, unsigned pin, uint64_t addr, uint32_t data)
{
	struct fx *f = opaque;

	assert_true(f->ndl < MAX_EV);
	f->dl[f->ndl++] = (struct msg){ pin, addr, data, false };
}

static void rec_route(void *opaque, unsigned pin, uint64_t addr, uint32_t data,
		      bool masked)
{
	struct fx *f = opaque;

	assert_true(f->nrt < MAX_EV);
	f->rt[f->nrt++] = (struct msg){ pin, addr, data, masked };
}

static const struct ioapic_ops rec_ops = { rec_deliver, rec_route };

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	ioapic_init(&f->io, 4, &rec_ops, f);
	f->nrt = 0; /* the reset's calls are checked in test_reset_routes */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
	ioapic_mmio_ops.write(&f->io, off, v, 4);
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	return (uint32_t)ioapic_mmio_ops.read(&f->io, off, 4);
}

static void reg_wr(struct fx *f, unsigned idx, uint32_t v)
{
	wr(f, IOAPIC_IOREGSEL, idx);
	wr(f, IOAPIC_IOWIN, v);
}

static uint32_t reg_rd(struct fx *f, unsigned idx)
{
	wr(f, IOAPIC_IOREGSEL, idx);
	return rd(f, IOAPIC_IOWIN);
}

/* Program entry pin as the guest does: high half first, then the low half. */
static void program(struct fx *f, unsigned pin, uint64_t e)
{
	reg_wr(f, IOAPIC_REG_REDIR + 2 * pin + 1, (uint32_t)(e >> 32));
	reg_wr(f, IOAPIC_REG_REDIR + 2 * pin, (uint32_t)e);
}

#define DEST(id) ((uint64_t)(id) << IOAPIC_RTE_DEST_SHIFT)

static void test_reset_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(reg_rd(f, IOAPIC_REG_ID), 4u << 24);
	assert_int_equal(reg_rd(f, IOAPIC_REG_VER), 0x00170020);
	assert_int_equal(reg_rd(f, IOAPIC_REG_ARB), 4u << 24);
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 2 * pin), 1u << 16);
		assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 2 * pin + 1), 0);
		assert_int_equal(ioapic_redir(&f->io, pin), IOAPIC_RTE_MASKED);
	}
	/* past the table, and an index past it, read 0 */
	assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 2 * IOAPIC_NR_PINS), 0);
	assert_int_equal(reg_rd(f, 0x03), 0);
	assert_int_equal(reg_rd(f, 0xff), 0);
	assert_int_equal(ioapic_redir(&f->io, IOAPIC_NR_PINS), 0);
}

static void test_reset_routes(void **state)
{
	struct fx *f = *state;

	ioapic_set_irq(&f->io, 5, 1);
	program(f, 3, DEST(1) | 0x41);
	reg_wr(f, IOAPIC_REG_ID, 9u << 24);
	f->nrt = 0;
	ioapic_reset(&f->io);
	assert_int_equal(f->nrt, IOAPIC_NR_PINS);
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		assert_int_equal(f->rt[pin].pin, pin);
		assert_true(f->rt[pin].masked);
	}
	assert_int_equal(ioapic_redir(&f->io, 3), IOAPIC_RTE_MASKED);
	assert_int_equal(reg_rd(f, IOAPIC_REG_ID), 4u << 24);
	/* the devices' line levels survive a reset */
	assert_true(ioapic_line(&f->io, 5));
	assert_false(ioapic_line(&f->io, 4));
	assert_false(ioapic_line(&f->io, 99));
	assert_int_equal(f->ndl, 0);
}

static void test_id_register(void **state)
{
	struct fx *f = *state;

	reg_wr(f, IOAPIC_REG_ID, 0x12345678);
	assert_int_equal(reg_rd(f, IOAPIC_REG_ID), 0x12000000);
	/* VER and ARB are read-only */
	reg_wr(f, IOAPIC_REG_VER, 0);
	reg_wr(f, IOAPIC_REG_ARB, 0);
	assert_int_equal(reg_rd(f, IOAPIC_REG_VER), 0x00170020);
	assert_int_equal(reg_rd(f, IOAPIC_REG_ARB), 0x12000000);
	/* IOREGSEL keeps 8 bits */
	wr(f, IOAPIC_IOREGSEL, 0xabcd01);
	assert_int_equal(rd(f, IOAPIC_IOREGSEL), 0x01);
}

static void test_redir_halves(void **state)
{
	struct fx *f = *state;

	/* all ones into both halves of entry 7: only the writable bits stick */
	reg_wr(f, IOAPIC_REG_REDIR + 15, 0xffffffff);
	assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 15), 0xff000000);
	reg_wr(f, IOAPIC_REG_REDIR + 14, 0xffffffff);
	assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 14), 0x1afff);
	assert_int_equal(ioapic_redir(&f->io, 7), 0xff0000000001afffULL);
	/* each half changes alone */
	reg_wr(f, IOAPIC_REG_REDIR + 15, 0x03000000);
	assert_int_equal(ioapic_redir(&f->io, 7), 0x030000000001afffULL);
	reg_wr(f, IOAPIC_REG_REDIR + 14, 0x10031);
	assert_int_equal(ioapic_redir(&f->io, 7), 0x0300000000010031ULL);
	/* neighbours untouched */
	assert_int_equal(ioapic_redir(&f->io, 6), IOAPIC_RTE_MASKED);
	assert_int_equal(ioapic_redir(&f->io, 8), IOAPIC_RTE_MASKED);
	/* the last entry's halves are at 0x3e/0x3f */
	reg_wr(f, 0x3f, 0x0a000000);
	reg_wr(f, 0x3e, 0x55);
	assert_int_equal(ioapic_redir(&f->io, 23), 0x0a00000000000055ULL);
}

static void test_read_only_bits(void **state)
{
	struct fx *f = *state;

	/* level, unmasked, asserted: delivered, remote IRR set */
	program(f, 2, DEST(0) | IOAPIC_RTE_LEVEL | 0x30);
	ioapic_set_irq(&f->io, 2, 1);
	assert_int_equal(f->ndl, 1);
	assert_true(ioapic_redir(&f->io, 2) & IOAPIC_RTE_REMOTE_IRR);
	/* a write with bit 14 clear does not clear remote IRR; bit 12 stays 0 */
	reg_wr(f, IOAPIC_REG_REDIR + 4, IOAPIC_RTE_LEVEL | 0x31);
	assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 4),
			 IOAPIC_RTE_LEVEL | IOAPIC_RTE_REMOTE_IRR | 0x31);
	/* setting bits 12 and 14 by write does nothing either */
	ioapic_set_irq(&f->io, 9, 0);
	reg_wr(f, IOAPIC_REG_REDIR + 18,
	       IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(reg_rd(f, IOAPIC_REG_REDIR + 18), IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL);
	assert_int_equal(f->ndl, 1);
}

static void test_edge_once_per_rising_edge(void **state)
{
	struct fx *f = *state;

	program(f, 4, DEST(2) | 0x24);
	assert_int_equal(f->ndl, 0); /* programming never fires an edge entry */
	ioapic_set_irq(&f->io, 4, 1);
	assert_int_equal(f->ndl, 1);
	assert_int_equal(f->dl[0].pin, 4);
	assert_int_equal(f->dl[0].addr, 0xfee02000);
	assert_int_equal(f->dl[0].data, 0x4024);
	ioapic_set_irq(&f->io, 4, 1); /* still high: no edge */
	assert_int_equal(f->ndl, 1);
	ioapic_eoi(&f->io, 0x24); /* EOI means nothing to an edge entry */
	assert_int_equal(f->ndl, 1);
	ioapic_set_irq(&f->io, 4, 0);
	assert_int_equal(f->ndl, 1);
	ioapic_set_irq(&f->io, 4, 1);
	assert_int_equal(f->ndl, 2);
	assert_false(ioapic_redir(&f->io, 4) & IOAPIC_RTE_REMOTE_IRR);
	/* other pins and out-of-range pins stay quiet */
	ioapic_set_irq(&f->io, 5, 1);
	ioapic_set_irq(&f->io, 24, 1);
	ioapic_set_irq(&f->io, ~0u, 1);
	assert_int_equal(f->ndl, 2);
}

static void test_level_remote_irr_eoi(void **state)
{
	struct fx *f = *state;

	program(f, 10, DEST(0) | IOAPIC_RTE_LEVEL | 0x51);
	ioapic_set_irq(&f->io, 10, 1);
	assert_int_equal(f->ndl, 1);
	assert_int_equal(f->dl[0].data, 0xc051); /* level + assert */
	assert_true(ioapic_redir(&f->io, 10) & IOAPIC_RTE_REMOTE_IRR);
	/* while in service, the held line is not delivered again */
	ioapic_set_irq(&f->io, 10, 1);
	assert_int_equal(f->ndl, 1);
	/* EOI of another vector changes nothing */
	ioapic_eoi(&f->io, 0x52);
	assert_int_equal(f->ndl, 1);
	assert_true(ioapic_redir(&f->io, 10) & IOAPIC_RTE_REMOTE_IRR);
	/* EOI while still asserted: delivered again, remote IRR set again */
	ioapic_eoi(&f->io, 0x51);
	assert_int_equal(f->ndl, 2);
	assert_true(ioapic_redir(&f->io, 10) & IOAPIC_RTE_REMOTE_IRR);
	/* the EOI register at 0x40 does the same */
	wr(f, IOAPIC_EOI, 0x51);
	assert_int_equal(f->ndl, 3);
	/* the line drops, then the EOI: remote IRR clears, nothing more */
	ioapic_set_irq(&f->io, 10, 0);
	ioapic_eoi(&f->io, 0x51);
	assert_int_equal(f->ndl, 3);
	assert_false(ioapic_redir(&f->io, 10) & IOAPIC_RTE_REMOTE_IRR);
	/* raised again: one more */
	ioapic_set_irq(&f->io, 10, 1);
	assert_int_equal(f->ndl, 4);
}

static void test_eoi_shared_vector(void **state)
{
	struct fx *f = *state;

	program(f, 16, IOAPIC_RTE_LEVEL | 0x60);
	program(f, 17, IOAPIC_RTE_LEVEL | 0x60);
	ioapic_set_irq(&f->io, 16, 1);
	ioapic_set_irq(&f->io, 17, 1);
	assert_int_equal(f->ndl, 2);
	ioapic_set_irq(&f->io, 16, 0);
	ioapic_eoi(&f->io, 0x60);
	/* both cleared; only the pin still asserted comes back */
	assert_int_equal(f->ndl, 3);
	assert_int_equal(f->dl[2].pin, 17);
	assert_false(ioapic_redir(&f->io, 16) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_mask_level_delivered_on_unmask(void **state)
{
	struct fx *f = *state;

	program(f, 11, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x70);
	ioapic_set_irq(&f->io, 11, 1);
	assert_int_equal(f->ndl, 0);
	program(f, 11, IOAPIC_RTE_LEVEL | 0x70);
	assert_int_equal(f->ndl, 1);
	assert_int_equal(f->dl[0].data & 0xff, 0x70);
	/* masked while in service, EOI, unmasked: delivered at the unmask */
	program(f, 11, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x70);
	ioapic_eoi(&f->io, 0x70);
	assert_int_equal(f->ndl, 1);
	assert_false(ioapic_redir(&f->io, 11) & IOAPIC_RTE_REMOTE_IRR);
	program(f, 11, IOAPIC_RTE_LEVEL | 0x70);
	assert_int_equal(f->ndl, 2);
	/* a level line that dropped while masked is not delivered at unmask */
	program(f, 11, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x70);
	ioapic_eoi(&f->io, 0x70);
	ioapic_set_irq(&f->io, 11, 0);
	program(f, 11, IOAPIC_RTE_LEVEL | 0x70);
	assert_int_equal(f->ndl, 2);
}

static void test_mask_edge_lost(void **state)
{
	struct fx *f = *state;

	program(f, 1, IOAPIC_RTE_MASKED | 0x31);
	ioapic_set_irq(&f->io, 1, 1);
	ioapic_set_irq(&f->io, 1, 0);
	ioapic_set_irq(&f->io, 1, 1);
	program(f, 1, 0x31);
	assert_int_equal(f->ndl, 0);
	/* the line is high: only a new rising edge delivers */
	ioapic_set_irq(&f->io, 1, 1);
	assert_int_equal(f->ndl, 0);
	ioapic_set_irq(&f->io, 1, 0);
	ioapic_set_irq(&f->io, 1, 1);
	assert_int_equal(f->ndl, 1);
}

static void test_polarity(void **state)
{
	struct fx *f = *state;

	/*
	 * Lines are logical (1 = asserted) whatever the programmed polarity,
	 * as with KVM_IRQ_LINE: an active-low level entry with the line low
	 * is idle, and raising it delivers.
	 */
	program(f, 12, IOAPIC_RTE_ACTIVE_LOW | IOAPIC_RTE_LEVEL | 0x80);
	assert_int_equal(f->ndl, 0);
	assert_true(ioapic_redir(&f->io, 12) & IOAPIC_RTE_ACTIVE_LOW); /* kept */
	ioapic_set_irq(&f->io, 12, 1);
	assert_int_equal(f->ndl, 1);
	ioapic_eoi(&f->io, 0x80); /* still asserted: again */
	assert_int_equal(f->ndl, 2);
	ioapic_set_irq(&f->io, 12, 0);
	ioapic_eoi(&f->io, 0x80);
	assert_int_equal(f->ndl, 2);

	/* active-low edge: the rising logical level delivers */
	program(f, 13, IOAPIC_RTE_ACTIVE_LOW | 0x81);
	ioapic_set_irq(&f->io, 13, 1);
	assert_int_equal(f->ndl, 3);
	assert_int_equal(f->dl[2].pin, 13);
	ioapic_set_irq(&f->io, 13, 0);
	assert_int_equal(f->ndl, 3);
	/* flipping the polarity of an idle pin delivers nothing */
	program(f, 13, 0x81);
	assert_int_equal(f->ndl, 3);
}

static void test_msi_encoding(void **state)
{
	struct fx *f = *state;
	static const struct {
		unsigned dm;
		bool delivered;
	} modes[] = {
		{ IOAPIC_DM_FIXED, true }, { IOAPIC_DM_LOWEST, true },
		{ IOAPIC_DM_SMI, true },   { 3, false },
		{ IOAPIC_DM_NMI, true },   { IOAPIC_DM_INIT, true },
		{ 6, false },              { IOAPIC_DM_EXTINT, true },
	};

	for (unsigned i = 0; i < 8; i++) {
		unsigned pin = i;
		uint64_t e = DEST(0xa5) | (uint64_t)modes[i].dm << 8 | (0x40 + i);
		unsigned before = f->ndl;

		/* physical destination */
		program(f, pin, e);
		ioapic_set_irq(&f->io, pin, 1);
		ioapic_set_irq(&f->io, pin, 0);
		if (!modes[i].delivered) {
			assert_int_equal(f->ndl, before);
			continue;
		}
		assert_int_equal(f->ndl, before + 1);
		assert_int_equal(f->dl[before].addr, 0xfeea5000);
		assert_int_equal(f->dl[before].data, 0x4000 | modes[i].dm << 8 | (0x40 + i));
		/* logical destination: bit 2 of the address */
		program(f, pin, e | IOAPIC_RTE_LOGICAL);
		ioapic_set_irq(&f->io, pin, 1);
		ioapic_set_irq(&f->io, pin, 0);
		assert_int_equal(f->ndl, before + 2);
		assert_int_equal(f->dl[before + 1].addr, 0xfeea5004);
		assert_int_equal(f->dl[before + 1].data, f->dl[before].data);
	}

	uint64_t addr;
	uint32_t data;

	ioapic_entry_msi(DEST(0xff) | IOAPIC_RTE_LOGICAL | IOAPIC_RTE_LEVEL |
				 IOAPIC_RTE_MASKED | 1ULL << 8 | 0xef,
			 &addr, &data);
	assert_int_equal(addr, 0xfeeff004);
	assert_int_equal(data, 0xc1ef);
}

static void test_route_changed(void **state)
{
	struct fx *f = *state;

	program(f, 20, DEST(3) | IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | 0x99);
	/* the high half, then the low half: two changes */
	assert_int_equal(f->nrt, 2);
	assert_int_equal(f->rt[0].pin, 20);
	assert_int_equal(f->rt[0].addr, 0xfee03000);
	assert_true(f->rt[0].masked);
	assert_int_equal(f->rt[1].addr, 0xfee03004);
	assert_int_equal(f->rt[1].data, 0xc099);
	assert_false(f->rt[1].masked);
	/* the same value again: no change, no call */
	program(f, 20, DEST(3) | IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | 0x99);
	assert_int_equal(f->nrt, 2);
	/* remote IRR moving is no route change */
	ioapic_set_irq(&f->io, 20, 1);
	ioapic_eoi(&f->io, 0x99);
	assert_int_equal(f->nrt, 2);
	assert_int_equal(f->ndl, 2);
	/* masking is */
	reg_wr(f, IOAPIC_REG_REDIR + 40,
	       IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | 0x99);
	assert_int_equal(f->nrt, 3);
	assert_true(f->rt[2].masked);
	/* the route comes before the delivery the same write causes */
	ioapic_eoi(&f->io, 0x99);
	f->nrt = 0;
	f->ndl = 0;
	reg_wr(f, IOAPIC_REG_REDIR + 40, IOAPIC_RTE_LEVEL | 0x9a);
	assert_int_equal(f->nrt, 1);
	assert_int_equal(f->ndl, 1);
	assert_int_equal(f->rt[0].data, f->dl[0].data);
}

static void test_edge_clears_remote_irr(void **state)
{
	struct fx *f = *state;

	/* Linux's EOI for IOAPICs before version 0x20: flip to edge and back */
	program(f, 9, IOAPIC_RTE_LEVEL | 0x39);
	ioapic_set_irq(&f->io, 9, 1);
	assert_int_equal(f->ndl, 1);
	reg_wr(f, IOAPIC_REG_REDIR + 18, IOAPIC_RTE_MASKED | 0x39);
	assert_false(ioapic_redir(&f->io, 9) & IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(f->ndl, 1);
	reg_wr(f, IOAPIC_REG_REDIR + 18, IOAPIC_RTE_LEVEL | 0x39);
	/* still asserted: delivered again */
	assert_int_equal(f->ndl, 2);
	assert_true(ioapic_redir(&f->io, 9) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_bad_accesses(void **state)
{
	struct fx *f = *state;
	static const unsigned sizes[] = { 1, 2, 8 };

	program(f, 0, 0x20);
	wr(f, IOAPIC_IOREGSEL, IOAPIC_REG_REDIR);
	for (unsigned i = 0; i < 3; i++) {
		/* wrong sizes at the three registers: read 0, writes ignored */
		assert_int_equal(ioapic_mmio_ops.read(&f->io, IOAPIC_IOREGSEL, sizes[i]), 0);
		assert_int_equal(ioapic_mmio_ops.read(&f->io, IOAPIC_IOWIN, sizes[i]), 0);
		ioapic_mmio_ops.write(&f->io, IOAPIC_IOREGSEL, 0x01, sizes[i]);
		ioapic_mmio_ops.write(&f->io, IOAPIC_IOWIN, 0x10021, sizes[i]);
	}
	assert_int_equal(rd(f, IOAPIC_IOREGSEL), IOAPIC_REG_REDIR);
	assert_int_equal(rd(f, IOAPIC_IOWIN), 0x20);
	/* unaligned or other offsets: 0 and ignored */
	assert_int_equal(rd(f, 0x11), 0);
	assert_int_equal(rd(f, 0x04), 0);
	assert_int_equal(rd(f, 0x20), 0);
	assert_int_equal(rd(f, IOAPIC_EOI), 0); /* write-only */
	assert_int_equal(rd(f, 0xffc), 0);
	wr(f, 0x01, 0x12);
	wr(f, 0x14, 0x10021);
	wr(f, 0x41, 0x20);
	wr(f, 0xffc, 0xffffffff);
	assert_int_equal(rd(f, IOAPIC_IOREGSEL), IOAPIC_REG_REDIR);
	assert_int_equal(ioapic_redir(&f->io, 0), 0x20);
	/* VER reads right through a 4-byte access only */
	wr(f, IOAPIC_IOREGSEL, IOAPIC_REG_VER);
	assert_int_equal(rd(f, IOAPIC_IOWIN), 0x00170020);
	assert_int_equal(f->ndl, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_state),
		T(test_reset_routes),
		T(test_id_register),
		T(test_redir_halves),
		T(test_read_only_bits),
		T(test_edge_once_per_rising_edge),
		T(test_level_remote_irr_eoi),
		T(test_eoi_shared_vector),
		T(test_mask_level_delivered_on_unmask),
		T(test_mask_edge_lost),
		T(test_polarity),
		T(test_msi_encoding),
		T(test_route_changed),
		T(test_edge_clears_remote_irr),
		T(test_bad_accesses),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
