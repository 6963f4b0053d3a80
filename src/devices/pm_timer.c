/* The ACPI PM timer. See pm_timer.h for the contract. */
#include <errno.h>
#include <string.h>

#include "petrel/pm_timer.h"

#define NS_PER_SEC 1000000000u

uint64_t pm_timer_ticks(uint64_t ns)
{
	/*
	 * ns * 3579545 overflows 64 bits after about 85 minutes of host
	 * uptime, so split ns into seconds and the rest: whole seconds give
	 * whole ticks, and the rest (< 10^9) times 3579545 stays below 2^52.
	 * The sum is exactly floor(ns * HZ / 10^9), modulo 2^64, which
	 * keeps the low 32 bits, all the counter shows, exact.
	 */
	return ns / NS_PER_SEC * PM_TIMER_HZ +
	       ns % NS_PER_SEC * PM_TIMER_HZ / NS_PER_SEC;
}

int pm_timer_init(struct pm_timer *t, struct mono_clock clock, unsigned bits)
{
	if (!t || (bits != 24 && bits != 32) || !clock.now_ns)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->clock = clock;
	t->mask = bits == 32 ? 0xffffffffu : 0xffffffu;
	t->base_ns = mono_clock_now(&clock);
	return 0;
}

uint32_t pm_timer_count(const struct pm_timer *t)
{
	/* unsigned: a clock that started near 2^64 still counts up from 0 */
	uint64_t ns = mono_clock_now(&t->clock) - t->base_ns;

	return (uint32_t)pm_timer_ticks(ns) & t->mask;
}

static uint64_t pm_timer_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)size; /* the bus hands on only accesses inside the 4 bytes */
	return pm_timer_count(opaque) >> (offset * 8);
}

static void pm_timer_write(void *opaque, uint64_t offset, uint64_t value,
			   unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)value;
	(void)size; /* read-only */
}

const struct bus_dev_ops pm_timer_ops = {
	.read = pm_timer_read,
	.write = pm_timer_write,
};
