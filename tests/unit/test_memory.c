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
		cmocka_unit_test(accessors_check_bounds),
		cmocka_unit_test(untouched_memory_is_not_resident),
	};
	return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
