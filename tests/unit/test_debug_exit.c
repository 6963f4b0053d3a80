/*
 * The debug-exit port: which writes end the VM and with what status, as
 * QEMU's isa-debug-exit,iosize=4 does (measured: an outl of 0x12345621 to
 * 0xf4 ends QEMU with 67, an outl of 0xffffffff with 255, an outw of 0x110
 * with 33), through the PIO bus the way a vCPU dispatches a port exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "petrel/bus.h"
#include "petrel/debug_exit.h"

struct rec {
	int calls;
	int status;
};

static void rec_request(void *opaque, int status)
{
	struct rec *r = opaque;

	r->calls++;
	r->status = status;
}

struct fixture {
	struct rec rec;
	struct debug_exit dev;
	struct bus pio;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.dev = (struct debug_exit){ rec_request, &f.rec };
	bus_init(&f.pio, "pio");
	if (debug_exit_insert(&f.pio, DEBUG_EXIT_DEFAULT_PORT, &f.dev))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_destroy(&f->pio);
	return 0;
}

/* An outb/outw/outl as KVM reports it: port, size, little-endian data. */
static int out(struct fixture *f, uint16_t port, uint32_t v, unsigned size)
{
	return bus_write(&f->pio, port, &v, size);
}

static void test_status(void **state)
{
	(void)state;
	assert_int_equal(debug_exit_status(0), 1);
	assert_int_equal(debug_exit_status(0x21), 0x43);
	assert_int_equal(debug_exit_status(0x7f), 0xff);
	/* only the low 7 bits survive, as in QEMU's exit status */
	assert_int_equal(debug_exit_status(0x80), 1);
	assert_int_equal(debug_exit_status(0x12345621), 0x43);
	assert_int_equal(debug_exit_status(0xffffffffu), 0xff);
}

static void test_every_width_at_the_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(out(f, 0xf4, 0x21, 1), 1);
	assert_int_equal(f->rec.calls, 1);
	assert_int_equal(f->rec.status, 67);

	assert_int_equal(out(f, 0xf4, 0x0110, 2), 1);
	assert_int_equal(f->rec.calls, 2);
	assert_int_equal(f->rec.status, 33);

	assert_int_equal(out(f, 0xf4, 0x12345621, 4), 1);
	assert_int_equal(f->rec.calls, 3);
	assert_int_equal(f->rec.status, 67);

	assert_int_equal(out(f, 0xf4, 0xffffffffu, 4), 1);
	assert_int_equal(f->rec.calls, 4);
	assert_int_equal(f->rec.status, 255);

	assert_int_equal(out(f, 0xf4, 0, 4), 1);
	assert_int_equal(f->rec.calls, 5);
	assert_int_equal(f->rec.status, 1);
	assert_int_equal(atomic_load(&f->pio.unclaimed_writes), 0);
}

static void test_only_writes_at_the_port(void **state)
{
	struct fixture *f = *state;

	/* claimed (so an outl at the port arrives whole), but no exit */
	for (uint16_t port = 0xf5; port <= 0xf7; port++)
		assert_int_equal(out(f, port, 0x21, 1), 1);
	assert_int_equal(out(f, 0xf6, 0x21, 2), 1);
	assert_int_equal(f->rec.calls, 0);
	/* an outl from 0xf5 runs past the device: nobody's */
	assert_int_equal(out(f, 0xf5, 0x21, 4), 0);
	assert_int_equal(out(f, 0xf3, 0x21, 1), 0);
	assert_int_equal(out(f, 0xf8, 0x21, 1), 0);
	assert_int_equal(f->rec.calls, 0);
}

static void test_reads_all_ones(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;

	assert_int_equal(bus_read(&f->pio, 0xf4, &v, 4), 1);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(f->rec.calls, 0);
}

static void test_end_of_port_space(void **state)
{
	struct fixture *f = *state;
	struct bus pio;

	bus_init(&pio, "pio");
	assert_int_equal(debug_exit_insert(&pio, 0xfffe, &f->dev), 0);
	assert_non_null(bus_find(&pio, 0xffff));
	assert_null(bus_find(&pio, 0x10000));
	assert_int_equal(bus_write(&pio, 0xfffe, &(uint16_t){ 0x21 }, 2), 1);
	assert_int_equal(f->rec.calls, 1);
	assert_int_equal(f->rec.status, 67);
	bus_destroy(&pio);
}

static void test_overlap_refused(void **state)
{
	struct fixture *f = *state;

	/* the whole window must be free: 0xf1 would reach 0xf4 */
	assert_int_equal(debug_exit_insert(&f->pio, 0xf1, &f->dev), -EEXIST);
	assert_int_equal(debug_exit_insert(&f->pio, 0xf0, &f->dev), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_status),
		T(test_every_width_at_the_port),
		T(test_only_writes_at_the_port),
		T(test_reads_all_ones),
		T(test_end_of_port_space),
		T(test_overlap_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
