/* The range bus: insertion rules, lookup, offset dispatch, all-ones. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/bus.h"

struct rec {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	struct rec *r = opaque;
	r->reads++;
	r->last_off = off;
	r->last_size = size;
	return 0x1122334455667788ULL + off;
}

static void rec_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct rec *r = opaque;
	r->writes++;
	r->last_off = off;
	r->last_val = v;
	r->last_size = size;
}

static const struct bus_dev_ops rec_ops = { rec_read, rec_write };

static void insert_rejects_bad_ranges(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	(void)state;

	bus_init(&b, "test");
	assert_int_equal(bus_insert(&b, 0x100, 0, &rec_ops, &r, "zero"), -EINVAL);
	assert_int_equal(bus_insert(&b, UINT64_MAX, 2, &rec_ops, &r, "wrap"), -EINVAL);
	assert_int_equal(bus_insert(&b, 0x100, 0x10, NULL, &r, "noops"), -EINVAL);
	assert_int_equal(bus_insert(&b, 0x100, 0x10, &rec_ops, &r, "a"), 0);
	/* overlaps from every side, and exact duplicates */
	assert_int_equal(bus_insert(&b, 0x100, 0x10, &rec_ops, &r, "dup"), -EEXIST);
	assert_int_equal(bus_insert(&b, 0xf8, 0x9, &rec_ops, &r, "left"), -EEXIST);
	assert_int_equal(bus_insert(&b, 0x10f, 0x1, &rec_ops, &r, "right"), -EEXIST);
	assert_int_equal(bus_insert(&b, 0x104, 0x2, &rec_ops, &r, "inside"), -EEXIST);
	assert_int_equal(bus_insert(&b, 0x0, 0x1000, &rec_ops, &r, "around"), -EEXIST);
	/* touching neighbours are fine */
	assert_int_equal(bus_insert(&b, 0xf0, 0x10, &rec_ops, &r, "below"), 0);
	assert_int_equal(bus_insert(&b, 0x110, 0x10, &rec_ops, &r, "above"), 0);
	/* the very top of the address space is a valid range */
	assert_int_equal(bus_insert(&b, UINT64_MAX, 1, &rec_ops, &r, "top"), 0);
	assert_int_equal(b.nr, 4);
	bus_destroy(&b);
}

static void lookup_and_offsets(void **state)
{
	struct bus b;
	struct rec r[40] = { 0 };
	uint8_t data[8];
	(void)state;

	bus_init(&b, "test");
	/* insert out of order; lookup must still find each */
	for (int i = 39; i >= 0; i--)
		assert_int_equal(bus_insert(&b, 0x1000 + (uint64_t)i * 0x100, 0x20,
					    &rec_ops, &r[i], "dev"), 0);
	for (int i = 0; i < 40; i++) {
		uint64_t base = 0x1000 + (uint64_t)i * 0x100;
		const struct bus_range *rg = bus_find(&b, base + 0x1f);
		assert_non_null(rg);
		assert_ptr_equal(rg->opaque, &r[i]);
		assert_null(bus_find(&b, base + 0x20));
		assert_null(bus_find(&b, base - 1));
	}
	uint32_t v = 0xdeadbeef;
	assert_int_equal(bus_write(&b, 0x1504, &v, 4), 1);
	assert_int_equal(r[5].writes, 1);
	assert_int_equal(r[5].last_off, 4);
	assert_int_equal(r[5].last_size, 4);
	assert_int_equal(r[5].last_val, 0xdeadbeef);
	for (unsigned size = 1; size <= 8; size *= 2) {
		memset(data, 0, sizeof(data));
		assert_int_equal(bus_read(&b, 0x1702, data, size), 1);
		assert_int_equal(r[7].last_off, 2);
		assert_int_equal(r[7].last_size, size);
		uint64_t expect = 0x1122334455667788ULL + 2, got = 0;
		memcpy(&got, data, size);
		if (size < 8)
			expect &= (1ULL << (8 * size)) - 1;
		assert_int_equal(got, expect);
	}
	bus_destroy(&b);
}

static void unclaimed_reads_all_ones_and_counted(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	uint8_t data[8];
	(void)state;

	bus_init(&b, "test");
	assert_int_equal(bus_insert(&b, 0x10, 4, &rec_ops, &r, "dev"), 0);
	memset(data, 0, sizeof(data));
	assert_int_equal(bus_read(&b, 0x40, data, 8), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(data[i], 0xff);
	/* an access straddling the end of a range is not the device's */
	memset(data, 0, sizeof(data));
	assert_int_equal(bus_read(&b, 0x12, data, 4), 0);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_int_equal(r.reads, 0);
	assert_int_equal(bus_write(&b, 0x13, data, 2), 0);
	assert_int_equal(bus_write(&b, 0x0, data, 1), 0);
	assert_int_equal(r.writes, 0);
	assert_int_equal(atomic_load(&b.unclaimed_reads), 2);
	assert_int_equal(atomic_load(&b.unclaimed_writes), 2);
	/* a bad size is never passed to a device */
	assert_int_equal(bus_read(&b, 0x10, data, 3), 0);
	assert_int_equal(bus_read(&b, 0x10, data, 0), 0);
	assert_int_equal(r.reads, 0);
	bus_destroy(&b);
}

static void remove_and_move(void **state)
{
	struct bus b;
	struct rec r1 = { 0 }, r2 = { 0 };
	uint8_t data[4];
	(void)state;

	bus_init(&b, "mmio");
	assert_int_equal(bus_insert(&b, 0x1000, 0x100, &rec_ops, &r1, "a"), 0);
	assert_int_equal(bus_insert(&b, 0x3000, 0x100, &rec_ops, &r2, "b"), 0);
	assert_int_equal(bus_remove(&b, 0x1010), -ENOENT); /* not a range start */
	assert_int_equal(bus_move(&b, 0x2000, 0x5000), -ENOENT);
	/* onto the other range: refused, and the range stays */
	assert_int_equal(bus_move(&b, 0x1000, 0x2f80), -EEXIST);
	assert_int_equal(bus_read(&b, 0x1004, data, 4), 1);
	assert_int_equal(bus_move(&b, 0x1000, UINT64_MAX - 0x10), -EINVAL);
	/* over itself (overlapping its old place) is fine */
	assert_int_equal(bus_move(&b, 0x1000, 0x1080), 0);
	assert_int_equal(bus_read(&b, 0x1004, data, 4), 0);
	assert_int_equal(bus_read(&b, 0x1084, data, 4), 1);
	assert_int_equal(r1.last_off, 4);
	/* past the other range: the table stays sorted */
	assert_int_equal(bus_move(&b, 0x1080, 0x8000), 0);
	assert_non_null(bus_find(&b, 0x3000));
	assert_ptr_equal(bus_find(&b, 0x80ff)->opaque, &r1);
	assert_null(bus_find(&b, 0x8100));
	assert_int_equal(b.nr, 2);
	assert_int_equal(bus_remove(&b, 0x3000), 0);
	assert_null(bus_find(&b, 0x3000));
	assert_int_equal(b.nr, 1);
	bus_destroy(&b);
}

struct mover {
	struct bus *b;
	atomic_bool done;
};

static void *move_around(void *opaque)
{
	struct mover *m = opaque;
	uint64_t at = 0x10000;

	for (int i = 0; i < 2000; i++) {
		uint64_t to = at == 0x10000 ? 0x20000 : 0x10000;

		assert_int_equal(bus_move(m->b, at, to), 0);
		at = to;
	}
	atomic_store(&m->done, true);
	return NULL;
}

/* Readers on other threads always see a consistent table while a BAR moves. */
static void lookups_during_moves(void **state)
{
	struct bus b;
	struct rec r = { 0 }, fixed = { 0 };
	struct mover m = { .b = &b };
	atomic_init(&m.done, false);
	pthread_t t;
	unsigned hits = 0;
	(void)state;

	bus_init(&b, "mmio");
	assert_int_equal(bus_insert(&b, 0x10000, 0x1000, &rec_ops, &r, "bar"), 0);
	assert_int_equal(bus_insert(&b, 0x18000, 0x10, &rec_ops, &fixed, "fixed"), 0);
	assert_int_equal(pthread_create(&t, NULL, move_around, &m), 0);
	while (!atomic_load(&m.done)) {
		/* one published table: the BAR in exactly one place, all sorted */
		const struct bus_table *tb = atomic_load(&b.table);
		unsigned bars = 0;

		assert_int_equal(tb->nr, 2);
		assert_true(tb->ranges[0].base < tb->ranges[1].base);
		for (size_t i = 0; i < tb->nr; i++)
			bars += tb->ranges[i].opaque == &r;
		assert_int_equal(bars, 1);
		/* and a lookup never loses the range that does not move */
		assert_non_null(bus_find(&b, 0x18008));
		hits++;
	}
	pthread_join(t, NULL);
	assert_non_null(bus_find(&b, 0x10010)); /* an even number of moves */
	(void)hits;
	bus_destroy(&b);
}

/* Counts per range (kept across a move), per unclaimed address, the mark. */
static void counts_and_mark(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	struct bus_stat st[BUS_UNCLAIMED_SLOTS + 4];
	uint8_t v = 0;
	uint16_t w;
	size_t n;
	(void)state;

	bus_init(&b, "test");
	assert_int_equal(bus_insert(&b, 0x3f8, 8, &rec_ops, &r, "com1"), 0);
	assert_int_equal(bus_insert(&b, 0x70, 2, &rec_ops, &r, "rtc"), 0);
	bus_read(&b, 0x3fd, &v, 1);
	bus_write(&b, 0x3f8, &v, 1);
	bus_write(&b, 0x3f8, &v, 1);
	bus_read(&b, 0x80, &v, 1); /* nobody's: counted under 0x80 */
	bus_write(&b, 0x80, &v, 1);
	bus_mark(&b);
	bus_write(&b, 0x3f8, &v, 1);
	bus_read(&b, 0x71, &v, 1);
	bus_write(&b, 0x80, &v, 1);
	bus_read(&b, 0x3f7, &w, 2); /* runs into com1: unclaimed, at 0x3f7 */
	bus_mark(&b);               /* a second mark changes nothing */
	assert_int_equal(bus_move(&b, 0x70, 0x170), 0);
	bus_read(&b, 0x170, &v, 1);

	n = bus_report(&b, st, sizeof(st) / sizeof(st[0]));
	assert_int_equal(n, 4);
	assert_string_equal(st[0].name, "rtc");
	assert_int_equal(st[0].base, 0x170);
	assert_int_equal(st[0].reads, 2); /* the count moved with the range */
	assert_int_equal(st[0].mark_reads, 0);
	assert_string_equal(st[1].name, "com1");
	assert_int_equal(st[1].reads, 1);
	assert_int_equal(st[1].writes, 3);
	assert_int_equal(st[1].mark_reads, 1);
	assert_int_equal(st[1].mark_writes, 2);
	assert_null(st[2].name); /* unclaimed, in address order */
	assert_int_equal(st[2].base, 0x80);
	assert_int_equal(st[2].reads, 1);
	assert_int_equal(st[2].writes, 2);
	assert_int_equal(st[2].mark_writes, 1);
	assert_int_equal(st[3].base, 0x3f7);
	assert_int_equal(st[3].reads, 1);
	assert_int_equal(st[3].mark_reads, 0);
	/* a short buffer still gets the total */
	assert_int_equal(bus_report(&b, st, 1), 4);

	/* more unclaimed addresses than slots: the totals still count them all */
	for (uint64_t a = 0x1000; a < 0x1000 + 2 * BUS_UNCLAIMED_SLOTS; a++)
		bus_read(&b, a, &v, 1);
	n = bus_report(&b, st, sizeof(st) / sizeof(st[0]));
	assert_int_equal(n, 2 + BUS_UNCLAIMED_SLOTS);
	assert_int_equal(atomic_load(&b.unclaimed_reads), 2 + 2 * BUS_UNCLAIMED_SLOTS);
	bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insert_rejects_bad_ranges),
		cmocka_unit_test(lookup_and_offsets),
		cmocka_unit_test(unclaimed_reads_all_ones_and_counted),
		cmocka_unit_test(remove_and_move),
		cmocka_unit_test(lookups_during_moves),
		cmocka_unit_test(counts_and_mark),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
