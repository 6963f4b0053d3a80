/*
 * The boot marker, after Firecracker's boot timer: the guest writes
 * BOOT_MARKER_VALUE to PORT_BOOT_MARKER when it reaches the point worth
 * timing (the default initramfs's /init does so first thing), and petrel
 * keeps how long after its own start that was; --stats prints it. A boot
 * benchmark then needs no console scraping.
 *
 * Wiring: one PIO port at PORT_BOOT_MARKER (layout.h), boot_marker_ops,
 * opaque = struct boot_marker *.
 *
 * Contract:
 * - Only a 1-byte write of BOOT_MARKER_VALUE at offset 0 counts, and only
 *   the first: the time to reach user space is measured once, and an init
 *   run again, or a guest program that writes it later, cannot move it.
 *   Other values and widths do nothing.
 * - Reads return all-ones, as from a port nobody claims.
 * - The time is mono_clock_now(clock) - start_ns, where start_ns is the
 *   same clock's reading at petrel's start (main takes it first thing);
 *   a clock that reads earlier than start_ns gives 0.
 * - Lock-free: the vCPU thread records with one compare-and-swap, and the
 *   reader may run on any thread.
 * - on_mark, when set, is called once, on the vCPU thread whose write
 *   counted, right after the time is recorded (petrel splits its exit
 *   counts there: the boot's and the rest).
 */
#ifndef PETREL_BOOT_MARKER_H
#define PETREL_BOOT_MARKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/layout.h"
#include "petrel/mono_clock.h"

#define BOOT_MARKER_NONE UINT64_MAX /* at_ns before the guest writes */

struct boot_marker {
	struct mono_clock clock;
	uint64_t start_ns;
	_Atomic uint64_t at_ns; /* ns after start_ns, or BOOT_MARKER_NONE */
	void (*on_mark)(void *arg);
	void *on_mark_arg;
};

void boot_marker_init(struct boot_marker *m, struct mono_clock clock,
		      uint64_t start_ns);

/* 0 and *ns (ns after start), or -ENOENT when the guest never wrote it. */
int boot_marker_get(struct boot_marker *m, uint64_t *ns);

extern const struct bus_dev_ops boot_marker_ops;

#endif
