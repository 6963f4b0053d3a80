/*
 * libFuzzer target for the IOAPIC model (src/irq/ioapic.c): a guest's MMIO
 * accesses interleaved with device line changes and EOIs, checked against
 * the model's contract after every step.
 *
 * Input: records of 8 bytes: op, sel, v0..v3 (value, le32), x, y.
 *   op % 6 == 0  MMIO write: offset = IOREGSEL/IOWIN/EOI by sel % 3, or
 *                (sel >= 0xc0) any offset (sel, x) & 0xfff; size 4, or
 *                1/2/8 when y % 8 == 7; value v
 *             1  MMIO read, offsets and sizes as above
 *             2  entry write: IOREGSEL = 0x10 + sel % 48, then IOWIN = v
 *             3  line: ioapic_set_irq(sel % 32, x & 1)
 *             4  EOI: of entry (sel % 24)'s vector if x & 1, else v0;
 *                through the EOI register when x & 2
 *             5  ioapic_reset when sel == 0xff, else nothing
 * Seeds (tests/fuzz/corpus/fuzz_ioapic/) are such records written by hand:
 * Linux programming an edge and a level pin, lines and EOIs.
 *
 * Checked: every delivery is from an unmasked entry whose message it is
 * (never a reserved delivery mode), on an asserted pin, at most one per pin
 * per step; an edge one only from a rising line of that pin; a level one
 * sets remote IRR and comes only when remote IRR was clear or at an EOI of
 * its vector; route_changed carries the entry it reports; delivery status
 * always reads 0, reserved bits stay 0, remote IRR only on level entries;
 * VER never changes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/ioapic.h"

#define REC 8
#define RTE_RESERVED 0x00fffffffffe0000ULL

struct fz {
	struct ioapic io;
	uint64_t snap[IOAPIC_NR_PINS]; /* entries before the step */
	uint32_t snap_lines;
	unsigned delivered[IOAPIC_NR_PINS]; /* in this step */
	/* what the step is */
	int line_pin;   /* set_irq's pin, or -1 */
	int eoi_vector; /* the EOI's vector, or -1 */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool snap_asserted(const struct fz *z, unsigned pin)
{
	return (z->snap_lines >> pin) & 1; /* logical levels: polarity not applied */
}

static void fz_deliver(void *opaque, unsigned pin, uint64_t addr, uint32_t data)
{
	struct fz *z = opaque;
	uint64_t e, want_addr;
	uint32_t want_data;
	unsigned dm;

	check(pin < IOAPIC_NR_PINS);
	e = ioapic_redir(&z->io, pin);
	check(!(e & IOAPIC_RTE_MASKED));
	dm = (unsigned)(e >> IOAPIC_RTE_DELMODE_SHIFT) & 7;
	check(dm != 3 && dm != 6);
	ioapic_entry_msi(e, &want_addr, &want_data);
	check(addr == want_addr && data == want_data);
	check(ioapic_line(&z->io, pin));
	check(++z->delivered[pin] == 1);
	if (e & IOAPIC_RTE_LEVEL) {
		check(e & IOAPIC_RTE_REMOTE_IRR);
		check(!(z->snap[pin] & IOAPIC_RTE_REMOTE_IRR) ||
		      (z->eoi_vector >= 0 && (e & 0xff) == (unsigned)z->eoi_vector));
	} else {
		check(z->line_pin == (int)pin && !snap_asserted(z, pin));
	}
}

static void fz_route(void *opaque, unsigned pin, uint64_t addr, uint32_t data,
		     bool masked)
{
	struct fz *z = opaque;
	uint64_t e, want_addr;
	uint32_t want_data;

	check(pin < IOAPIC_NR_PINS);
	e = ioapic_redir(&z->io, pin);
	ioapic_entry_msi(e, &want_addr, &want_data);
	check(addr == want_addr && data == want_data);
	check(masked == ((e & IOAPIC_RTE_MASKED) != 0));
}

static const struct ioapic_ops fz_ops = { fz_deliver, fz_route };

static uint64_t pick_offset(uint8_t sel, uint8_t x)
{
	static const uint64_t regs[] = { IOAPIC_IOREGSEL, IOAPIC_IOWIN, IOAPIC_EOI };

	if (sel >= 0xc0)
		return ((uint64_t)sel << 8 | x) & (IOAPIC_MMIO_SIZE - 1);
	return regs[sel % 3];
}

static unsigned pick_size(uint8_t y)
{
	static const unsigned odd[] = { 1, 2, 8 };

	return y % 8 == 7 ? odd[(y >> 3) % 3] : 4;
}

static uint32_t reg_read(struct fz *z, unsigned idx)
{
	ioapic_mmio_ops.write(&z->io, IOAPIC_IOREGSEL, idx, 4);
	return (uint32_t)ioapic_mmio_ops.read(&z->io, IOAPIC_IOWIN, 4);
}

static void check_state(struct fz *z)
{
	uint32_t sel = (uint32_t)ioapic_mmio_ops.read(&z->io, IOAPIC_IOREGSEL, 4);

	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = ioapic_redir(&z->io, pin);

		check(!(e & IOAPIC_RTE_DELIVS));
		check(!(e & RTE_RESERVED));
		check(!(e & IOAPIC_RTE_REMOTE_IRR) || (e & IOAPIC_RTE_LEVEL));
	}
	check(reg_read(z, IOAPIC_REG_VER) == IOAPIC_VER_VALUE);
	ioapic_mmio_ops.write(&z->io, IOAPIC_IOREGSEL, sel, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z;

	memset(&z, 0, sizeof(z));
	ioapic_init(&z.io, 2, &fz_ops, &z);
	for (size_t i = 0; i + REC <= size; i += REC) {
		const uint8_t *r = data + i;
		uint8_t op = r[0] % 6, sel = r[1], x = r[6], y = r[7];
		uint32_t v = (uint32_t)r[2] | (uint32_t)r[3] << 8 |
			     (uint32_t)r[4] << 16 | (uint32_t)r[5] << 24;

		for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
			z.snap[pin] = ioapic_redir(&z.io, pin);
		z.snap_lines = 0;
		for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
			z.snap_lines |= (uint32_t)ioapic_line(&z.io, pin) << pin;
		memset(z.delivered, 0, sizeof(z.delivered));
		z.line_pin = z.eoi_vector = -1;

		switch (op) {
		case 0: {
			uint64_t off = pick_offset(sel, x);
			unsigned sz = pick_size(y);

			if (off == IOAPIC_EOI && sz == 4)
				z.eoi_vector = (uint8_t)v;
			ioapic_mmio_ops.write(&z.io, off, v, sz);
			break;
		}
		case 1: {
			uint64_t off = pick_offset(sel, x);
			unsigned sz = pick_size(y);
			uint64_t got = ioapic_mmio_ops.read(&z.io, off, sz);

			/* only dwords at IOREGSEL/IOWIN read non-zero */
			check(got <= 0xffffffffULL);
			check(got == 0 || (sz == 4 && (off == IOAPIC_IOREGSEL || off == IOAPIC_IOWIN)));
			break;
		}
		case 2:
			ioapic_mmio_ops.write(&z.io, IOAPIC_IOREGSEL, IOAPIC_REG_REDIR + sel % 48, 4);
			ioapic_mmio_ops.write(&z.io, IOAPIC_IOWIN, v, 4);
			break;
		case 3:
			z.line_pin = sel % 32;
			ioapic_set_irq(&z.io, sel % 32, x & 1);
			check(ioapic_line(&z.io, sel % 32) == ((sel % 32 < IOAPIC_NR_PINS) && (x & 1)));
			break;
		case 4: {
			uint8_t vec = (x & 1) ? (uint8_t)ioapic_redir(&z.io, sel % 24) : (uint8_t)v;

			z.eoi_vector = vec;
			if (x & 2)
				ioapic_mmio_ops.write(&z.io, IOAPIC_EOI, vec, 4);
			else
				ioapic_eoi(&z.io, vec);
			break;
		}
		case 5:
			if (sel == 0xff) {
				ioapic_reset(&z.io);
				for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
					check(ioapic_redir(&z.io, pin) == IOAPIC_RTE_MASKED);
			}
			break;
		}
		check_state(&z);
	}
	return 0;
}
