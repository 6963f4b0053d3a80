/* The AML writer behind the DSDT: encodings checked byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/aml.h"

static void integers(void **state)
{
	uint8_t b[64];
	struct aml a;
	static const uint8_t want[] = {
		0x00,                         /* Zero */
		0x01,                         /* One */
		0x0a, 0x05,                   /* BytePrefix */
		0x0b, 0x34, 0x12,             /* WordPrefix */
		0x0c, 0x78, 0x56, 0x34, 0x12, /* DWordPrefix */
		0x0e, 1, 0, 0, 0, 1, 0, 0, 0, /* QWordPrefix */
	};
	(void)state;

	aml_init(&a, b, sizeof(b));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 5);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x100000001ULL);
	assert_int_equal(aml_len(&a), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
}

static void eisaid(void **state)
{
	(void)state;
	assert_int_equal(aml_eisaid("PNP0A03"), 0x030ad041);
	assert_int_equal(aml_eisaid("PNP0501"), 0x0105d041); /* 16550 UART */
}

/* A Device whose body is n bytes of Zero, to exercise PkgLength sizes. */
static size_t device_of(uint8_t *b, size_t cap, size_t n)
{
	struct aml a;
	size_t h;

	aml_init(&a, b, cap);
	h = aml_device_open(&a, "DEV");
	for (size_t i = 0; i < n; i++)
		aml_byte(&a, 0);
	aml_close(&a, h);
	return aml_len(&a);
}

static void pkglength(void **state)
{
	static uint8_t b[70000];
	(void)state;

	/* 1 byte: body (NameSeg 4 + 10) + 1 = 15 */
	assert_int_equal(device_of(b, sizeof(b), 10), 2 + 1 + 4 + 10);
	assert_int_equal(b[2], 15);
	assert_memory_equal(b + 3, "DEV_", 4); /* padded with '_' */
	/* 2 bytes: body 4 + 100 = 104, total 106 = 0x6a */
	assert_int_equal(device_of(b, sizeof(b), 100), 2 + 2 + 104);
	assert_int_equal(b[2], 0x40 | 0xa);
	assert_int_equal(b[3], 0x06);
	/* 3 bytes: body 4 + 5000 = 5004, total 5007 = 0x138f */
	assert_int_equal(device_of(b, sizeof(b), 5000), 2 + 3 + 5004);
	assert_int_equal(b[2], 0x80 | 0xf);
	assert_int_equal(b[3], 0x38);
	assert_int_equal(b[4], 0x01);
	/* the boundary: total 63 still fits one byte, 64 needs two */
	assert_int_equal(device_of(b, sizeof(b), 58), 2 + 1 + 62);
	assert_int_equal(b[2], 63);
	assert_int_equal(device_of(b, sizeof(b), 59), 2 + 2 + 63);
	assert_int_equal(b[2], 0x40 | (65 & 0xf));
	assert_int_equal(b[3], 65 >> 4);
}

static void buffer_and_resources(void **state)
{
	uint8_t b[128];
	struct aml a;
	size_t h;
	(void)state;

	aml_init(&a, b, sizeof(b));
	aml_name(&a, "_CRS");
	h = aml_buffer_open(&a);
	aml_res_io(&a, 0xcf8, 0xcf8, 1, 8);
	aml_res_end(&a);
	aml_buffer_close(&a, h);
	static const uint8_t want[] = {
		0x08, '_', 'C', 'R', 'S',
		0x11, 0,                /* BufferOp, PkgLength (set below) */
		0x0b, 10, 0,            /* BufferSize: WordConst 10 */
		0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8,
		0x79, 0,
	};
	/* PkgLength = 1 (itself) + 3 (BufferSize) + 10 (bytes) = 14 */
	uint8_t expect[sizeof(want)];
	memcpy(expect, want, sizeof(want));
	expect[6] = 14;
	assert_int_equal(aml_len(&a), sizeof(want));
	assert_memory_equal(b, expect, sizeof(want));
}

/* ACPI 6.4: 19.6.* String, 6.4.3.4 Memory32Fixed, 6.4.3.6 Extended Interrupt */
static void string_mem32_interrupt(void **state)
{
	uint8_t b[64];
	struct aml a;
	static const uint8_t want[] = {
		0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00,
		/* Memory32Fixed (ReadWrite, 0xd0000000, 0x200) */
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0,
		0x00, 0x02, 0x00, 0x00,
		/* Memory32Fixed (ReadOnly, 0x12345678, 0x1000) */
		0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12,
		0x00, 0x10, 0x00, 0x00,
		/* Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {16} */
		0x89, 0x06, 0x00, 0x01, 0x01, 0x10, 0x00, 0x00, 0x00,
		/* Interrupt (ResourceConsumer, Edge, ActiveLow, Shared) {0x123} */
		0x89, 0x06, 0x00, 0x0f, 0x01, 0x23, 0x01, 0x00, 0x00,
	};
	(void)state;

	aml_init(&a, b, sizeof(b));
	aml_string(&a, "LNRO0005");
	aml_res_mem32_fixed(&a, true, 0xd0000000, 0x200);
	aml_res_mem32_fixed(&a, false, 0x12345678, 0x1000);
	aml_res_interrupt(&a, 0, 16);
	aml_res_interrupt(&a, AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED,
			  0x123);
	assert_int_equal(aml_len(&a), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
}

static void overflow_is_reported(void **state)
{
	uint8_t b[8];
	struct aml a;
	size_t h;
	(void)state;

	aml_init(&a, b, sizeof(b));
	h = aml_device_open(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_dword(&a, aml_eisaid("PNP0A03"));
	aml_close(&a, h);
	assert_int_equal(aml_len(&a), 0);
	assert_true(a.overflow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integers),
		cmocka_unit_test(eisaid),
		cmocka_unit_test(pkglength),
		cmocka_unit_test(buffer_and_resources),
		cmocka_unit_test(string_mem32_interrupt),
		cmocka_unit_test(overflow_is_reported),
	};
	return cmocka_run_group_tests_name("aml", tests, NULL, NULL);
}
