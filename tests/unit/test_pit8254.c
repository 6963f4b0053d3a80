/*
 * The 8254 PIT model under a fake clock: each mode's OUT and counter at
 * chosen ticks, the access modes and latches, read-back, count 0, new
 * counts mid-count, channel 2 through port 0x61 (Linux's TSC calibration),
 * one IRQ0 edge per late timer with the phase kept, and Linux's shutdown.
 * The recorder checks on every call that irq0 only changes the level and
 * that arm never asks for a deadline in the past.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "petrel/pit8254.h"

#define T0 5000000000ull /* the clock at pit_init: not 0, so t0 matters */

struct fx {
	struct pit8254 p;
	uint64_t ns;
	int level;     /* what irq0 last said (the model starts high) */
	int rises;     /* 0 -> 1 transitions of irq0 */
	int irq_calls;
	uint64_t deadline;
	int arms;
};

static uint64_t fake_now(void *opaque)
{
	return ((struct fx *)opaque)->ns;
}

static void rec_arm(void *opaque, uint64_t deadline)
{
	struct fx *f = opaque;

	if (deadline)
		assert_true(deadline > f->ns);
	f->deadline = deadline;
	f->arms++;
}

static void rec_irq0(void *opaque, int level)
{
	struct fx *f = opaque;

	assert_int_not_equal(level, f->level);
	if (level)
		f->rises++;
	f->level = level;
	f->irq_calls++;
}

static const struct pit_ops fake_ops = {
	.now_ns = fake_now,
	.arm = rec_arm,
	.irq0 = rec_irq0,
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.ns = T0;
	f.level = 1;
	pit_init(&f.p, &fake_ops, &f);
	*state = &f;
	return 0;
}

/* the first ns of PIT tick k after pit_init */
static uint64_t tick_ns(uint64_t k)
{
	return T0 + (k * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static void at(struct fx *f, uint64_t k)
{
	f->ns = tick_ns(k);
}

static void outb(struct fx *f, unsigned port, uint8_t v)
{
	if (port == 0x61)
		pit_port61_ops.write(&f->p, 0, v, 1);
	else
		pit_ops_io.write(&f->p, port - 0x40, v, 1);
}

static uint8_t inb(struct fx *f, unsigned port)
{
	if (port == 0x61)
		return (uint8_t)pit_port61_ops.read(&f->p, 0, 1);
	return (uint8_t)pit_ops_io.read(&f->p, port - 0x40, 1);
}

static void count16(struct fx *f, unsigned ch, uint16_t v)
{
	outb(f, 0x40 + ch, v & 0xff);
	outb(f, 0x40 + ch, v >> 8);
}

/* latch and read a channel in LSB-then-MSB mode */
static unsigned latched(struct fx *f, unsigned ch)
{
	unsigned lo, hi;

	outb(f, 0x43, (uint8_t)(ch << 6));
	lo = inb(f, 0x40 + ch);
	hi = inb(f, 0x40 + ch);
	return lo | hi << 8;
}

/* A perfect host timer: expire at each armed deadline up to tick k. */
static void run_to(struct fx *f, uint64_t k)
{
	uint64_t end = tick_ns(k);

	while (f->deadline && f->deadline <= end) {
		f->ns = f->deadline;
		pit_expired(&f->p);
	}
	f->ns = end;
}

static void test_mode0(void **state)
{
	struct fx *f = *state;

	at(f, 10);
	outb(f, 0x43, 0x30); /* ch0, LSB then MSB, mode 0 */
	assert_int_equal(f->level, 0);       /* OUT low at once */
	assert_int_equal(f->deadline, 0);    /* nothing counts yet */
	count16(f, 0, 1000);
	assert_int_equal(f->deadline, tick_ns(1010));
	assert_int_equal(latched(f, 0), 1000);
	at(f, 20);
	assert_int_equal(latched(f, 0), 990);
	at(f, 1009);
	assert_int_equal(pit_out(&f->p, 0), 0);
	assert_int_equal(latched(f, 0), 1);
	run_to(f, 1010);
	assert_int_equal(pit_out(&f->p, 0), 1);
	assert_int_equal(f->rises, 1);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->deadline, 0);
	/* the counter wraps and goes on; OUT stays high, no more edges */
	at(f, 1015);
	assert_int_equal(latched(f, 0), 65531);
	run_to(f, 500000);
	assert_int_equal(f->rises, 1);
	assert_int_equal(pit_out(&f->p, 0), 1);
}

/* Mode 0: the first byte of a new count stops it, the second restarts it. */
static void test_mode0_rewrite(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x30);
	count16(f, 0, 100);
	at(f, 50);
	outb(f, 0x40, 0x20);
	assert_int_equal(pit_out(&f->p, 0), 0);
	at(f, 80);
	assert_int_equal(latched(f, 0), 50); /* stopped where it was */
	outb(f, 0x40, 0x01);                 /* 0x0120 = 288 from tick 80 */
	assert_int_equal(f->deadline, tick_ns(80 + 288));
	run_to(f, 200); /* the first count would have ended at 100 */
	assert_int_equal(f->rises, 0);
	run_to(f, 368);
	assert_int_equal(f->rises, 1);
	/* after terminal count, a new count takes OUT low again */
	at(f, 400);
	count16(f, 0, 10);
	assert_int_equal(f->level, 0);
	run_to(f, 410);
	assert_int_equal(f->rises, 2);
}

static void test_mode2(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x34); /* ch0, LSB then MSB, mode 2 */
	count16(f, 0, 1193);
	assert_int_equal(pit_out(&f->p, 0), 1);
	assert_int_equal(latched(f, 0), 1193);
	at(f, 1191);
	assert_int_equal(pit_out(&f->p, 0), 1);
	assert_int_equal(latched(f, 0), 2);
	at(f, 1192); /* low for the count's last tick */
	assert_int_equal(pit_out(&f->p, 0), 0);
	assert_int_equal(latched(f, 0), 1);
	at(f, 1193);
	assert_int_equal(pit_out(&f->p, 0), 1);
	assert_int_equal(latched(f, 0), 1193);
	run_to(f, 10 * 1193);
	assert_int_equal(f->rises, 10);
	assert_int_equal(f->deadline, tick_ns(11 * 1193));
	assert_int_equal(f->level, 1);
	/* a mode 6 control word is mode 2 (the status keeps the 6) */
	outb(f, 0x43, 0x3c);
	count16(f, 0, 2000);
	at(f, 10 * 1193 + 1999);
	assert_int_equal(pit_out(&f->p, 0), 0);
	outb(f, 0x43, 0xe2); /* read-back: status of ch0 */
	assert_int_equal(inb(f, 0x40), 0x3c);
}

/* A timer that fires late by several periods gives one edge, on the grid. */
static void test_late_timer_one_edge(void **state)
{
	struct fx *f = *state;
	int arms;

	outb(f, 0x43, 0x34);
	count16(f, 0, 1193);
	run_to(f, 1193);
	assert_int_equal(f->rises, 1);
	/* the host timer fires 5.5 periods late */
	f->ns = tick_ns(1193 * 6 + 600);
	arms = f->arms;
	pit_expired(&f->p);
	assert_int_equal(f->rises, 2);
	assert_int_equal(f->arms, arms + 1);
	assert_int_equal(f->deadline, tick_ns(1193 * 7)); /* the phase is kept */
	/* an early or spurious expiry delivers nothing and still re-arms */
	pit_expired(&f->p);
	assert_int_equal(f->rises, 2);
	assert_int_equal(f->arms, arms + 2);
	assert_int_equal(f->deadline, tick_ns(1193 * 7));
	run_to(f, 1193 * 9);
	assert_int_equal(f->rises, 5);
}

static void test_mode3(void **state)
{
	struct fx *f = *state;
	static const unsigned even_ce[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	static const unsigned odd_ce[] = { 7, 6, 4, 2, 7, 4, 2, 7 };

	outb(f, 0x43, 0x76); /* ch1, LSB then MSB, mode 3 */
	count16(f, 1, 10);
	for (unsigned d = 0; d < 11; d++) {
		at(f, d);
		assert_int_equal(pit_out(&f->p, 1), d % 10 < 5);
		assert_int_equal(latched(f, 1), even_ce[d]);
	}
	/* odd: high (N+1)/2, low (N-1)/2 */
	outb(f, 0x43, 0x76);
	count16(f, 1, 7);
	for (unsigned d = 0; d < 8; d++) {
		at(f, 10 + d);
		assert_int_equal(pit_out(&f->p, 1), d % 7 < 4);
		assert_int_equal(latched(f, 1), odd_ce[d]);
	}
	assert_int_equal(f->rises, 0); /* channel 1 is not IRQ0 */
	/* on channel 0: one rising edge per period */
	at(f, 100);
	outb(f, 0x43, 0x36);
	count16(f, 0, 2386);
	run_to(f, 100 + 5 * 2386);
	assert_int_equal(f->rises, 5);
	/* noticed late in its low half: the edge, then the line follows OUT */
	f->ns = tick_ns(100 + 6 * 2386 + 1500);
	pit_expired(&f->p);
	assert_int_equal(f->rises, 6);
	assert_int_equal(f->level, 0);
	run_to(f, 100 + 7 * 2386);
	assert_int_equal(f->rises, 7);
	assert_int_equal(f->level, 1);
}

static void test_mode4(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x38); /* Linux's one-shot clockevent */
	assert_int_equal(f->level, 1);
	count16(f, 0, 50);
	assert_int_equal(f->deadline, tick_ns(51));
	at(f, 49);
	assert_int_equal(pit_out(&f->p, 0), 1);
	at(f, 50);
	assert_int_equal(pit_out(&f->p, 0), 0);
	assert_int_equal(latched(f, 0), 0);
	run_to(f, 51);
	assert_int_equal(f->rises, 1);
	assert_int_equal(f->deadline, 0);
	run_to(f, 200000);
	assert_int_equal(f->rises, 1); /* once */
	/* a new count mid-count starts over */
	count16(f, 0, 100);
	at(f, 200020);
	count16(f, 0, 100);
	assert_int_equal(f->deadline, tick_ns(200020 + 101));
	run_to(f, 200200);
	assert_int_equal(f->rises, 2);
}

/* Modes 1 and 5 need a rising gate: only channel 2 has one. */
static void test_mode1_mode5_gate(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x32); /* ch0 mode 1: gate tied high, never starts */
	count16(f, 0, 10);
	assert_int_equal(f->deadline, 0);
	run_to(f, 1000);
	assert_int_equal(f->rises, 0);
	assert_int_equal(pit_out(&f->p, 0), 1);

	outb(f, 0x61, 0);
	outb(f, 0x43, 0x92); /* ch2, LSB, mode 1 */
	outb(f, 0x42, 10);
	at(f, 1100);
	assert_int_equal(pit_out(&f->p, 2), 1);
	outb(f, 0x61, PIT_P61_GATE2);
	assert_int_equal(pit_out(&f->p, 2), 0);
	at(f, 1105);
	assert_int_equal(inb(f, 0x42), 5);
	outb(f, 0x61, 0); /* a falling gate does not stop mode 1 */
	at(f, 1107);
	assert_int_equal(inb(f, 0x42), 3);
	outb(f, 0x61, PIT_P61_GATE2); /* retrigger */
	at(f, 1116);
	assert_int_equal(pit_out(&f->p, 2), 0);
	at(f, 1117);
	assert_int_equal(pit_out(&f->p, 2), 1);
	assert_int_equal(inb(f, 0x61) & PIT_P61_OUT2, PIT_P61_OUT2);

	outb(f, 0x61, 0);
	outb(f, 0x43, 0x9a); /* ch2, LSB, mode 5 */
	outb(f, 0x42, 10);
	at(f, 1200);
	outb(f, 0x61, PIT_P61_GATE2);
	at(f, 1209);
	assert_int_equal(pit_out(&f->p, 2), 1);
	at(f, 1210);
	assert_int_equal(pit_out(&f->p, 2), 0);
	at(f, 1211);
	assert_int_equal(pit_out(&f->p, 2), 1);
	assert_int_equal(f->rises, 0);
}

/* The gate stops modes 0 and 4 (and resumes them), stops and reloads 2 and 3. */
static void test_gate_modes_0_2(void **state)
{
	struct fx *f = *state;

	outb(f, 0x61, 0);
	outb(f, 0x43, 0xb0); /* ch2 mode 0 */
	count16(f, 2, 100);
	at(f, 50);
	assert_int_equal(latched(f, 2), 100); /* gate low: loaded, not counting */
	outb(f, 0x61, PIT_P61_GATE2);
	at(f, 80);
	assert_int_equal(latched(f, 2), 70);
	outb(f, 0x61, 0);
	at(f, 500);
	assert_int_equal(latched(f, 2), 70);
	assert_int_equal(pit_out(&f->p, 2), 0);
	outb(f, 0x61, PIT_P61_GATE2);
	at(f, 569);
	assert_int_equal(pit_out(&f->p, 2), 0);
	at(f, 570);
	assert_int_equal(pit_out(&f->p, 2), 1);

	outb(f, 0x43, 0xb4); /* ch2 mode 2, gate high: counts at once */
	count16(f, 2, 100);
	at(f, 669);
	assert_int_equal(pit_out(&f->p, 2), 0);
	at(f, 690);
	assert_int_equal(latched(f, 2), 80);
	outb(f, 0x61, 0); /* low: OUT high, counting stops */
	at(f, 769);
	assert_int_equal(pit_out(&f->p, 2), 1);
	assert_int_equal(latched(f, 2), 80);
	outb(f, 0x61, PIT_P61_GATE2); /* rising: reloaded */
	assert_int_equal(latched(f, 2), 100);
	at(f, 868);
	assert_int_equal(pit_out(&f->p, 2), 0);
}

static void test_access_modes_and_latch(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x10); /* ch0, LSB only, mode 0 */
	outb(f, 0x40, 0x34);
	at(f, 4);
	assert_int_equal(inb(f, 0x40), 0x30);
	assert_int_equal(inb(f, 0x40), 0x30); /* LSB every time */
	assert_int_equal(f->deadline, tick_ns(0x34));

	outb(f, 0x43, 0x20); /* MSB only */
	outb(f, 0x40, 0x12);
	assert_int_equal(f->deadline, tick_ns(4 + 0x1200));
	at(f, 4 + 0x100);
	assert_int_equal(inb(f, 0x40), 0x11);

	at(f, 0x1000);
	outb(f, 0x43, 0x30); /* LSB then MSB, latched */
	count16(f, 0, 0x4000);
	at(f, 0x2000);
	outb(f, 0x43, 0x00); /* latch ch0: 0x3000 */
	at(f, 0x2900);
	outb(f, 0x43, 0x00); /* ignored: the first latch is unread */
	assert_int_equal(inb(f, 0x40), 0x00);
	at(f, 0x3000);
	assert_int_equal(inb(f, 0x40), 0x30);
	/* released: the next reads are live, the flip-flop back on the LSB */
	assert_int_equal(latched(f, 0), 0x2000);
	/* unlatched LSB then MSB read at different times: each byte is live */
	at(f, 0x3100);
	assert_int_equal(inb(f, 0x40), 0x00); /* of 0x1f00 */
	at(f, 0x3200);
	assert_int_equal(inb(f, 0x40), 0x1e); /* of 0x1e00 */
	/* a control word resets the read flip-flop and drops a latch */
	outb(f, 0x43, 0x00);
	assert_int_equal(inb(f, 0x40), 0x00);
	outb(f, 0x43, 0x30);
	count16(f, 0, 0x0302);
	assert_int_equal(inb(f, 0x40), 0x02);
	assert_int_equal(inb(f, 0x40), 0x03);
}

static void test_read_back(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x34);  /* ch0 mode 2, LSB then MSB */
	count16(f, 0, 1000);
	outb(f, 0x43, 0x56);  /* ch1 mode 3, LSB */
	outb(f, 0x41, 200);
	outb(f, 0x61, PIT_P61_GATE2);
	outb(f, 0x43, 0xb1);  /* ch2 mode 0, BCD */
	count16(f, 2, 0x1234);
	/* the same tick as the writes: null count still set */
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40), 0x80 | 0x40 | 0x30 | 0x04);
	at(f, 10);
	outb(f, 0x43, 0xce); /* counts and statuses of all three */
	outb(f, 0x43, 0xce); /* ignored: all latched */
	at(f, 500);
	assert_int_equal(inb(f, 0x40), 0x80 | 0x30 | 0x04);
	assert_int_equal(inb(f, 0x40), 990 & 0xff);
	assert_int_equal(inb(f, 0x40), 990 >> 8);
	assert_int_equal(inb(f, 0x41), 0x80 | 0x10 | 0x06);
	assert_int_equal(inb(f, 0x41), 180); /* mode 3 counts by two */
	assert_int_equal(inb(f, 0x42), 0x30 | 0x01); /* OUT low, mode 0, BCD */
	assert_int_equal(inb(f, 0x42), 0x24);        /* 1234 - 10 = 1224 */
	assert_int_equal(inb(f, 0x42), 0x12);
	/* count only (D4 set) for ch1, status only (D5 set) for ch2 */
	outb(f, 0x43, 0xd4);
	outb(f, 0x43, 0xe8);
	/* d = 500: the start of a low half, reloaded to 200 */
	assert_int_equal(inb(f, 0x41), 200);
	assert_int_equal(inb(f, 0x41), 200); /* live again: the same tick */
	assert_int_equal(inb(f, 0x42), 0x31);
	assert_int_equal(inb(f, 0x42), 0x34); /* 1234 - 500 = 0734, live */
	assert_int_equal(inb(f, 0x42), 0x07);
	/* reading 0x43 and wider accesses: all-ones, nothing changes */
	assert_int_equal(inb(f, 0x43), 0xff);
	assert_int_equal(pit_ops_io.read(&f->p, 0, 2), UINT64_MAX);
	pit_ops_io.write(&f->p, 3, 0x30, 2);
	assert_int_equal(pit_out(&f->p, 0), 1);
	assert_int_equal(pit_port61_ops.read(&f->p, 0, 4), UINT64_MAX);
	assert_int_equal(pit_out(&f->p, 3), -EINVAL);
}

static void test_count_zero(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x30);
	count16(f, 0, 0);
	assert_int_equal(latched(f, 0), 0);
	at(f, 1);
	assert_int_equal(latched(f, 0), 65535);
	assert_int_equal(f->deadline, tick_ns(65536));
	run_to(f, 65536);
	assert_int_equal(f->rises, 1);
	/* mode 2: a period of 65536 */
	outb(f, 0x43, 0x34);
	count16(f, 0, 0);
	run_to(f, 65536 + 3 * 65536);
	assert_int_equal(f->rises, 4);
	/* BCD: 0 is 10000 */
	at(f, 300000);
	outb(f, 0x43, 0x31);
	count16(f, 0, 0);
	at(f, 300001);
	assert_int_equal(latched(f, 0), 0x9999);
	assert_int_equal(f->deadline, tick_ns(310000));
}

static void test_new_count_mid_period(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x34);
	count16(f, 0, 1193);
	at(f, 500);
	count16(f, 0, 2000); /* waits for the end of this period */
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40) & 0x40, 0x40); /* null count */
	at(f, 1000);
	assert_int_equal(latched(f, 0), 193);
	run_to(f, 1193);
	assert_int_equal(f->rises, 1);
	assert_int_equal(f->deadline, tick_ns(1193 + 2000));
	at(f, 1203);
	assert_int_equal(latched(f, 0), 1990);
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40) & 0x40, 0);
	run_to(f, 1193 + 3 * 2000);
	assert_int_equal(f->rises, 4);
	/* a new control word stops it at once: no timer */
	outb(f, 0x43, 0x34);
	assert_int_equal(f->deadline, 0);
}

/*
 * Linux's pit_calibrate_tsc(): gate on, speaker off, ch2 mode 0 with a
 * 10 ms count, poll port 0x61 bit 5. Also quick_pit_calibrate()'s MSB reads.
 */
static void test_linux_calibration(void **state)
{
	struct fx *f = *state;
	const unsigned latch = PIT_HZ / 100; /* 11931 */
	uint64_t start, polls = 0;

	at(f, 777);
	outb(f, 0x61, (inb(f, 0x61) & ~PIT_P61_SPEAKER) | PIT_P61_GATE2);
	assert_int_equal(inb(f, 0x61) & 0x0f, PIT_P61_GATE2);
	outb(f, 0x43, 0xb0);
	outb(f, 0x42, latch & 0xff);
	outb(f, 0x42, latch >> 8);
	start = f->ns;
	while (!(inb(f, 0x61) & PIT_P61_OUT2)) {
		f->ns += 1000; /* the guest's loop: 1 us per poll */
		assert_true(++polls < 100000);
	}
	/* set after latch ticks (10 ms), within one poll */
	assert_true(f->ns >= tick_ns(777 + latch));
	assert_true(f->ns < tick_ns(777 + latch) + 1000);
	assert_true(f->ns - start > 9990000 && f->ns - start < 10010000);
	assert_int_equal(f->rises, 0); /* channel 2 has no interrupt */
	assert_int_equal(f->deadline, 0);

	/* quick_pit_calibrate: count 0xffff, unlatched LSB, MSB pairs */
	outb(f, 0x43, 0xb0);
	outb(f, 0x42, 0xff);
	outb(f, 0x42, 0xff);
	start = f->ns;
	inb(f, 0x42);
	assert_int_equal(inb(f, 0x42), 0xff);
	f->ns = start + 300 * 838; /* ~300 ticks later */
	inb(f, 0x42);
	assert_int_equal(inb(f, 0x42), 0xfe);
}

/* bits 4 (refresh toggle), 6-7 (no NMI sources) and what writes change */
static void test_port61_bits(void **state)
{
	struct fx *f = *state;
	uint8_t a, b;

	outb(f, 0x61, 0xff);
	a = inb(f, 0x61);
	assert_int_equal(a & 0xcf, 0x0f);
	at(f, 18);
	b = inb(f, 0x61);
	assert_int_equal((a ^ b) & PIT_P61_REFRESH, PIT_P61_REFRESH);
	at(f, 35);
	assert_int_equal(inb(f, 0x61) & PIT_P61_REFRESH, b & PIT_P61_REFRESH);
	at(f, 36);
	assert_int_equal(inb(f, 0x61) & PIT_P61_REFRESH, a & PIT_P61_REFRESH);
	outb(f, 0x61, 0xf0);
	assert_int_equal(inb(f, 0x61) & 0xcf, 0);
}

/*
 * Linux's PIT clockevent shutdown after periodic mode: control word mode 0,
 * count 0. The periodic edges stop; at most the terminal count of 65536
 * gives one more, and none follow. Newer kernels write the control word
 * once more after the count: then nothing at all.
 */
static void test_shutdown_stops_interrupts(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x34);
	count16(f, 0, 1193);
	run_to(f, 10 * 1193 + 5);
	assert_int_equal(f->rises, 10);
	outb(f, 0x43, 0x30);
	assert_int_equal(f->deadline, 0);
	assert_int_equal(f->level, 0);
	count16(f, 0, 0);
	run_to(f, 10 * 1193 + 5 + 10 * PIT_HZ);
	assert_int_equal(f->rises, 11);
	assert_int_equal(f->deadline, 0);

	outb(f, 0x43, 0x34);
	count16(f, 0, 1193);
	run_to(f, 11 * PIT_HZ);
	outb(f, 0x43, 0x30);
	count16(f, 0, 0);
	outb(f, 0x43, 0x30);
	int rises = f->rises;
	assert_int_equal(f->deadline, 0);
	run_to(f, 20 * PIT_HZ);
	assert_int_equal(f->rises, rises);
	assert_int_equal(f->level, 0);
}

/* A control word that ends mode 0's low OUT raises the line at once. */
static void test_control_word_level(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x30);
	assert_int_equal(f->level, 0);
	outb(f, 0x43, 0x34);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->rises, 1);
}

/* A tiny periodic count: reads exact, edges at most one per 100 us. */
static void test_rate_limit(void **state)
{
	struct fx *f = *state;

	outb(f, 0x43, 0x34);
	count16(f, 0, 2);
	at(f, 7);
	assert_int_equal(latched(f, 0), 1);
	run_to(f, PIT_HZ / 100); /* 10 ms */
	assert_true(f->rises >= 90 && f->rises <= 101);
	/* on the grid: the deadline is a period end */
	assert_int_equal(latched(f, 0), 2 - PIT_HZ / 100 % 2);
	count16(f, 0, 1); /* illegal in mode 2: taken as 2 */
	run_to(f, PIT_HZ / 50);
	assert_true(f->rises >= 180 && f->rises <= 202);
}

/* pit_init again is the reset: a timer armed before fires harmlessly. */
static void test_reinit(void **state)
{
	struct fx *f = *state;
	uint64_t stale;

	outb(f, 0x43, 0x34);
	count16(f, 0, 1193);
	run_to(f, 3 * 1193);
	assert_int_equal(f->rises, 3);
	stale = f->deadline;
	pit_init(&f->p, &fake_ops, f);
	f->ns = stale;
	pit_expired(&f->p);
	assert_int_equal(f->deadline, 0);
	assert_int_equal(f->rises, 3);
	assert_int_equal(pit_out(&f->p, 0), 1);
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40), 0x80 | 0x40 | 0x36); /* null: no count */
	outb(f, 0x43, 0x34);
	count16(f, 0, 1193);
	/* one period on: 1193 ticks = 999847 ns, within a tick */
	assert_true(f->deadline > f->ns + 999000 && f->deadline <= f->ns + 999847 + 839);
	run_to(f, 10 * 1193 - 10); /* (old ticks) periods end near 5, 6, ... 9 x 1193 */
	assert_int_equal(f->rises, 3 + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup(fn, setup)
		T(test_mode0),
		T(test_mode0_rewrite),
		T(test_mode2),
		T(test_late_timer_one_edge),
		T(test_mode3),
		T(test_mode4),
		T(test_mode1_mode5_gate),
		T(test_gate_modes_0_2),
		T(test_access_modes_and_latch),
		T(test_read_back),
		T(test_count_zero),
		T(test_new_count_mid_period),
		T(test_linux_calibration),
		T(test_port61_bits),
		T(test_shutdown_stops_interrupts),
		T(test_control_word_level),
		T(test_rate_limit),
		T(test_reinit),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
