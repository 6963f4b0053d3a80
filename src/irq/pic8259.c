/*
 * The 8259A pair and its ELCR as one state machine whose output is the
 * master's INT line (ops->intr_changed). The contract is in
 * include/petrel/pic8259.h.
 */
#include <stddef.h>

#include "petrel/pic8259.h"

#define ICW1_ICW4 0x01
#define ICW1_SINGLE 0x02
#define ICW1_INIT 0x10
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
#define OCW3_SEL 0x08 /* bits 4:3 = 01 */
#define OCW3_POLL 0x04
#define OCW3_RR 0x02
#define OCW3_RIS 0x01
#define OCW3_ESMM 0x40
#define OCW3_SMM 0x20

enum { MASTER, SLAVE };

/* Requests as IRR shows them: latched edges, and the level inputs' lines. */
static void sync_levels(struct pic_chip *c)
{
	c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
}

static void chip_set_line(struct pic_chip *c, unsigned irq, bool level)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (level) {
		if ((c->armed & bit) && !(c->elcr & bit))
			c->irr |= bit;
		c->armed &= (uint8_t)~bit;
		c->lines |= bit;
	} else {
		c->armed |= bit;
		c->lines &= (uint8_t)~bit;
	}
	sync_levels(c);
}

/* Position of the highest-priority bit of mask (0 = highest), 8 if none. */
static unsigned prio(const struct pic_chip *c, uint8_t mask)
{
	for (unsigned i = 0; i < 8; i++)
		if (mask & (1u << ((c->lowest + 1 + i) & 7)))
			return i;
	return 8;
}

static unsigned prio_irq(const struct pic_chip *c, unsigned p)
{
	return (c->lowest + 1 + p) & 7;
}

/*
 * The input this chip would present at an INTA now, or -1: the highest
 * unmasked request, if it beats every level in service.
 */
static int chip_pending(const struct pic_chip *c, bool master)
{
	uint8_t in = c->isr;
	unsigned p = prio(c, c->irr & (uint8_t)~c->imr), cur;

	if (p == 8)
		return -1;
	if (c->special_mask)
		in &= (uint8_t)~c->imr;
	cur = prio(c, in);
	if (p < cur)
		return (int)prio_irq(c, p);
	/* special fully nested: a slave in service does not lock itself out */
	if (master && (c->icw4 & ICW4_SFNM) && p == cur &&
	    prio_irq(c, p) == PIC_CASCADE_IRQ)
		return PIC_CASCADE_IRQ;
	return -1;
}

static void update(struct pic8259 *p)
{
	bool intr;

	chip_set_line(&p->chip[MASTER], PIC_CASCADE_IRQ,
		      chip_pending(&p->chip[SLAVE], false) >= 0);
	intr = chip_pending(&p->chip[MASTER], true) >= 0;
	if (intr != p->intr) {
		p->intr = intr;
		p->ops->intr_changed(p->opaque, intr);
	}
}

/* The INTA (or poll) part of one chip: IRR to ISR. */
static void chip_ack(struct pic_chip *c, unsigned irq, bool master)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (!(c->elcr & bit))
		c->irr &= (uint8_t)~bit;
	if (c->icw4 & ICW4_AEOI) {
		if (c->rotate_aeoi)
			c->lowest = (uint8_t)irq;
	} else {
		c->isr |= bit;
	}
	/* let a slave that still has a request raise IR2 again (see the header) */
	if (master && irq == PIC_CASCADE_IRQ)
		c->armed |= bit;
}

int pic_ack(struct pic8259 *p)
{
	struct pic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	int irq = chip_pending(m, true), sirq, vector;

	if (irq < 0) {
		vector = m->base + 7; /* spurious: nothing in service */
	} else if (irq == PIC_CASCADE_IRQ && !m->single) {
		chip_ack(m, PIC_CASCADE_IRQ, true);
		sirq = chip_pending(s, false);
		if (sirq >= 0) {
			chip_ack(s, (unsigned)sirq, false);
			vector = s->base + sirq;
		} else {
			vector = s->base + 7; /* spurious on the slave */
		}
	} else {
		chip_ack(m, (unsigned)irq, true);
		vector = m->base + irq;
	}
	update(p);
	return vector;
}

bool pic_intr(const struct pic8259 *p)
{
	return chip_pending(&p->chip[MASTER], true) >= 0;
}

void pic_set_irq(struct pic8259 *p, unsigned irq, int level)
{
	if (irq >= PIC_NR_IRQS || irq == PIC_CASCADE_IRQ)
		return;
	chip_set_line(&p->chip[irq / 8], irq % 8, level != 0);
	update(p);
}

static void chip_reset(struct pic_chip *c, uint8_t elcr_mask)
{
	uint8_t lines = c->lines;

	*c = (struct pic_chip){ .lines = lines, .elcr_mask = elcr_mask };
	c->armed = (uint8_t)~lines;
	c->lowest = 7;
}

void pic_reset(struct pic8259 *p)
{
	chip_reset(&p->chip[MASTER], PIC_ELCR_MASK_MASTER);
	chip_reset(&p->chip[SLAVE], PIC_ELCR_MASK_SLAVE);
	update(p);
}

void pic_init(struct pic8259 *p, const struct pic_ops *ops, void *opaque)
{
	*p = (struct pic8259){ .ops = ops, .opaque = opaque };
	chip_reset(&p->chip[MASTER], PIC_ELCR_MASK_MASTER);
	chip_reset(&p->chip[SLAVE], PIC_ELCR_MASK_SLAVE);
}

/*
 * ICW1: the datasheet's initialisation. A line that is high now must go low
 * and high again to count as an edge; the level inputs keep their request.
 */
static void icw1(struct pic_chip *c, uint8_t val)
{
	c->irr = 0;
	c->armed = (uint8_t)~c->lines;
	sync_levels(c);
	c->isr = c->imr = 0;
	c->lowest = 7;
	c->read_isr = c->poll = c->special_mask = c->rotate_aeoi = false;
	c->single = (val & ICW1_SINGLE) != 0;
	c->need_icw4 = (val & ICW1_ICW4) != 0;
	if (!c->need_icw4)
		c->icw4 = 0;
	c->init_step = 2;
}

static void ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned level = val & 7, p;
	uint8_t in = c->isr;

	switch (val >> 5) {
	case 0: /* rotate in auto-EOI mode: clear */
	case 4: /* ... set */
		c->rotate_aeoi = (val >> 5) == 4;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		/* in special mask mode, a masked level in service stays */
		if (c->special_mask)
			in &= (uint8_t)~c->imr;
		p = prio(c, in);
		if (p == 8)
			break;
		level = prio_irq(c, p);
		c->isr &= (uint8_t)~(1u << level);
		if (val >> 5 == 5)
			c->lowest = (uint8_t)level;
		break;
	case 3: /* specific EOI */
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		if (val >> 5 == 7)
			c->lowest = (uint8_t)level;
		break;
	case 6: /* set priority: level becomes the lowest */
		c->lowest = (uint8_t)level;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & OCW3_POLL)
		c->poll = true;
	if (val & OCW3_RR)
		c->read_isr = (val & OCW3_RIS) != 0;
	if (val & OCW3_ESMM)
		c->special_mask = (val & OCW3_SMM) != 0;
}

static void port_write(struct pic8259 *p, unsigned which, uint64_t offset,
		       uint64_t value, unsigned size)
{
	struct pic_chip *c = &p->chip[which];
	uint8_t val = (uint8_t)value;

	if (size != 1 || offset >= PIC_NR_PORTS)
		return;
	if (offset == 0) {
		if (val & ICW1_INIT)
			icw1(c, val);
		else if (val & OCW3_SEL)
			ocw3(c, val);
		else
			ocw2(c, val);
	} else {
		switch (c->init_step) {
		case 2: /* ICW2 */
			c->base = val & 0xf8;
			c->init_step = !c->single ? 3 : c->need_icw4 ? 4 : 0;
			break;
		case 3: /* ICW3 */
			c->icw3 = val;
			c->init_step = c->need_icw4 ? 4 : 0;
			break;
		case 4: /* ICW4 */
			c->icw4 = val;
			c->init_step = 0;
			break;
		default: /* OCW1 */
			c->imr = val;
			break;
		}
	}
	update(p);
}

static uint64_t port_read(struct pic8259 *p, unsigned which, uint64_t offset,
			  unsigned size)
{
	struct pic_chip *c = &p->chip[which];
	int irq;

	if (size != 1 || offset >= PIC_NR_PORTS)
		return ~0ULL;
	if (c->poll) { /* the poll word, on either port: an INTA of this chip */
		c->poll = false;
		irq = chip_pending(c, which == MASTER);
		if (irq < 0)
			return 0;
		chip_ack(c, (unsigned)irq, which == MASTER);
		update(p);
		return 0x80 | (unsigned)irq;
	}
	if (offset == 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static uint64_t master_read(void *opaque, uint64_t offset, unsigned size)
{
	return port_read(opaque, MASTER, offset, size);
}

static void master_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	port_write(opaque, MASTER, offset, value, size);
}

static uint64_t slave_read(void *opaque, uint64_t offset, unsigned size)
{
	return port_read(opaque, SLAVE, offset, size);
}

static void slave_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	port_write(opaque, SLAVE, offset, value, size);
}

const struct bus_dev_ops pic_master_ops = { .read = master_read, .write = master_write };
const struct bus_dev_ops pic_slave_ops = { .read = slave_read, .write = slave_write };

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pic8259 *p = opaque;

	if (size == 2 && offset == 0)
		return p->chip[MASTER].elcr | (unsigned)p->chip[SLAVE].elcr << 8;
	if (size != 1 || offset >= PIC_NR_PORTS)
		return ~0ULL;
	return p->chip[offset].elcr;
}

static void elcr_set(struct pic_chip *c, uint8_t val)
{
	c->elcr = val & c->elcr_mask;
	sync_levels(c);
}

static void elcr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct pic8259 *p = opaque;

	if (size == 2 && offset == 0) {
		elcr_set(&p->chip[MASTER], (uint8_t)value);
		elcr_set(&p->chip[SLAVE], (uint8_t)(value >> 8));
	} else if (size == 1 && offset < PIC_NR_PORTS) {
		elcr_set(&p->chip[offset], (uint8_t)value);
	} else {
		return;
	}
	update(p);
}

const struct bus_dev_ops pic_elcr_ops = { .read = elcr_read, .write = elcr_write };
