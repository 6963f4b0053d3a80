/*
 * libFuzzer target for the 8259A pair and ELCR (src/irq/pic8259.c): a
 * guest's port accesses interleaved with device lines and INTA cycles,
 * checked against the model's contract after every step.
 *
 * Input: records of 4 bytes: op, a, b, c.
 *   op % 5 == 0  port write: chip a % 3 (master, slave, ELCR), offset
 *                (a >> 2) & 1, value b; size 1, or 2/4 when a >> 5 == 7
 *             1  port read, chips, offsets and sizes as above
 *             2  line: pic_set_irq(b % 18, c & 1)
 *             3  INTA: pic_ack
 *             4  pic_reset when b == 0xff, else nothing
 * Seeds (tests/fuzz/corpus/fuzz_pic8259/) are such records written by
 * hand: Linux's initialisation of the pair, lines, INTAs and EOIs.
 *
 * Checked: intr_changed alternates and always matches pic_intr() after a
 * step; an INTA returns base + 7 of the master with no ISR change when INT
 * was low, otherwise a vector of the master's or the slave's range; an INTA
 * sets at most one ISR bit per chip and clears none; IRR shows the level
 * inputs' lines; ELCR bits stay inside the PIIX masks; the init sequence
 * and priority state stay in range.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/pic8259.h"

#define REC 4

struct fz {
	struct pic8259 p;
	bool intr; /* as intr_changed last said */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void fz_intr(void *opaque, bool level)
{
	struct fz *z = opaque;

	check(level != z->intr);
	z->intr = level;
}

static const struct pic_ops fz_ops = { fz_intr };

static const struct bus_dev_ops *const chip_ops[3] = {
	&pic_master_ops, &pic_slave_ops, &pic_elcr_ops,
};

static unsigned popcount8(uint8_t v)
{
	return (unsigned)__builtin_popcount(v);
}

static void check_state(struct fz *z)
{
	static const uint8_t elcr_mask[2] = { PIC_ELCR_MASK_MASTER, PIC_ELCR_MASK_SLAVE };

	check(z->intr == pic_intr(&z->p));
	for (unsigned i = 0; i < 2; i++) {
		const struct pic_chip *c = &z->p.chip[i];

		check(!(c->elcr & ~elcr_mask[i]));
		check((c->irr & c->elcr) == (c->lines & c->elcr));
		check(c->lowest < 8);
		check(c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4));
		check(!(c->base & 7));
	}
}

static void ack(struct fz *z)
{
	struct pic_chip before[2];
	bool intr = pic_intr(&z->p);
	int v;

	memcpy(before, z->p.chip, sizeof(before));
	v = pic_ack(&z->p);
	for (unsigned i = 0; i < 2; i++) {
		const struct pic_chip *c = &z->p.chip[i];

		check((c->isr & before[i].isr) == before[i].isr);
		check(popcount8(c->isr & ~before[i].isr) <= 1);
	}
	check(v >= 0 && v <= 0xff);
	if (!intr) {
		check(v == before[0].base + 7);
		check(z->p.chip[0].isr == before[0].isr && z->p.chip[1].isr == before[1].isr);
		return;
	}
	check((v & 0xf8) == before[0].base || (v & 0xf8) == before[1].base);
	/* with the master's INT up, the master always takes part */
	check((before[0].icw4 & 0x02) || z->p.chip[0].isr != before[0].isr ||
	      /* SFNM: IR2 may be served again while in service */
	      (before[0].isr & (1u << PIC_CASCADE_IRQ)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z;

	memset(&z, 0, sizeof(z));
	pic_init(&z.p, &fz_ops, &z);
	check_state(&z);
	for (size_t i = 0; i + REC <= size; i += REC) {
		const uint8_t *r = data + i;
		uint8_t op = r[0] % 5, a = r[1], b = r[2], c = r[3];
		unsigned chip = a % 3, off = (a >> 2) & 1;
		unsigned sz = (a >> 5) == 7 ? ((c & 1) ? 2 : 4) : 1;
		uint64_t got;

		switch (op) {
		case 0:
			chip_ops[chip]->write(&z.p, off, b, sz);
			break;
		case 1:
			got = chip_ops[chip]->read(&z.p, off, sz);
			check(sz != 1 || got <= 0xff);
			break;
		case 2:
			pic_set_irq(&z.p, b % 18, c & 1);
			break;
		case 3:
			ack(&z);
			break;
		case 4:
			if (b == 0xff) {
				pic_reset(&z.p);
				check(!pic_intr(&z.p)); /* every IRR cleared */
			}
			break;
		}
		check_state(&z);
	}
	return 0;
}
