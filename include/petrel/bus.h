/*
 * A range bus: one type serves the PIO space and the MMIO space.
 *
 * Contract: devices are inserted before any vCPU runs; afterwards the bus is
 * read-only, so lookups from several vCPU threads need no lock. A device is
 * called with the offset inside its own range, never the absolute address.
 * Reads nobody claims return all-ones; unclaimed accesses are counted.
 */
#ifndef PETREL_BUS_H
#define PETREL_BUS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct bus_dev_ops {
	/* size is 1, 2, 4 or 8; the return value is truncated to size bytes */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_dev_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nr, cap;
	atomic_ullong unclaimed_reads;
	atomic_ullong unclaimed_writes;
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);

/* 0, -EINVAL (zero length or base+len overflows), -EEXIST (overlap), -ENOMEM */
int bus_insert(struct bus *b, uint64_t base, uint64_t len,
	       const struct bus_dev_ops *ops, void *opaque, const char *name);

/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr);

/*
 * Dispatch one access of size 1, 2, 4 or 8 bytes (little-endian data).
 * An access that starts inside a range but runs past its end is treated as
 * unclaimed. Returns 1 if a device claimed it, 0 if not.
 */
int bus_read(struct bus *b, uint64_t addr, void *data, unsigned size);
int bus_write(struct bus *b, uint64_t addr, const void *data, unsigned size);

#endif
