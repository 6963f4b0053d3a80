/*
 * The ACPI PM timer driven by a fake clock: its rate, the 24- and 32-bit
 * wrap, byte reads, writes ignored, and a host clock that only goes up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "petrel/pm_timer.h"

struct fake_clock {
	uint64_t ns;
};

static uint64_t fake_now(void *opaque)
{
	return ((struct fake_clock *)opaque)->ns;
}

static struct mono_clock fake(struct fake_clock *c)
{
	return (struct mono_clock){ fake_now, c };
}

static uint64_t rd(struct pm_timer *t, uint64_t off, unsigned size)
{
	return pm_timer_ops.read(t, off, size);
}

static void test_ticks(void **state)
{
	(void)state;
	assert_int_equal(pm_timer_ticks(0), 0);
	assert_int_equal(pm_timer_ticks(279), 0);  /* one tick is 279.37 ns */
	assert_int_equal(pm_timer_ticks(280), 1);
	assert_int_equal(pm_timer_ticks(1000000000), PM_TIMER_HZ);
	assert_int_equal(pm_timer_ticks(1000), 3);           /* 3.58 */
	assert_int_equal(pm_timer_ticks(1000000), 3579);     /* 1 ms */
	assert_int_equal(pm_timer_ticks(2500000000u), 8948862); /* 8948862.5 */
	/*
	 * ns * HZ no longer fits 64 bits past 86 minutes: a day of host uptime
	 * must still be exact (86400 s * HZ, plus 0.5 s).
	 */
	assert_int_equal(pm_timer_ticks(86400500000000ULL),
			 86400ULL * PM_TIMER_HZ + PM_TIMER_HZ / 2);
	/* the largest nanosecond count: exact modulo 2^64 */
	uint64_t max = UINT64_MAX;
	assert_int_equal(pm_timer_ticks(max),
			 max / 1000000000u * PM_TIMER_HZ +
				 max % 1000000000u * PM_TIMER_HZ / 1000000000u);
}

static void test_rate(void **state)
{
	struct fake_clock c = { .ns = 123456789012345ULL }; /* days of uptime */
	struct pm_timer t;
	(void)state;

	assert_int_equal(pm_timer_init(&t, fake(&c), 32), 0);
	assert_int_equal(pm_timer_count(&t), 0); /* counts from init */
	c.ns += 1000000000;
	assert_int_equal(pm_timer_count(&t), 3579545);
	c.ns += 1000000000;
	assert_int_equal(pm_timer_count(&t), 2 * 3579545);
	/* 1 ms more: 3579.545 ticks */
	c.ns += 1000000;
	assert_int_equal(pm_timer_count(&t), 2 * 3579545 + 3579);
	assert_int_equal(rd(&t, 0, 4), 2 * 3579545 + 3579);
	/* never backwards, tick by tick */
	uint32_t prev = pm_timer_count(&t);
	for (int i = 0; i < 10000; i++) {
		c.ns += 97;
		uint32_t now = pm_timer_count(&t);
		assert_true(now >= prev && now - prev <= 1);
		prev = now;
	}
}

static void test_wrap(void **state)
{
	struct fake_clock c = { .ns = 0 };
	struct pm_timer t24, t32;
	/* 2^24 ticks take 4.686968875 s, 2^32 ticks 1199.864031882 s */
	uint64_t ns24 = 4686968875ULL, ns32 = 1199864031882ULL;
	(void)state;

	assert_int_equal(pm_timer_init(&t24, fake(&c), 24), 0);
	assert_int_equal(pm_timer_init(&t32, fake(&c), 32), 0);
	c.ns = ns24 - 1000;
	assert_true(pm_timer_count(&t24) > 0xfff000);
	assert_true(pm_timer_count(&t24) <= 0xffffff);
	c.ns = ns24 + 1000;
	assert_true(pm_timer_count(&t24) < 0x1000);        /* wrapped */
	assert_true(pm_timer_count(&t32) > 0xffffff);      /* not yet */
	assert_int_equal(rd(&t24, 3, 1), 0);               /* bits 24-31: 0 */
	c.ns = ns32 - 1000;
	assert_true(pm_timer_count(&t32) > 0xfffff000u);
	c.ns = ns32 + 1000;
	assert_true(pm_timer_count(&t32) < 0x1000);        /* wrapped */
	assert_true(pm_timer_count(&t24) <= 0xffffff);
	/* the count is the exact tick number modulo 2^bits */
	c.ns = 3 * ns32;
	assert_int_equal(pm_timer_count(&t32), (uint32_t)pm_timer_ticks(3 * ns32));
	assert_int_equal(pm_timer_count(&t24),
			 (uint32_t)pm_timer_ticks(3 * ns32) & 0xffffff);
}

static void test_bytes_and_writes(void **state)
{
	struct fake_clock c = { .ns = 0 };
	struct pm_timer t;
	(void)state;

	assert_int_equal(pm_timer_init(&t, fake(&c), 32), 0);
	c.ns = 1000000000ULL * 1000; /* 3579545000 = 0xd55b85a8 */
	assert_int_equal(pm_timer_count(&t), 0xd55b85a8u);
	assert_int_equal(rd(&t, 0, 1) & 0xff, 0xa8);
	assert_int_equal(rd(&t, 1, 1) & 0xff, 0x85);
	assert_int_equal(rd(&t, 2, 1) & 0xff, 0x5b);
	assert_int_equal(rd(&t, 3, 1) & 0xff, 0xd5);
	assert_int_equal(rd(&t, 2, 2) & 0xffff, 0xd55b);
	/* read-only: a write changes nothing */
	pm_timer_ops.write(&t, 0, 0, 4);
	pm_timer_ops.write(&t, 1, 0x12, 1);
	assert_int_equal(pm_timer_count(&t), 0xd55b85a8u);
}

static void test_init_errors(void **state)
{
	struct fake_clock c = { 0 };
	struct pm_timer t;
	(void)state;

	assert_int_equal(pm_timer_init(NULL, fake(&c), 32), -EINVAL);
	assert_int_equal(pm_timer_init(&t, fake(&c), 16), -EINVAL);
	assert_int_equal(pm_timer_init(&t, fake(&c), 0), -EINVAL);
	assert_int_equal(pm_timer_init(&t, (struct mono_clock){ NULL, NULL }, 32),
			 -EINVAL);
}

/* The host clock: the device's default, at about the right rate. */
static void test_host_clock(void **state)
{
	struct pm_timer t;
	(void)state;

	assert_int_equal(pm_timer_init(&t, mono_clock_host(), 32), 0);
	uint64_t start = mono_clock_host_ns(NULL);
	uint32_t a = pm_timer_count(&t), b;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	b = pm_timer_count(&t);
	uint64_t elapsed = mono_clock_host_ns(NULL) - start;
	/* at least the ticks of the sleep, at most those of the whole span */
	assert_true(b - a >= pm_timer_ticks(20 * 1000 * 1000) - 1);
	assert_true(b - a <= pm_timer_ticks(elapsed) + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticks),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_bytes_and_writes),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_host_clock),
	};
	return cmocka_run_group_tests_name("pm_timer", tests, NULL, NULL);
}
