/*
 * The 8254 PIT and port 0x61. See pit8254.h for the contract.
 *
 * Everything is kept in ticks of the PIT clock counted from pit_init (an
 * absolute tick t), so that reloading a periodic mode at the end of a
 * period is exact (start += n) and no rounding of nanoseconds accumulates.
 * A channel that counts was loaded with n at tick start; d = t - start
 * ticks have passed since, and its counter, OUT and edges are functions of
 * d alone.
 */
#include <errno.h>
#include <string.h>

#include "petrel/pit8254.h"

#define NS_PER_SEC 1000000000u
#define NONE UINT64_MAX
/* PIT_MIN_IRQ_PERIOD_NS in ticks, rounded up (120) */
#define MIN_IRQ_TICKS \
	(((uint64_t)PIT_MIN_IRQ_PERIOD_NS * PIT_HZ + NS_PER_SEC - 1) / NS_PER_SEC)

/* floor(ns * PIT_HZ / 10^9), without overflow (as pm_timer_ticks) */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_SEC * PIT_HZ + ns % NS_PER_SEC * PIT_HZ / NS_PER_SEC;
}

/* ceil(k * 10^9 / PIT_HZ): the first ns at which ns_to_ticks reaches k */
static uint64_t ticks_to_ns(uint64_t k)
{
	uint64_t s = k / PIT_HZ, part, whole;

	if (s > UINT64_MAX / NS_PER_SEC)
		return UINT64_MAX;
	whole = s * NS_PER_SEC;
	part = (k % PIT_HZ * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
	return whole > UINT64_MAX - part ? UINT64_MAX : whole + part;
}

static uint64_t now_tick(const struct pit8254 *p)
{
	return ns_to_ticks(p->ops->now_ns(p->opaque) - p->t0_ns);
}

static uint32_t modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint32_t decode_count(const struct pit_channel *c, uint16_t raw)
{
	uint32_t v = raw;

	if (c->bcd)
		v = ((raw >> 12) * 1000u + (raw >> 8 & 15) * 100u +
		     (raw >> 4 & 15) * 10u + (raw & 15)) % 10000u;
	return v ? v : modulus(c);
}

static uint16_t encode_count(const struct pit_channel *c, uint32_t v)
{
	v %= modulus(c);
	if (!c->bcd)
		return (uint16_t)v;
	return (uint16_t)(v / 1000 << 12 | v / 100 % 10 << 8 | v / 10 % 10 << 4 |
			  v % 10);
}

static bool periodic(const struct pit_channel *c)
{
	return c->mode == 2 || c->mode == 3;
}

/* the count a load puts into the counting element */
static uint32_t load_n(const struct pit_channel *c)
{
	return periodic(c) && c->cr < 2 ? 2 : c->cr;
}

static uint64_t elapsed(const struct pit_channel *c, uint64_t t)
{
	return c->frozen ? c->frozen_d : t - c->start;
}

/* A new count waiting in a periodic mode enters at the end of the period. */
static void ch_sync(struct pit_channel *c, uint64_t t)
{
	if (c->counting && c->pending && periodic(c) && t - c->start >= c->n) {
		c->start += c->n;
		c->n = load_n(c);
		c->pending = false;
		c->reloaded = true;
	}
}

static void ch_load(struct pit_channel *c, uint64_t t)
{
	c->n = load_n(c);
	c->start = t;
	c->counting = true;
	c->pending = false;
	c->reloaded = false;
	c->null_until = t + 1;
	/* modes 0 and 4 wait for the gate with the count loaded */
	c->frozen = !c->gate && (c->mode == 0 || c->mode == 4);
	c->frozen_d = 0;
}

/* The counting element's value (binary, 1..modulus) while counting. */
static uint32_t ce_value(const struct pit_channel *c, uint64_t t)
{
	uint64_t d = elapsed(c, t), p, h, n = c->n;
	uint32_t m = modulus(c);

	switch (c->mode) {
	case 2:
		return (uint32_t)(n - d % n);
	case 3:
		/* by twos; an odd count spends one extra tick in each half's first step */
		p = d % n;
		h = (n + 1) / 2;
		if (n % 2 == 0)
			return (uint32_t)(p < h ? n - 2 * p : n - 2 * (p - h));
		if (p == 0 || p == h)
			return (uint32_t)n;
		return (uint32_t)(p < h ? n + 1 - 2 * p : n - 1 - 2 * (p - h));
	default: /* 0, 1, 4, 5: down from n, wrapping past 0 */
		return (uint32_t)((n + m - d % m) % m);
	}
}

static uint16_t ce_read(struct pit_channel *c, uint64_t t)
{
	ch_sync(c, t);
	return c->counting ? encode_count(c, ce_value(c, t)) : c->hold;
}

static int ch_out(struct pit_channel *c, uint64_t t)
{
	uint64_t d;

	ch_sync(c, t);
	if (!c->counting)
		return c->mode != 0;
	d = elapsed(c, t);
	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->n;
	case 2:
		return d % c->n != c->n - 1;
	case 3:
		return d % c->n < (c->n + 1) / 2;
	default: /* 4, 5: one tick low at n */
		return d != c->n;
	}
}

/*
 * Rising edges of OUT inside a mode, for channel 0 (gate high, never
 * frozen): the latest at or before t, and the first after t (when periodic,
 * the first at or after x > t). NONE when there is none.
 */
static uint64_t last_rise(const struct pit_channel *c, uint64_t t)
{
	uint64_t d;

	if (!c->counting || c->frozen)
		return NONE;
	d = t - c->start;
	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->n ? c->start + c->n : NONE;
	case 2:
	case 3:
		if (d >= c->n)
			return c->start + d / c->n * c->n;
		/* a period's end that loaded a new count is an edge too */
		return c->reloaded ? c->start : NONE;
	default:
		return d >= c->n + 1ull ? c->start + c->n + 1 : NONE;
	}
}

/* the first point of base + k * n (k >= 0) at or after x */
static uint64_t grid_from(uint64_t base, uint64_t n, uint64_t x)
{
	return x <= base ? base : base + (x - base + n - 1) / n * n;
}

static uint64_t next_rise(const struct pit_channel *c, uint64_t t, uint64_t x)
{
	uint64_t d;

	if (!c->counting || c->frozen)
		return NONE;
	d = t - c->start;
	switch (c->mode) {
	case 0:
	case 1:
		return d < c->n ? c->start + c->n : NONE;
	case 2:
	case 3:
		/* after ch_sync a pending count means d < n: the period's end is ahead */
		if (c->pending)
			return grid_from(c->start + c->n, load_n(c), x);
		return grid_from(c->start + c->n, c->n, x);
	default:
		return d < c->n + 1ull ? c->start + c->n + 1 : NONE;
	}
}

static void set_line(struct pit8254 *p, bool level)
{
	if (p->irq_level == level)
		return;
	p->irq_level = level;
	p->ops->irq0(p->opaque, level);
}

/* Brings IRQ0 and the timer up to date with channel 0 at tick t. */
static void pit_update(struct pit8254 *p, uint64_t t)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t r, k, x, dl;

	ch_sync(c, t);
	r = last_rise(c, t);
	if (r != NONE && r > p->delivered) {
		/* one edge, however many periods passed since the last one */
		set_line(p, false);
		set_line(p, true);
		p->delivered = r;
	}
	set_line(p, ch_out(c, t));
	/* periodic edges: not sooner than MIN_IRQ_TICKS after the last one */
	x = p->delivered && p->delivered + MIN_IRQ_TICKS > t + 1 ?
		    p->delivered + MIN_IRQ_TICKS : t + 1;
	k = next_rise(c, t, x);
	if (k == NONE)
		dl = 0;
	else {
		dl = ticks_to_ns(k);
		dl = dl > UINT64_MAX - p->t0_ns ? UINT64_MAX : dl + p->t0_ns;
	}
	if (dl != p->armed || p->rearm) {
		p->armed = dl;
		p->rearm = false;
		p->ops->arm(p->opaque, dl);
	}
}

static void latch_count(struct pit_channel *c, uint64_t t)
{
	if (c->count_latched)
		return;
	c->latch = ce_read(c, t);
	c->count_latched = true;
}

static void latch_status(struct pit_channel *c, uint64_t t)
{
	bool null;

	if (c->status_latched)
		return;
	ch_sync(c, t);
	null = !c->cr || c->pending || !c->counting || t < c->null_until;
	c->status = (uint8_t)(ch_out(c, t) << 7 | null << 6 | c->rw << 4 |
			      c->ctl_mode << 1 | c->bcd);
	c->status_latched = true;
}

static void control_word(struct pit8254 *p, uint8_t v, uint64_t t)
{
	struct pit_channel *c;

	if (v >> 6 == 3) { /* read-back: D5 low latches counts, D4 low statuses */
		for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
			if (!(v & 2u << i))
				continue;
			if (!(v & 0x20))
				latch_count(&p->ch[i], t);
			if (!(v & 0x10))
				latch_status(&p->ch[i], t);
		}
		return;
	}
	c = &p->ch[v >> 6];
	if (!(v & 0x30)) {
		latch_count(c, t);
		return;
	}
	c->hold = ce_read(c, t); /* the counter stops where it was */
	c->ctl_mode = v >> 1 & 7;
	c->mode = c->ctl_mode > 5 ? c->ctl_mode - 4 : c->ctl_mode;
	c->rw = v >> 4 & 3;
	c->bcd = v & 1;
	c->cr = 0;
	c->whi = c->rhi = false;
	c->count_latched = c->status_latched = false;
	c->counting = c->frozen = c->pending = false;
}

static void count_written(struct pit_channel *c, uint16_t raw, uint64_t t)
{
	ch_sync(c, t);
	c->cr = decode_count(c, raw);
	switch (c->mode) {
	case 0:
	case 4:
		ch_load(c, t);
		break;
	case 2:
	case 3:
		if (c->counting)
			c->pending = true;
		else if (c->gate)
			ch_load(c, t);
		break;
	default: /* 1, 5: loaded by the next rising gate */
		c->pending = true;
		break;
	}
}

static void data_write(struct pit_channel *c, uint8_t v, uint64_t t)
{
	switch (c->rw) {
	case 1:
		count_written(c, v, t);
		break;
	case 2:
		count_written(c, (uint16_t)(v << 8), t);
		break;
	default:
		if (!c->whi) {
			c->wlo = v;
			c->whi = true;
			if (c->mode == 0 && c->counting) {
				/* the first byte stops mode 0: OUT low */
				c->hold = ce_read(c, t);
				c->counting = c->frozen = false;
			}
			break;
		}
		c->whi = false;
		count_written(c, (uint16_t)(c->wlo | v << 8), t);
		break;
	}
}

static uint8_t data_read(struct pit_channel *c, uint64_t t)
{
	uint16_t v;
	bool hi;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	v = c->count_latched ? c->latch : ce_read(c, t);
	if (c->rw == 3) {
		hi = c->rhi;
		c->rhi = !c->rhi;
	} else {
		hi = c->rw == 2;
	}
	/* a latch is released by its last byte */
	if (c->count_latched && (c->rw != 3 || hi))
		c->count_latched = false;
	return (uint8_t)(hi ? v >> 8 : v);
}

static void set_gate(struct pit_channel *c, bool level, uint64_t t)
{
	if (c->gate == level)
		return;
	ch_sync(c, t);
	c->gate = level;
	switch (c->mode) {
	case 0:
	case 4:
		if (!c->counting)
			break;
		if (!level) {
			c->frozen_d = elapsed(c, t);
			c->frozen = true;
		} else if (c->frozen) {
			c->start = t - c->frozen_d;
			c->frozen = false;
		}
		break;
	case 2:
	case 3:
		if (!level && c->counting) { /* stop; OUT goes high */
			c->hold = ce_read(c, t);
			c->counting = false;
			c->pending = false;
		} else if (level && c->cr) {
			ch_load(c, t);
		}
		break;
	default: /* 1, 5: a rising gate (re)triggers */
		if (level && c->cr)
			ch_load(c, t);
		break;
	}
}

void pit_init(struct pit8254 *p, const struct pit_ops *ops, void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->opaque = opaque;
	p->t0_ns = ops->now_ns(opaque);
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		struct pit_channel *c = &p->ch[i];

		c->ctl_mode = c->mode = 3;
		c->rw = 3;
		c->gate = i != 2; /* channels 0 and 1: tied high */
	}
	p->irq_level = true; /* OUT is high in mode 3 before a count */
}

void pit_expired(struct pit8254 *p)
{
	p->rearm = true; /* the one-shot host timer is spent */
	pit_update(p, now_tick(p));
}

int pit_out(struct pit8254 *p, unsigned ch)
{
	if (ch >= PIT_NR_CHANNELS)
		return -EINVAL;
	return ch_out(&p->ch[ch], now_tick(p));
}

static uint64_t pit_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pit8254 *p = opaque;
	uint64_t t;
	uint8_t v;

	if (size != 1 || offset >= PIT_NR_PORTS)
		return UINT64_MAX;
	if (offset == 3)
		return 0xff; /* the control word is write-only */
	t = now_tick(p);
	v = data_read(&p->ch[offset], t);
	pit_update(p, t);
	return v;
}

static void pit_io_write(void *opaque, uint64_t offset, uint64_t value,
			 unsigned size)
{
	struct pit8254 *p = opaque;
	uint64_t t;

	if (size != 1 || offset >= PIT_NR_PORTS)
		return;
	t = now_tick(p);
	/* an edge already due belongs to the old programming: deliver it first */
	pit_update(p, t);
	if (offset == 3)
		control_word(p, (uint8_t)value, t);
	else
		data_write(&p->ch[offset], (uint8_t)value, t);
	pit_update(p, t);
}

const struct bus_dev_ops pit_ops_io = {
	.read = pit_io_read,
	.write = pit_io_write,
};

static uint64_t pit_p61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pit8254 *p = opaque;
	uint64_t t;

	if (size != 1 || offset != 0)
		return UINT64_MAX;
	t = now_tick(p);
	return p->p61 | (t / PIT_REFRESH_TICKS & 1 ? PIT_P61_REFRESH : 0) |
	       (ch_out(&p->ch[2], t) ? PIT_P61_OUT2 : 0);
}

static void pit_p61_write(void *opaque, uint64_t offset, uint64_t value,
			  unsigned size)
{
	struct pit8254 *p = opaque;

	if (size != 1 || offset != 0)
		return;
	p->p61 = value & PIT_P61_RW_MASK;
	set_gate(&p->ch[2], value & PIT_P61_GATE2, now_tick(p));
}

const struct bus_dev_ops pit_port61_ops = {
	.read = pit_p61_read,
	.write = pit_p61_write,
};
