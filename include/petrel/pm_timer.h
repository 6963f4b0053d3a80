/*
 * The ACPI power-management timer (ACPI 6.x, 4.8.3.3 "Power Management
 * Timer"): a free-running up-counter at 3.579545 MHz that the FADT's
 * PM_TMR_BLK points at. It gives a guest without kvm-clock (-kvmclock, or
 * an OS that does not know KVM) a fixed-rate reference to calibrate its
 * TSC and LAPIC timer against and, failing better, a clocksource.
 *
 * Wiring: one PIO range of PM_TIMER_NR_PORTS bytes at PORT_ACPI_PM_TMR,
 * pm_timer_ops, opaque = struct pm_timer *. Reads of any size at any
 * offset return those bytes of the count; writes are ignored (the
 * register is read-only).
 *
 * Contract:
 * - The count is the injected clock's nanoseconds since pm_timer_init,
 *   times 3579545 / 10^9, rounded down, computed without overflow for any
 *   64-bit nanosecond value; it wraps at 2^bits. bits is 24 or 32, and
 *   must match the FADT's TMR_VAL_EXT flag (acpi.h: ACPI_PM_TMR_BITS).
 * - Reading takes no lock: the count is a function of the clock alone, and
 *   CLOCK_MONOTONIC is the same on every vCPU thread, so a guest never sees
 *   it go backwards between CPUs.
 * - Not modelled: TMR_STS (PM1_STS bit 0, set when bit bits-1 toggles) and
 *   its SCI. Linux and ACPICA read the counter and never enable TMR_EN.
 */
#ifndef PETREL_PM_TIMER_H
#define PETREL_PM_TIMER_H

#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/mono_clock.h"

#define PM_TIMER_HZ 3579545u
#define PM_TIMER_NR_PORTS 4

struct pm_timer {
	struct mono_clock clock;
	uint64_t base_ns; /* the clock at init: the count starts at 0 there */
	uint32_t mask;    /* 0xffffff or 0xffffffff */
};

/* 0, or -EINVAL for a NULL t or bits other than 24 and 32. */
int pm_timer_init(struct pm_timer *t, struct mono_clock clock, unsigned bits);

/* The counter now (already wrapped to bits). */
uint32_t pm_timer_count(const struct pm_timer *t);

/* floor(ns * PM_TIMER_HZ / 10^9), modulo 2^64: ticks in ns nanoseconds. */
uint64_t pm_timer_ticks(uint64_t ns);

extern const struct bus_dev_ops pm_timer_ops;

#endif
