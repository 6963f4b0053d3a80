/* The software-interrupt decoder behind --emulation-assist. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "petrel/emul_assist.h"

#define DECODE(mode, ...) ({ const uint8_t b_[] = { __VA_ARGS__ }; \
	swint_decode(b_, sizeof(b_), mode, &si); })

static void plain_forms(void **state)
{
	struct swint si;
	(void)state;

	assert_int_equal(DECODE(64, 0xcc, 0x90), 0);
	assert_int_equal(si.kind, SWINT_INT3);
	assert_int_equal(si.vector, 3);
	assert_int_equal(si.len, 1);
	assert_int_equal(DECODE(64, 0xcd, 0x80), 0);
	assert_int_equal(si.kind, SWINT_INTN);
	assert_int_equal(si.vector, 0x80);
	assert_int_equal(si.len, 2);
	assert_int_equal(DECODE(32, 0xce), 0);
	assert_int_equal(si.kind, SWINT_INTO);
	assert_int_equal(si.vector, 4);
	assert_int_equal(DECODE(16, 0xf1), 0);
	assert_int_equal(si.kind, SWINT_INT1);
	assert_int_equal(si.vector, 1);
	assert_int_equal(si.len, 1);
}

static void prefixes_count_in_length(void **state)
{
	struct swint si;
	(void)state;

	assert_int_equal(DECODE(32, 0x66, 0x2e, 0xcd, 0x21), 0);
	assert_int_equal(si.vector, 0x21);
	assert_int_equal(si.len, 4);
	/* REX is a prefix in 64-bit mode ... */
	assert_int_equal(DECODE(64, 0x48, 0xcc), 0);
	assert_int_equal(si.len, 2);
	/* ... and "dec eax" in 32-bit mode: not ours */
	assert_int_equal(DECODE(32, 0x48, 0xcc), -ENOENT);
}

static void clac_stac(void **state)
{
	struct swint si;
	(void)state;

	assert_int_equal(DECODE(64, 0x0f, 0x01, 0xca, 0xfc), 0);
	assert_int_equal(si.kind, SWINT_CLAC);
	assert_int_equal(si.len, 3);
	assert_int_equal(DECODE(64, 0x0f, 0x01, 0xcb), 0);
	assert_int_equal(si.kind, SWINT_STAC);
	/* with a prefix it is another instruction (or #UD): not ours */
	assert_int_equal(DECODE(64, 0x66, 0x0f, 0x01, 0xca), -ENOENT);
	assert_int_equal(DECODE(64, 0x0f, 0x01, 0xc8), -ENOENT); /* monitor */
	assert_string_equal(swint_name(SWINT_CLAC), "clac");
}

static void fwait(void **state)
{
	struct swint si;
	(void)state;

	assert_int_equal(DECODE(64, 0x9b, 0x65, 0x48), 0);
	assert_int_equal(si.kind, SWINT_FWAIT);
	assert_int_equal(si.len, 1);
	assert_string_equal(swint_name(SWINT_FWAIT), "fwait");
	/* 9B DB E3 is FINIT: the assist sees the FWAIT prefix byte only */
	assert_int_equal(DECODE(32, 0x9b, 0xdb, 0xe3), 0);
	assert_int_equal(si.len, 1);
}

static void refused(void **state)
{
	struct swint si;
	(void)state;

	assert_int_equal(DECODE(64, 0xce), -ENOENT);       /* INTO in long mode */
	assert_int_equal(DECODE(64, 0xf0, 0xcc), -ENOENT); /* LOCK: #UD */
	assert_int_equal(DECODE(64, 0x0f, 0xc7, 0x0e), -ENOENT); /* cmpxchg16b */
	assert_int_equal(DECODE(64, 0x48, 0x0f, 0xae, 0x2f), -ENOENT); /* xrstor */
	assert_int_equal(DECODE(64, 0xcd), -ENODATA);      /* cut short */
	assert_int_equal(swint_decode(NULL, 0, 64, &si), -ENODATA);
	/* fifteen prefixes and no opcode: past the architectural limit */
	const uint8_t many[20] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				   0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0xcc };
	assert_int_equal(swint_decode(many, sizeof(many), 64, &si), -ENOENT);
	assert_string_equal(swint_name(SWINT_INT3), "int3");
	assert_string_equal(swint_name(SWINT_NR), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_forms),
		cmocka_unit_test(prefixes_count_in_length),
		cmocka_unit_test(clac_stac),
		cmocka_unit_test(fwait),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests_name("emul_assist", tests, NULL, NULL);
}
