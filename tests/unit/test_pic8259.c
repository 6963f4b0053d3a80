#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "petrel/pic8259.h"

#define MAX_EV 64

struct fx {
	struct pic8259 p;
	bool ev[MAX_EV]; /* intr_changed levels, in order */
	unsigned nev;
};

static void rec_intr(void *opaque, bool level)
{
	struct fx *f = opaque;

	assert_true(f->nev < MAX_EV);
	f->ev[f->nev++] = level;
}

static const struct pic_ops rec_ops = { rec_intr };

static void outb(struct fx *f, unsigned port, uint8_t v)
{
	switch (port) {
	case 0x20: case 0x21:
		pic_master_ops.write(&f->p, port - 0x20, v, 1);
		break;
	case 0xa0: case 0xa1:
		pic_slave_ops.write(&f->p, port - 0xa0, v, 1);
		break;
	case 0x4d0: case 0x4d1:
		pic_elcr_ops.write(&f->p, port - 0x4d0, v, 1);
		break;
	default:
		fail();
	}
}

static uint8_t inb(struct fx *f, unsigned port)
{
	switch (port) {
	case 0x20: case 0x21:
		return (uint8_t)pic_master_ops.read(&f->p, port - 0x20, 1);
	case 0xa0: case 0xa1:
		return (uint8_t)pic_slave_ops.read(&f->p, port - 0xa0, 1);
	case 0x4d0: case 0x4d1:
		return (uint8_t)pic_elcr_ops.read(&f->p, port - 0x4d0, 1);
	}
	fail();
	return 0;
}

/* What Linux's init_8259A does (arch/x86/kernel/i8259.c), all masked after. */
static void linux_init(struct fx *f, bool aeoi)
{
	outb(f, 0x21, 0xff);
	outb(f, 0xa1, 0xff);
	outb(f, 0x20, 0x11);        /* ICW1: edge, cascade, ICW4 */
	outb(f, 0x21, 0x30);        /* ICW2: vectors 0x30..0x37 */
	outb(f, 0x21, 1u << 2);     /* ICW3: slave on IR2 */
	outb(f, 0x21, aeoi ? 0x03 : 0x01); /* ICW4: 8086 mode (auto-EOI) */
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x38);        /* vectors 0x38..0x3f */
	outb(f, 0xa1, 0x02);        /* slave id 2 */
	outb(f, 0xa1, 0x01);
	outb(f, 0x21, 0xff);
	outb(f, 0xa1, 0xff);
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	pic_init(&f->p, &rec_ops, f);
	linux_init(f, false);
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
	assert_int_equal(f->nev, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void eoi_master(struct fx *f) { outb(f, 0x20, 0x20); }
static void eoi_slave(struct fx *f) { outb(f, 0xa0, 0x20); }

static uint8_t read_isr(struct fx *f, unsigned cmd)
{
	uint8_t v;

	outb(f, cmd, 0x0b);
	v = inb(f, cmd);
	outb(f, cmd, 0x0a);
	return v;
}

static void test_power_on(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	(void)state;
	pic_init(&f->p, &rec_ops, f);
	assert_int_equal(inb(f, 0x21), 0);
	assert_int_equal(inb(f, 0xa1), 0);
	assert_int_equal(inb(f, 0x20), 0);
	assert_int_equal(inb(f, 0x4d0), 0);
	assert_false(pic_intr(&f->p));
	/* IMR 0 at power-on: a request is seen at once, at vector base 0 */
	pic_set_irq(&f->p, 1, 1);
	assert_true(pic_intr(&f->p));
	assert_int_equal(f->nev, 1);
	assert_int_equal(pic_ack(&f->p), 1);
	test_free(f);
}

static void test_linux_init(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	(void)state;
	pic_init(&f->p, &rec_ops, f);
	linux_init(f, false);
	assert_int_equal(f->p.chip[0].base, 0x30);
	assert_int_equal(f->p.chip[1].base, 0x38);
	assert_int_equal(f->p.chip[0].icw3, 0x04);
	assert_int_equal(f->p.chip[1].icw3, 0x02);
	assert_int_equal(f->p.chip[0].init_step, 0);
	assert_int_equal(inb(f, 0x21), 0xff);
	assert_int_equal(inb(f, 0xa1), 0xff);
	/* masked: latched in IRR, no INT */
	pic_set_irq(&f->p, 3, 1);
	assert_false(pic_intr(&f->p));
	assert_int_equal(inb(f, 0x20), 0x08);
	/* unmask: INT rises, vector 0x33 */
	outb(f, 0x21, 0xf7);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x33);
	assert_int_equal(read_isr(f, 0x20), 0x08);
	eoi_master(f);
	assert_int_equal(read_isr(f, 0x20), 0);
	/* ICW2's low 3 bits are ignored */
	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x47);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, 0x01);
	assert_int_equal(f->p.chip[0].base, 0x40);
	/* ICW1 reset IMR; the high line must fall and rise again */
	assert_int_equal(inb(f, 0x21), 0);
	assert_false(pic_intr(&f->p));
	pic_set_irq(&f->p, 3, 1); /* still high: no edge */
	assert_false(pic_intr(&f->p));
	pic_set_irq(&f->p, 3, 0);
	pic_set_irq(&f->p, 3, 1);
	assert_int_equal(pic_ack(&f->p), 0x43);
	test_free(f);
}

static void test_single_no_icw4(void **state)
{
	struct fx *f = *state;

	/* single mode, no ICW4: ICW2 alone, then port 1 is IMR again */
	outb(f, 0x20, 0x12);
	outb(f, 0x21, 0x50);
	outb(f, 0x21, 0xfe);
	assert_int_equal(inb(f, 0x21), 0xfe);
	assert_int_equal(f->p.chip[0].base, 0x50);
	assert_int_equal(f->p.chip[0].icw4, 0);
	pic_set_irq(&f->p, 0, 1);
	assert_int_equal(pic_ack(&f->p), 0x50);
	/* single mode: the master answers IR2 itself */
	outb(f, 0x21, 0x00);
	pic_set_irq(&f->p, 8, 1);
	outb(f, 0x20, 0x20);
	assert_int_equal(pic_ack(&f->p), 0x52);
	assert_int_equal(read_isr(f, 0xa0), 0); /* the slave was not asked */
}

static void test_priority_and_nesting(void **state)
{
	struct fx *f = *state;

	pic_set_irq(&f->p, 5, 1);
	pic_set_irq(&f->p, 3, 1);
	assert_int_equal(inb(f, 0x20), 0x28);
	assert_int_equal(pic_ack(&f->p), 0x33); /* lower number first */
	/* IRQ5 waits behind IRQ3 in service */
	assert_false(pic_intr(&f->p));
	/* a higher one interrupts the handler */
	pic_set_irq(&f->p, 1, 1);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x31);
	assert_int_equal(read_isr(f, 0x20), 0x0a);
	/* non-specific EOI ends the highest in service: IRQ1 */
	eoi_master(f);
	assert_int_equal(read_isr(f, 0x20), 0x08);
	assert_false(pic_intr(&f->p));
	eoi_master(f);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x35);
	eoi_master(f);
	assert_false(pic_intr(&f->p));
	assert_int_equal(inb(f, 0x20), 0); /* edge IRRs were cleared by INTA */
}

static void test_specific_eoi(void **state)
{
	struct fx *f = *state;

	pic_set_irq(&f->p, 6, 1);
	assert_int_equal(pic_ack(&f->p), 0x36);
	pic_set_irq(&f->p, 4, 1);
	assert_int_equal(pic_ack(&f->p), 0x34);
	assert_int_equal(read_isr(f, 0x20), 0x50);
	outb(f, 0x20, 0x60 | 6); /* specific EOI for 6 while 4 is in service */
	assert_int_equal(read_isr(f, 0x20), 0x10);
	outb(f, 0x20, 0x60 | 6); /* again: nothing to clear */
	assert_int_equal(read_isr(f, 0x20), 0x10);
	outb(f, 0x20, 0x40); /* no operation */
	assert_int_equal(read_isr(f, 0x20), 0x10);
	outb(f, 0x20, 0x60 | 4);
	assert_int_equal(read_isr(f, 0x20), 0);
}

static void test_cascade(void **state)
{
	struct fx *f = *state;

	for (unsigned irq = 8; irq < 16; irq++) {
		f->nev = 0;
		pic_set_irq(&f->p, irq, 1);
		assert_true(pic_intr(&f->p));
		assert_int_equal(f->nev, 1);
		assert_true(f->ev[0]);
		assert_int_equal(inb(f, 0x20), 0x04); /* master IR2 requests */
		assert_int_equal(pic_ack(&f->p), 0x38 + (irq - 8));
		assert_int_equal(f->nev, 2);
		assert_false(f->ev[1]);
		assert_int_equal(read_isr(f, 0x20), 0x04);
		assert_int_equal(read_isr(f, 0xa0), 1u << (irq - 8));
		/* Linux: specific EOI to the slave, then to the master's IR2 */
		outb(f, 0xa0, 0x60 | (irq - 8));
		outb(f, 0x20, 0x62);
		assert_int_equal(read_isr(f, 0x20), 0);
		assert_int_equal(read_isr(f, 0xa0), 0);
		pic_set_irq(&f->p, irq, 0);
	}
	/* a slave request is blocked by a higher master one in service... */
	pic_set_irq(&f->p, 1, 1);
	assert_int_equal(pic_ack(&f->p), 0x31);
	pic_set_irq(&f->p, 12, 1);
	assert_false(pic_intr(&f->p));
	/* ...and beats a lower one */
	eoi_master(f);
	pic_set_irq(&f->p, 4, 1);
	assert_int_equal(pic_ack(&f->p), 0x3c);
	/* the slave's IRQ9 beats its IRQ12 in service: needs SFNM on the master */
	pic_set_irq(&f->p, 9, 1);
	assert_false(pic_intr(&f->p));
	assert_int_equal(inb(f, 0x20), 0x14); /* IR2 latched, IR4 waiting */
	/* IRQ2 on the ISA bus is the cascade: a device cannot drive it */
	pic_set_irq(&f->p, 2, 0);
	pic_set_irq(&f->p, 16, 1);
	pic_set_irq(&f->p, ~0u, 1);
	assert_int_equal(inb(f, 0x20), 0x14);
	eoi_slave(f);
	eoi_master(f);
	assert_int_equal(pic_ack(&f->p), 0x39);
}

static void test_special_fully_nested(void **state)
{
	struct fx *f = *state;

	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x30);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, 0x11); /* 8086 mode, special fully nested */
	pic_set_irq(&f->p, 12, 1);
	assert_int_equal(pic_ack(&f->p), 0x3c);
	/* a higher slave request passes the master's IR2 in service */
	pic_set_irq(&f->p, 9, 1);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x39);
	/* a lower master request still waits behind IR2 */
	pic_set_irq(&f->p, 5, 1);
	assert_false(pic_intr(&f->p));
}

static void test_auto_eoi(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	(void)state;
	pic_init(&f->p, &rec_ops, f);
	linux_init(f, true);
	outb(f, 0x21, 0);
	outb(f, 0xa1, 0);
	pic_set_irq(&f->p, 3, 1);
	assert_int_equal(pic_ack(&f->p), 0x33);
	assert_int_equal(read_isr(f, 0x20), 0);
	/* nothing in service: a lower request is taken at once */
	pic_set_irq(&f->p, 6, 1);
	assert_int_equal(pic_ack(&f->p), 0x36);
	/* the slave with auto-EOI on both: two requests back to back */
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x38);
	outb(f, 0xa1, 0x02);
	outb(f, 0xa1, 0x03);
	pic_set_irq(&f->p, 10, 1);
	pic_set_irq(&f->p, 11, 1);
	assert_int_equal(pic_ack(&f->p), 0x3a);
	assert_true(pic_intr(&f->p)); /* IR2 re-armed by the INTA */
	assert_int_equal(pic_ack(&f->p), 0x3b);
	assert_false(pic_intr(&f->p));
	/* rotate in auto-EOI: the served level becomes the lowest */
	outb(f, 0x20, 0x80);
	pic_set_irq(&f->p, 1, 1);
	assert_int_equal(pic_ack(&f->p), 0x31);
	pic_set_irq(&f->p, 0, 1);
	pic_set_irq(&f->p, 4, 1);
	assert_int_equal(pic_ack(&f->p), 0x34); /* 2 is highest now, then 3, 4 */
	assert_int_equal(pic_ack(&f->p), 0x30); /* 5 highest: 5,6,7,0 */
	outb(f, 0x20, 0x00); /* rotate in auto-EOI off */
	pic_set_irq(&f->p, 0, 0);
	pic_set_irq(&f->p, 7, 1);
	pic_set_irq(&f->p, 0, 1);
	/* 0 stayed the lowest: 7 comes first, and acks rotate nothing now */
	assert_int_equal(pic_ack(&f->p), 0x37);
	assert_int_equal(pic_ack(&f->p), 0x30);
	assert_int_equal(f->p.chip[0].lowest, 0);
	test_free(f);
}

static void test_rotation(void **state)
{
	struct fx *f = *state;

	/* rotate on non-specific EOI: after serving 0, it becomes the lowest */
	pic_set_irq(&f->p, 0, 1);
	pic_set_irq(&f->p, 1, 1);
	assert_int_equal(pic_ack(&f->p), 0x30);
	pic_set_irq(&f->p, 0, 0);
	outb(f, 0x20, 0xa0);
	pic_set_irq(&f->p, 0, 1);
	/* 1 has the highest priority now, 0 the lowest */
	assert_int_equal(pic_ack(&f->p), 0x31);
	outb(f, 0x20, 0xa0);
	assert_int_equal(pic_ack(&f->p), 0x30);
	outb(f, 0x20, 0xa0);
	/* set priority: 4 lowest, so 5 highest */
	outb(f, 0x20, 0xc0 | 4);
	pic_set_irq(&f->p, 4, 1);
	pic_set_irq(&f->p, 6, 1);
	pic_set_irq(&f->p, 5, 1);
	assert_int_equal(pic_ack(&f->p), 0x35);
	/* 4 is below 5 in service: blocked; 6 too */
	assert_false(pic_intr(&f->p));
	/* rotate on specific EOI of 5: 6 highest */
	outb(f, 0x20, 0xe0 | 5);
	assert_int_equal(read_isr(f, 0x20), 0);
	pic_set_irq(&f->p, 5, 0);
	pic_set_irq(&f->p, 5, 1); /* 5 is the lowest now: served last */
	assert_int_equal(pic_ack(&f->p), 0x36);
	outb(f, 0x20, 0x20);
	assert_int_equal(pic_ack(&f->p), 0x34);
	outb(f, 0x20, 0x20);
	assert_int_equal(pic_ack(&f->p), 0x35);
	outb(f, 0x20, 0x20);
	assert_false(pic_intr(&f->p));
}

static void test_poll(void **state)
{
	struct fx *f = *state;

	outb(f, 0x21, 0xff); /* poll works with INT masked off */
	outb(f, 0x21, 0x00);
	pic_set_irq(&f->p, 5, 1);
	f->nev = 0;
	outb(f, 0x20, 0x0c); /* OCW3 poll */
	assert_int_equal(inb(f, 0x20), 0x85);
	/* the poll acknowledged IRQ5 */
	assert_int_equal(read_isr(f, 0x20), 0x20);
	assert_int_equal(f->nev, 1);
	assert_false(f->ev[0]);
	/* next read is a normal one again (IRR) */
	assert_int_equal(inb(f, 0x20), 0);
	/* nothing pending: poll word 0 */
	outb(f, 0x20, 0x0c);
	assert_int_equal(inb(f, 0x21), 0);
	assert_int_equal(read_isr(f, 0x20), 0x20);
	/* slave poll on its data port */
	pic_set_irq(&f->p, 13, 1);
	outb(f, 0xa0, 0x0c);
	assert_int_equal(inb(f, 0xa1), 0x85);
	assert_int_equal(read_isr(f, 0xa0), 0x20);
}

static void test_irr_isr_readback(void **state)
{
	struct fx *f = *state;

	outb(f, 0x21, 0xff);
	pic_set_irq(&f->p, 0, 1);
	pic_set_irq(&f->p, 7, 1);
	assert_int_equal(inb(f, 0x20), 0x81);
	outb(f, 0x20, 0x0b); /* ISR */
	assert_int_equal(inb(f, 0x20), 0);
	assert_int_equal(inb(f, 0x20), 0); /* the choice sticks */
	outb(f, 0x20, 0x08); /* RR clear: no change of selection */
	assert_int_equal(inb(f, 0x20), 0);
	outb(f, 0x20, 0x0a); /* IRR */
	assert_int_equal(inb(f, 0x20), 0x81);
	assert_int_equal(inb(f, 0x21), 0xff);
	outb(f, 0x21, 0x7f); /* IRQ7 alone, then IRQ0 nests above it */
	assert_int_equal(pic_ack(&f->p), 0x37);
	outb(f, 0x21, 0x00);
	assert_int_equal(pic_ack(&f->p), 0x30);
	assert_int_equal(read_isr(f, 0x20), 0x81);
	assert_int_equal(inb(f, 0x20), 0x00);
}

static void test_spurious(void **state)
{
	struct fx *f = *state;

	/* nothing at all: master IR7, no ISR */
	assert_int_equal(pic_ack(&f->p), 0x37);
	assert_int_equal(read_isr(f, 0x20), 0);
	/* a level request that vanished before the INTA */
	outb(f, 0x4d0, 0x20);
	pic_set_irq(&f->p, 5, 1);
	assert_true(pic_intr(&f->p));
	pic_set_irq(&f->p, 5, 0);
	assert_false(pic_intr(&f->p));
	assert_int_equal(f->nev, 2);
	assert_int_equal(pic_ack(&f->p), 0x37);
	assert_int_equal(read_isr(f, 0x20), 0);
	/* an edge request masked after it latched */
	pic_set_irq(&f->p, 4, 1);
	outb(f, 0x21, 0x10);
	assert_int_equal(pic_ack(&f->p), 0x37);
	assert_int_equal(read_isr(f, 0x20), 0);
	/* the slave's request gone after IR2 latched: IRQ15, master IR2 in service */
	pic_set_irq(&f->p, 9, 1);
	outb(f, 0xa1, 0x02);
	assert_true(pic_intr(&f->p)); /* the master's IR2 stays latched */
	assert_int_equal(pic_ack(&f->p), 0x3f);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0);
	eoi_master(f);
	/* unmasking the slave request brings it back through a new edge */
	outb(f, 0xa1, 0x00);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x39);
}

static void test_elcr_level(void **state)
{
	struct fx *f = *state;

	/* fixed-0 bits: IRQ 0, 1, 2, 8, 13 */
	outb(f, 0x4d0, 0xff);
	outb(f, 0x4d1, 0xff);
	assert_int_equal(inb(f, 0x4d0), 0xf8);
	assert_int_equal(inb(f, 0x4d1), 0xde);
	assert_int_equal(pic_elcr_ops.read(&f->p, 0, 2), 0xdef8);
	pic_elcr_ops.write(&f->p, 0, 0x0820, 2); /* IRQ5 and IRQ11 level */
	assert_int_equal(inb(f, 0x4d0), 0x20);
	assert_int_equal(inb(f, 0x4d1), 0x08);
	assert_int_equal(pic_elcr_ops.read(&f->p, 1, 2), ~0ULL);

	/* a level line held high interrupts again after each EOI */
	pic_set_irq(&f->p, 5, 1);
	assert_int_equal(pic_ack(&f->p), 0x35);
	assert_int_equal(inb(f, 0x20), 0x20); /* IRR still shows the line */
	assert_false(pic_intr(&f->p));
	eoi_master(f);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x35);
	/* dropped before the EOI: quiet afterwards */
	pic_set_irq(&f->p, 5, 0);
	eoi_master(f);
	assert_false(pic_intr(&f->p));
	/* the same on the slave */
	pic_set_irq(&f->p, 11, 1);
	assert_int_equal(pic_ack(&f->p), 0x3b);
	eoi_slave(f);
	eoi_master(f);
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x3b);
	pic_set_irq(&f->p, 11, 0);
	eoi_slave(f);
	eoi_master(f);
	assert_false(pic_intr(&f->p));
	/* an edge input does not come back without a new edge */
	pic_set_irq(&f->p, 3, 1);
	assert_int_equal(pic_ack(&f->p), 0x33);
	eoi_master(f);
	assert_false(pic_intr(&f->p));
	/* the edge latches even if the line falls before the INTA */
	pic_set_irq(&f->p, 3, 0);
	pic_set_irq(&f->p, 3, 1);
	pic_set_irq(&f->p, 3, 0);
	assert_int_equal(pic_ack(&f->p), 0x33);
	/* bad ELCR accesses */
	assert_int_equal(pic_elcr_ops.read(&f->p, 0, 4), ~0ULL);
	pic_elcr_ops.write(&f->p, 0, 0, 4);
	assert_int_equal(inb(f, 0x4d0), 0x20);
}

static void test_special_mask(void **state)
{
	struct fx *f = *state;

	pic_set_irq(&f->p, 3, 1);
	assert_int_equal(pic_ack(&f->p), 0x33);
	/* the IRQ3 handler masks itself and enters special mask mode */
	outb(f, 0x21, 0x08);
	outb(f, 0x20, 0x68);
	pic_set_irq(&f->p, 6, 1); /* lower priority, yet served */
	assert_true(pic_intr(&f->p));
	assert_int_equal(pic_ack(&f->p), 0x36);
	/* a non-specific EOI in special mask mode skips masked IRQ3 */
	eoi_master(f);
	assert_int_equal(read_isr(f, 0x20), 0x08);
	outb(f, 0x20, 0x48); /* leave special mask mode */
	pic_set_irq(&f->p, 7, 1);
	assert_false(pic_intr(&f->p)); /* IRQ3 in service blocks 7 again */
	outb(f, 0x20, 0x63);
	assert_true(pic_intr(&f->p));
}

static void test_intr_edges(void **state)
{
	struct fx *f = *state;

	f->nev = 0;
	pic_set_irq(&f->p, 4, 1);
	pic_set_irq(&f->p, 6, 1); /* already high: no second call */
	assert_int_equal(f->nev, 1);
	assert_true(f->ev[0]);
	outb(f, 0x21, 0xff); /* masking lowers INT */
	assert_int_equal(f->nev, 2);
	assert_false(f->ev[1]);
	outb(f, 0x21, 0x00);
	assert_int_equal(f->nev, 3);
	assert_true(f->ev[2]);
	assert_int_equal(pic_ack(&f->p), 0x34); /* IRQ6 waits: INT falls */
	assert_int_equal(f->nev, 4);
	assert_false(f->ev[3]);
	eoi_master(f); /* IRQ6 now: rises */
	assert_int_equal(f->nev, 5);
	assert_true(f->ev[4]);
	/* reset: INT falls, state back to power-on, lines kept */
	pic_reset(&f->p);
	assert_int_equal(f->nev, 6);
	assert_false(f->ev[5]);
	assert_false(pic_intr(&f->p));
	assert_int_equal(f->p.chip[0].base, 0);
	assert_int_equal(inb(f, 0x20), 0); /* high lines need a new edge */
	pic_set_irq(&f->p, 4, 0);
	pic_set_irq(&f->p, 4, 1);
	assert_int_equal(f->nev, 7);
	assert_int_equal(pic_ack(&f->p), 4);
}

static void test_bad_sizes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pic_master_ops.read(&f->p, 0, 2), ~0ULL);
	assert_int_equal(pic_slave_ops.read(&f->p, 1, 4), ~0ULL);
	assert_int_equal(pic_master_ops.read(&f->p, 2, 1), ~0ULL);
	pic_master_ops.write(&f->p, 1, 0xff, 2);
	pic_slave_ops.write(&f->p, 0, 0x11, 4);
	pic_master_ops.write(&f->p, 5, 0x11, 1);
	assert_int_equal(inb(f, 0x21), 0);
	assert_int_equal(f->p.chip[1].init_step, 0);
	assert_int_equal(f->p.chip[0].init_step, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		cmocka_unit_test(test_power_on),
		cmocka_unit_test(test_linux_init),
		T(test_single_no_icw4),
		T(test_priority_and_nesting),
		T(test_specific_eoi),
		T(test_cascade),
		T(test_special_fully_nested),
		cmocka_unit_test(test_auto_eoi),
		T(test_rotation),
		T(test_poll),
		T(test_irr_isr_readback),
		T(test_spurious),
		T(test_elcr_level),
		T(test_special_mask),
		T(test_intr_edges),
		T(test_bad_sizes),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
