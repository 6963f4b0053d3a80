/*
 * A monotonic clock in nanoseconds, handed to the devices that count time
 * (the ACPI PM timer, the boot marker) so that a unit test can drive them
 * with a clock of its own. The host's is CLOCK_MONOTONIC: it never jumps
 * with the wall clock (NTP steps, `date -s`), and every thread of the
 * process, every vCPU, reads the same one.
 */
#ifndef PETREL_MONO_CLOCK_H
#define PETREL_MONO_CLOCK_H

#include <stdint.h>

struct mono_clock {
	uint64_t (*now_ns)(void *opaque);
	void *opaque;
};

/* CLOCK_MONOTONIC in ns (opaque unused): the now_ns of mono_clock_host(). */
uint64_t mono_clock_host_ns(void *opaque);

static inline struct mono_clock mono_clock_host(void)
{
	return (struct mono_clock){ mono_clock_host_ns, NULL };
}

static inline uint64_t mono_clock_now(const struct mono_clock *c)
{
	return c->now_ns(c->opaque);
}

#endif
