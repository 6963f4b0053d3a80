#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	atomic_init(&b->unclaimed_reads, 0);
	atomic_init(&b->unclaimed_writes, 0);
}

void bus_destroy(struct bus *b)
{
	free(b->ranges);
	b->ranges = NULL;
	b->nr = b->cap = 0;
}

/* Index of the first range whose base is > addr. */
static size_t upper_bound(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_insert(struct bus *b, uint64_t base, uint64_t len,
	       const struct bus_dev_ops *ops, void *opaque, const char *name)
{
	uint64_t last;
	size_t i;

	if (len == 0 || !ops || __builtin_add_overflow(base, len - 1, &last))
		return -EINVAL;
	i = upper_bound(b, base);
	/* the range before must end before base; the one after start after last */
	if (i > 0 && b->ranges[i - 1].base + (b->ranges[i - 1].len - 1) >= base)
		return -EEXIST;
	if (i < b->nr && b->ranges[i].base <= last)
		return -EEXIST;
	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *r = realloc(b->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->ranges = r;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i], (b->nr - i) * sizeof(*b->ranges));
	b->ranges[i] = (struct bus_range){ base, len, ops, opaque, name };
	b->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	size_t i = upper_bound(b, addr);

	if (i == 0)
		return NULL;
	const struct bus_range *r = &b->ranges[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

/*
 * The range that holds all of [addr, addr+size), or NULL. Devices are only
 * ever called with the sizes the contract names: 1, 2, 4 or 8.
 */
static const struct bus_range *find_whole(const struct bus *b, uint64_t addr,
					  unsigned size)
{
	const struct bus_range *r;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return NULL;
	r = bus_find(b, addr);
	if (!r || r->len - (addr - r->base) < size)
		return NULL;
	return r;
}

int bus_read(struct bus *b, uint64_t addr, void *data, unsigned size)
{
	const struct bus_range *r = find_whole(b, addr, size);
	uint64_t v;

	if (!r || !r->ops->read) {
		memset(data, 0xff, size > 8 ? 8 : size);
		atomic_fetch_add_explicit(&b->unclaimed_reads, 1, memory_order_relaxed);
		return 0;
	}
	v = r->ops->read(r->opaque, addr - r->base, size);
	memcpy(data, &v, size); /* x86 host: little-endian like the guest */
	return 1;
}

int bus_write(struct bus *b, uint64_t addr, const void *data, unsigned size)
{
	const struct bus_range *r = find_whole(b, addr, size);
	uint64_t v = 0;

	if (!r || !r->ops->write) {
		atomic_fetch_add_explicit(&b->unclaimed_writes, 1, memory_order_relaxed);
		return 0;
	}
	memcpy(&v, data, size);
	r->ops->write(r->opaque, addr - r->base, v, size);
	return 1;
}
