#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	atomic_init(&b->table, NULL);
	pthread_mutex_init(&b->lock, NULL);
	atomic_init(&b->unclaimed_reads, 0);
	atomic_init(&b->unclaimed_writes, 0);
	for (size_t i = 0; i < BUS_UNCLAIMED_SLOTS; i++)
		atomic_init(&b->unclaimed[i].addr_plus1, 0);
	atomic_init(&b->marked, false);
}

void bus_destroy(struct bus *b)
{
	struct bus_table *t = atomic_load(&b->table);

	while (b->counts) {
		struct bus_count *next = b->counts->next;

		free(b->counts);
		b->counts = next;
	}

	while (t) {
		struct bus_table *older = t->retired;

		free(t);
		t = older;
	}
	atomic_store(&b->table, NULL);
	b->nr = 0;
	pthread_mutex_destroy(&b->lock);
}

/* Index of the first range whose base is > addr. */
static size_t upper_bound(const struct bus_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t ? t->nr : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether [base, last] overlaps a range of t other than the one at skip. */
static bool overlaps(const struct bus_table *t, uint64_t base, uint64_t last,
		     size_t skip)
{
	for (size_t i = 0; t && i < t->nr; i++) {
		const struct bus_range *r = &t->ranges[i];

		if (i != skip && r->base <= last && base <= r->base + (r->len - 1))
			return true;
	}
	return false;
}

/*
 * Publishes the current ranges minus the one at index drop (SIZE_MAX: none)
 * plus add (NULL: none), sorted. Writers hold b->lock.
 */
static int publish(struct bus *b, size_t drop, const struct bus_range *add)
{
	struct bus_table *old = atomic_load_explicit(&b->table, memory_order_relaxed);
	size_t n = old ? old->nr : 0, out = 0;
	struct bus_table *t = malloc(sizeof(*t) + (n + 1) * sizeof(t->ranges[0]));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i == drop)
			continue;
		if (add && add->base < old->ranges[i].base) {
			t->ranges[out++] = *add;
			add = NULL;
		}
		t->ranges[out++] = old->ranges[i];
	}
	if (add)
		t->ranges[out++] = *add;
	t->nr = out;
	t->retired = old;
	/* release: a reader that sees t sees its ranges */
	atomic_store_explicit(&b->table, t, memory_order_release);
	b->nr = out;
	return 0;
}

static bool valid(uint64_t base, uint64_t len, uint64_t *last)
{
	return len != 0 && !__builtin_add_overflow(base, len - 1, last);
}

int bus_insert(struct bus *b, uint64_t base, uint64_t len,
	       const struct bus_dev_ops *ops, void *opaque, const char *name)
{
	uint64_t last;
	int err;

	if (!ops || !valid(base, len, &last))
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (overlaps(atomic_load(&b->table), base, last, SIZE_MAX)) {
		err = -EEXIST;
	} else {
		/* zeroed counts: calloc's zero bytes are a valid 0 for atomics */
		struct bus_count *c = calloc(1, sizeof(*c));

		err = c ? publish(b, SIZE_MAX,
				  &(struct bus_range){ base, len, ops, opaque, name, c })
			: -ENOMEM;
		if (err == 0) { /* kept after a removal: a reader may still count */
			c->next = b->counts;
			b->counts = c;
		} else {
			free(c);
		}
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

/* Index of the range starting exactly at base, or SIZE_MAX. */
static size_t index_of(const struct bus_table *t, uint64_t base)
{
	size_t i = upper_bound(t, base);

	return i > 0 && t->ranges[i - 1].base == base ? i - 1 : SIZE_MAX;
}

int bus_remove(struct bus *b, uint64_t base)
{
	int err = -ENOENT;
	size_t i;

	pthread_mutex_lock(&b->lock);
	i = index_of(atomic_load(&b->table), base);
	if (i != SIZE_MAX)
		err = publish(b, i, NULL);
	pthread_mutex_unlock(&b->lock);
	return err;
}

int bus_move(struct bus *b, uint64_t old_base, uint64_t new_base)
{
	const struct bus_table *t;
	struct bus_range r;
	uint64_t last;
	int err;
	size_t i;

	pthread_mutex_lock(&b->lock);
	t = atomic_load(&b->table);
	i = index_of(t, old_base);
	if (i == SIZE_MAX) {
		err = -ENOENT;
		goto out;
	}
	r = t->ranges[i];
	if (!valid(new_base, r.len, &last)) {
		err = -EINVAL;
		goto out;
	}
	if (overlaps(t, new_base, last, i)) {
		err = -EEXIST;
		goto out;
	}
	r.base = new_base;
	err = publish(b, i, &r);
out:
	pthread_mutex_unlock(&b->lock);
	return err;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	/* acquire: pairs with publish's release store */
	const struct bus_table *t =
		atomic_load_explicit(&((struct bus *)b)->table, memory_order_acquire);
	size_t i = upper_bound(t, addr);

	if (i == 0)
		return NULL;
	const struct bus_range *r = &t->ranges[i - 1];
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

static void count(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/*
 * The count of an unclaimed address: its slot in an open-addressed table,
 * claimed with one compare-and-swap; NULL when the table is full.
 */
static struct bus_count *unclaimed_count(struct bus *b, uint64_t addr)
{
	/* addresses nearby (a probe walking ports) spread over the slots */
	size_t h = (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> 58);

	for (size_t n = 0; n < BUS_UNCLAIMED_SLOTS; n++) {
		struct bus_unclaimed *u = &b->unclaimed[(h + n) % BUS_UNCLAIMED_SLOTS];
		uint64_t seen = atomic_load_explicit(&u->addr_plus1, memory_order_relaxed);

		if (seen == 0 &&
		    atomic_compare_exchange_strong(&u->addr_plus1, &seen, addr + 1))
			return &u->count;
		if (seen == addr + 1)
			return &u->count;
	}
	return NULL;
}

static void count_unclaimed(struct bus *b, uint64_t addr, bool write)
{
	struct bus_count *c = unclaimed_count(b, addr);

	count(write ? &b->unclaimed_writes : &b->unclaimed_reads);
	if (c)
		count(write ? &c->writes : &c->reads);
}

int bus_read(struct bus *b, uint64_t addr, void *data, unsigned size)
{
	const struct bus_range *r = find_whole(b, addr, size);
	uint64_t v;

	if (!r || !r->ops->read) {
		memset(data, 0xff, size > 8 ? 8 : size);
		count_unclaimed(b, addr, false);
		return 0;
	}
	count(&r->count->reads);
	v = r->ops->read(r->opaque, addr - r->base, size);
	memcpy(data, &v, size); /* x86 host: little-endian like the guest */
	return 1;
}

int bus_write(struct bus *b, uint64_t addr, const void *data, unsigned size)
{
	const struct bus_range *r = find_whole(b, addr, size);
	uint64_t v = 0;

	if (!r || !r->ops->write) {
		count_unclaimed(b, addr, true);
		return 0;
	}
	count(&r->count->writes);
	memcpy(&v, data, size);
	r->ops->write(r->opaque, addr - r->base, v, size);
	return 1;
}

static void mark_one(struct bus_count *c)
{
	atomic_store(&c->mark_reads, atomic_load(&c->reads));
	atomic_store(&c->mark_writes, atomic_load(&c->writes));
}

void bus_mark(struct bus *b)
{
	pthread_mutex_lock(&b->lock);
	if (!atomic_load(&b->marked)) {
		for (struct bus_count *c = b->counts; c; c = c->next)
			mark_one(c);
		for (size_t i = 0; i < BUS_UNCLAIMED_SLOTS; i++)
			mark_one(&b->unclaimed[i].count);
		atomic_store(&b->marked, true);
	}
	pthread_mutex_unlock(&b->lock);
}

static struct bus_stat stat_of(uint64_t base, uint64_t len, const char *name,
			       struct bus_count *c)
{
	return (struct bus_stat){
		.base = base, .len = len, .name = name,
		.reads = atomic_load(&c->reads), .writes = atomic_load(&c->writes),
		.mark_reads = atomic_load(&c->mark_reads),
		.mark_writes = atomic_load(&c->mark_writes),
	};
}

static int by_base(const void *a, const void *b)
{
	const struct bus_stat *x = a, *y = b;

	return (x->base > y->base) - (x->base < y->base);
}

size_t bus_report(struct bus *b, struct bus_stat *out, size_t max)
{
	const struct bus_table *t =
		atomic_load_explicit(&b->table, memory_order_acquire);
	size_t n = 0, first_unclaimed;

	for (size_t i = 0; t && i < t->nr; i++, n++) {
		const struct bus_range *r = &t->ranges[i];

		if (n < max)
			out[n] = stat_of(r->base, r->len, r->name, r->count);
	}
	first_unclaimed = n;
	for (size_t i = 0; i < BUS_UNCLAIMED_SLOTS; i++) {
		uint64_t a = atomic_load(&b->unclaimed[i].addr_plus1);

		if (a == 0)
			continue;
		if (n < max)
			out[n] = stat_of(a - 1, 1, NULL, &b->unclaimed[i].count);
		n++;
	}
	if (first_unclaimed < max)
		qsort(out + first_unclaimed, (n < max ? n : max) - first_unclaimed,
		      sizeof(*out), by_base);
	return n;
}
