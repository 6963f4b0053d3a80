/*
 * The boot marker port: BOOT_MARKER_VALUE records the time once, anything
 * else does nothing, reads are all-ones; on the PIO bus beside COM1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "petrel/boot_marker.h"
#include "petrel/bus.h"
#include "petrel/layout.h"

struct fake_clock {
	uint64_t ns;
	unsigned reads;
};

static uint64_t fake_now(void *opaque)
{
	struct fake_clock *c = opaque;

	c->reads++;
	return c->ns;
}

static void wr(struct boot_marker *m, uint64_t off, uint64_t v, unsigned size)
{
	boot_marker_ops.write(m, off, v, size);
}

static void count_call(void *arg)
{
	(*(unsigned *)arg)++;
}

static void test_records_once(void **state)
{
	struct fake_clock c = { .ns = 5000000000ULL };
	struct boot_marker m;
	uint64_t ns = 42;
	unsigned calls = 0;
	(void)state;

	boot_marker_init(&m, (struct mono_clock){ fake_now, &c }, 4000000000ULL);
	m.on_mark = count_call;
	m.on_mark_arg = &calls;
	wr(&m, 0, 122, 1);
	assert_int_equal(calls, 0);
	assert_int_equal(boot_marker_get(&m, &ns), -ENOENT);
	assert_int_equal(ns, 42);
	c.ns += 812400000; /* 1.8124 s after start */
	wr(&m, 0, BOOT_MARKER_VALUE, 1);
	assert_int_equal(boot_marker_get(&m, &ns), 0);
	assert_int_equal(ns, 1812400000ULL);
	assert_int_equal(calls, 1);
	/* a second write, later, does not move it, nor call on_mark again */
	c.ns += 1000000000;
	wr(&m, 0, BOOT_MARKER_VALUE, 1);
	assert_int_equal(boot_marker_get(&m, &ns), 0);
	assert_int_equal(ns, 1812400000ULL);
	assert_int_equal(calls, 1);
}

static void test_other_writes_ignored(void **state)
{
	struct fake_clock c = { .ns = 100 };
	struct boot_marker m;
	uint64_t ns;
	(void)state;

	boot_marker_init(&m, (struct mono_clock){ fake_now, &c }, 0);
	wr(&m, 0, 0, 1);
	wr(&m, 0, 122, 1);
	wr(&m, 0, 124, 1);
	wr(&m, 0, 0xff, 1);
	wr(&m, 0, BOOT_MARKER_VALUE, 2);           /* outw */
	wr(&m, 0, 0x100 | BOOT_MARKER_VALUE, 4);   /* outl, low byte 123 */
	wr(&m, 1, BOOT_MARKER_VALUE, 1);           /* not at the port */
	assert_int_equal(boot_marker_get(&m, &ns), -ENOENT);
	assert_int_equal(c.reads, 0); /* none of them even read the clock */
	/* the low byte is what an outb carries */
	wr(&m, 0, 0xff00 | BOOT_MARKER_VALUE, 1);
	assert_int_equal(boot_marker_get(&m, &ns), 0);
	assert_int_equal(ns, 100);
}

static void test_reads_all_ones(void **state)
{
	struct fake_clock c = { .ns = 1 };
	struct boot_marker m;
	(void)state;

	boot_marker_init(&m, (struct mono_clock){ fake_now, &c }, 0);
	assert_int_equal(boot_marker_ops.read(&m, 0, 1) & 0xff, 0xff);
	wr(&m, 0, BOOT_MARKER_VALUE, 1);
	assert_int_equal(boot_marker_ops.read(&m, 0, 1) & 0xff, 0xff);
	assert_int_equal(boot_marker_ops.read(&m, 0, 4) & 0xffffffff, 0xffffffff);
}

static void test_clock_before_start(void **state)
{
	struct fake_clock c = { .ns = 10 };
	struct boot_marker m;
	uint64_t ns = 1;
	(void)state;

	boot_marker_init(&m, (struct mono_clock){ fake_now, &c }, 20);
	wr(&m, 0, BOOT_MARKER_VALUE, 1);
	assert_int_equal(boot_marker_get(&m, &ns), 0);
	assert_int_equal(ns, 0);
}

/* On the bus at 0x3f0, beside COM1: only an outb reaches it. */
static void test_on_the_bus(void **state)
{
	static const struct bus_dev_ops none = { 0 };
	struct fake_clock c = { .ns = 777 };
	struct boot_marker m;
	struct bus pio;
	uint8_t b = BOOT_MARKER_VALUE, rd = 0;
	uint16_t w = BOOT_MARKER_VALUE;
	uint64_t ns;
	(void)state;

	boot_marker_init(&m, (struct mono_clock){ fake_now, &c }, 0);
	bus_init(&pio, "pio");
	assert_int_equal(bus_insert(&pio, PORT_SERIAL0, 8, &none, NULL, "com1"), 0);
	assert_int_equal(bus_insert(&pio, PORT_BOOT_MARKER, 1, &boot_marker_ops, &m,
				    "boot-marker"), 0);
	assert_int_equal(PORT_BOOT_MARKER, 0x3f0);
	assert_int_equal(BOOT_MARKER_VALUE, 123);
	/* a word write would run past the one port: nobody's */
	assert_int_equal(bus_write(&pio, PORT_BOOT_MARKER, &w, 2), 0);
	assert_int_equal(boot_marker_get(&m, &ns), -ENOENT);
	assert_int_equal(bus_write(&pio, PORT_BOOT_MARKER, &b, 1), 1);
	assert_int_equal(boot_marker_get(&m, &ns), 0);
	assert_int_equal(ns, 777);
	assert_int_equal(bus_read(&pio, PORT_BOOT_MARKER, &rd, 1), 1);
	assert_int_equal(rd, 0xff);
	bus_destroy(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_once),
		cmocka_unit_test(test_other_writes_ignored),
		cmocka_unit_test(test_reads_all_ones),
		cmocka_unit_test(test_clock_before_start),
		cmocka_unit_test(test_on_the_bus),
	};
	return cmocka_run_group_tests_name("boot_marker", tests, NULL, NULL);
}
