/*
 * A range bus: one type serves the PIO space and the MMIO space.
 *
 * Contract: a device is called with the offset inside its own range, never
 * the absolute address. Reads nobody claims return all-ones; unclaimed
 * accesses are counted.
 *
 * Ranges can be inserted, removed and moved while vCPUs dispatch on other
 * threads (a guest programs PCI BARs at run time). Readers take no lock:
 * writers, serialised by a mutex, build a new sorted table and publish it
 * with one atomic store; a reader uses whichever table it loaded. Old
 * tables are kept until bus_destroy (moves are rare: a few per BAR at
 * boot), so a reader never sees freed memory. A device removed from the
 * bus may still see an access that started before the removal; devices
 * live until the VM is destroyed, so that is harmless.
 *
 * Counts: every access is counted, per range (the count follows the range
 * when it moves) and, for addresses nobody claims, per address in a small
 * table (BUS_UNCLAIMED_SLOTS addresses; the rest only in the totals). One
 * relaxed atomic add per access. bus_mark() copies every count into its
 * "at the mark" half, so a report can split the accesses into those before
 * a point (the guest's boot marker) and those after.
 */
#ifndef PETREL_BUS_H
#define PETREL_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct bus_dev_ops {
	/* size is 1, 2, 4 or 8; the return value is truncated to size bytes */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size);
};

/* Accesses to one range (or one unclaimed address); see bus_mark. */
struct bus_count {
	struct bus_count *next; /* all counts of a bus, freed by bus_destroy */
	atomic_ullong reads, writes;
	atomic_ullong mark_reads, mark_writes;
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_dev_ops *ops;
	void *opaque;
	const char *name;
	struct bus_count *count;
};

#define BUS_UNCLAIMED_SLOTS 64

/* An unclaimed address: addr_plus1 is 0 while the slot is free. */
struct bus_unclaimed {
	_Atomic uint64_t addr_plus1;
	struct bus_count count;
};

/* One published state of the bus: sorted by base, non-overlapping. */
struct bus_table {
	struct bus_table *retired; /* older tables, freed by bus_destroy */
	size_t nr;
	struct bus_range ranges[];
};

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	_Atomic(struct bus_table *) table;
	size_t nr;        /* ranges in the current table (writers' view) */
	pthread_mutex_t lock; /* serialises writers */
	atomic_ullong unclaimed_reads;
	atomic_ullong unclaimed_writes;
	struct bus_count *counts; /* of every range ever inserted (writers) */
	struct bus_unclaimed unclaimed[BUS_UNCLAIMED_SLOTS];
	atomic_bool marked; /* bus_mark has run */
};

/* One line of bus_report: a range, or (name NULL) an unclaimed address. */
struct bus_stat {
	uint64_t base, len;
	const char *name;
	uint64_t reads, writes;           /* in all */
	uint64_t mark_reads, mark_writes; /* before bus_mark; 0 without a mark */
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);

/* 0, -EINVAL (zero length or base+len overflows), -EEXIST (overlap), -ENOMEM */
int bus_insert(struct bus *b, uint64_t base, uint64_t len,
	       const struct bus_dev_ops *ops, void *opaque, const char *name);

/* Removes the range that starts at base: 0 or -ENOENT. */
int bus_remove(struct bus *b, uint64_t base);

/*
 * Moves the range at old_base to new_base (same length, device and name)
 * in one publication: 0, -ENOENT, -EEXIST (the new place overlaps another
 * range; the range stays where it was), -EINVAL, -ENOMEM.
 */
int bus_move(struct bus *b, uint64_t old_base, uint64_t new_base);

/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr);

/*
 * Dispatch one access of size 1, 2, 4 or 8 bytes (little-endian data).
 * An access that starts inside a range but runs past its end is treated as
 * unclaimed. Returns 1 if a device claimed it, 0 if not.
 */
int bus_read(struct bus *b, uint64_t addr, void *data, unsigned size);
int bus_write(struct bus *b, uint64_t addr, const void *data, unsigned size);

/*
 * Copies every count into its "at the mark" half, once (later calls do
 * nothing). Any thread; accesses racing with it land on either side.
 */
void bus_mark(struct bus *b);

/*
 * Fills out[0..max) with the ranges of the current table and then the
 * unclaimed addresses seen, in address order within each part; returns how
 * many there are in all (may exceed max). Any thread.
 */
size_t bus_report(struct bus *b, struct bus_stat *out, size_t max);

#endif
