/* Guest RAM layout around the PCI hole and the checked gpa accessors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/memory.h"
#include "petrel/util.h"

static void layout_small(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_init(&m, 512 * MiB), 0);
	assert_int_equal(m.nr_regions, 1);
	assert_int_equal(m.regions[0].gpa, 0);
	assert_int_equal(m.regions[0].size, 512 * MiB);
	guest_mem_destroy(&m);
}

static void layout_split_around_hole(void **state)
{
	struct guest_mem m;
	(void)state;

	/* 3 GiB exactly: fills low memory, nothing above 4 GiB */
	assert_int_equal(guest_mem_init(&m, 3 * GiB), 0);
	assert_int_equal(m.nr_regions, 1);
	guest_mem_destroy(&m);
	/* 6 GiB: 3 below the hole, 3 from 4 GiB up */
	assert_int_equal(guest_mem_init(&m, 6 * GiB), 0);
	assert_int_equal(m.nr_regions, 2);
	assert_int_equal(m.regions[0].size, 3 * GiB);
	assert_int_equal(m.regions[1].gpa, 4 * GiB);
	assert_int_equal(m.regions[1].size, 3 * GiB);
	/* the hole itself is not RAM */
	assert_null(gpa_ptr(&m, 3 * GiB, 1));
	assert_null(gpa_ptr(&m, 4 * GiB - 1, 1));
	assert_non_null(gpa_ptr(&m, 4 * GiB, 1));
	assert_non_null(gpa_ptr(&m, 7 * GiB - 4096, 4096));
	assert_null(gpa_ptr(&m, 7 * GiB - 4096, 4097));
	/* a range spanning the hole is refused even though both ends are RAM */
	assert_null(gpa_ptr(&m, 3 * GiB - 8, 4 * GiB));
	guest_mem_destroy(&m);
}

static void bad_sizes(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_init(&m, 0), -EINVAL);
	assert_int_equal(guest_mem_init(&m, 4097), -EINVAL);
	assert_int_equal(guest_mem_layout(&m, 0), -EINVAL);
	assert_int_equal(guest_mem_layout(&m, 4097), -EINVAL);
}

/* The layout alone, as the boot planner sees it: no host memory behind it. */
static void layout_without_mapping(void **state)
{
	struct guest_mem l, m;
	(void)state;

	assert_int_equal(guest_mem_layout(&l, 6 * GiB), 0);
	assert_int_equal(guest_mem_init(&m, 6 * GiB), 0);
	assert_int_equal(l.ram_size, m.ram_size);
	assert_int_equal(l.nr_regions, m.nr_regions);
	for (int i = 0; i < l.nr_regions; i++) {
		assert_int_equal(l.regions[i].gpa, m.regions[i].gpa);
		assert_int_equal(l.regions[i].size, m.regions[i].size);
		assert_null(l.regions[i].hva);
	}
	assert_null(l.base);
	assert_true(gpa_in_ram(&l, 0, 3 * GiB));
	assert_true(gpa_in_ram(&l, 4 * GiB, 3 * GiB));
	assert_false(gpa_in_ram(&l, 3 * GiB - 8, 16)); /* across the hole */
	assert_false(gpa_in_ram(&l, 7 * GiB - 8, 16));
	assert_false(gpa_in_ram(&l, UINT64_MAX - 4, 16));
	/* nothing to point at: gpa_ptr says no, even for RAM */
	assert_null(gpa_ptr(&l, 0, 1));
	assert_null(gpa_ptr(&l, 4096, 1));
	assert_int_equal(gpa_write(&l, 4096, "x", 1), -EFAULT);
	guest_mem_destroy(&l); /* a no-op */
	guest_mem_destroy(&m);
}

/* A window: a buffer addressed by the gpa it will have in the guest. */
static void window_over_buffer(void **state)
{
	struct guest_mem w;
	uint8_t buf[64] = { 0 };
	(void)state;

	guest_mem_window(&w, 0xe0000, buf, sizeof(buf));
	assert_ptr_equal(gpa_ptr(&w, 0xe0000, 64), buf);
	assert_ptr_equal(gpa_ptr(&w, 0xe0010, 8), buf + 16);
	assert_null(gpa_ptr(&w, 0xe0000 - 1, 1));
	assert_null(gpa_ptr(&w, 0xe0000, 65));
	assert_int_equal(gpa_write(&w, 0xe0020, "petrel", 7), 0);
	assert_string_equal((char *)buf + 32, "petrel");
}

static void accessors_check_bounds(void **state)
{
	struct guest_mem m;
	uint8_t buf[16];
	(void)state;

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	/* host and accessor see the same bytes */
	assert_int_equal(gpa_write(&m, 0x1000, "petrel", 7), 0);
	assert_string_equal((char *)m.regions[0].hva + 0x1000, "petrel");
	assert_int_equal(gpa_read(&m, 0x1000, buf, 7), 0);
	assert_string_equal((char *)buf, "petrel");
	/* the last byte is reachable, one past is not */
	assert_non_null(gpa_ptr(&m, 16 * MiB - 1, 1));
	assert_non_null(gpa_ptr(&m, 16 * MiB, 0));
	assert_null(gpa_ptr(&m, 16 * MiB, 1));
	assert_null(gpa_ptr(&m, 16 * MiB - 1, 2));
	/* overflow: gpa + len wraps around 2^64 */
	assert_null(gpa_ptr(&m, 0x1000, UINT64_MAX));
	assert_null(gpa_ptr(&m, UINT64_MAX, 2));
	assert_null(gpa_ptr(&m, UINT64_MAX - 4, 16));
	assert_int_equal(gpa_read(&m, UINT64_MAX - 3, buf, 8), -EFAULT);
	assert_int_equal(gpa_write(&m, 16 * MiB - 4, buf, 8), -EFAULT);
	guest_mem_destroy(&m);
}

static void untouched_memory_is_not_resident(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_init(&m, 1 * GiB), 0);
	assert_int_equal(guest_mem_resident(&m), 0);
	memset(m.regions[0].hva + 8 * MiB, 1, 1 * MiB);
	assert_int_equal(guest_mem_resident(&m), 1 * MiB);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_small),
		cmocka_unit_test(layout_split_around_hole),
		cmocka_unit_test(bad_sizes),
		cmocka_unit_test(layout_without_mapping),
		cmocka_unit_test(window_over_buffer),
		cmocka_unit_test(accessors_check_bounds),
		cmocka_unit_test(untouched_memory_is_not_resident),
	};
	return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
