/*
 * bzImage parsing: a synthetic image built here covers every header check
 * without the real kernel; the real Debian bzImage, if present, is parsed,
 * loaded and cut at many lengths. Truncated prefixes are copied into
 * exact-size buffers so ASan would catch any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "petrel/bzimage.h"
#include "petrel/layout.h"
#include "petrel/memory.h"
#include "petrel/util.h"

#include "kernel_fixture.h"

#define HDR(field) (BZIMAGE_HDR_OFFSET + offsetof(struct setup_header, field))

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

/* A minimal 2.15 bzImage: 3 setup sectors, 64 KiB of protected-mode code. */
#define SYN_SECTS 3
#define SYN_SETUP ((SYN_SECTS + 1) * 512)
#define SYN_PM (64 * 1024)
#define SYN_PAYLOAD_OFF 0x300
#define SYN_PAYLOAD_LEN 0x1000
#define SYN_LEN (SYN_SETUP + SYN_PM + 100) /* + a "signature" */

static uint8_t *make_image(void)
{
	uint8_t *p = calloc(1, SYN_LEN);

	assert_non_null(p);
	for (size_t i = SYN_SETUP; i < SYN_LEN; i++)
		p[i] = (uint8_t)(i * 7);
	p[HDR(setup_sects)] = SYN_SECTS;
	put32(p, HDR(syssize), SYN_PM / 16);
	put16(p, HDR(boot_flag), 0xaa55);
	p[0x200] = 0xeb;
	p[0x201] = 0x6a; /* header ends at 0x26c, past what we know */
	put32(p, HDR(header), 0x53726448);
	put16(p, HDR(version), 0x020f);
	p[HDR(loadflags)] = LOADED_HIGH;
	put32(p, HDR(code32_start), 0x100000);
	put32(p, HDR(initrd_addr_max), 0x7fffffff);
	put32(p, HDR(kernel_alignment), 0x200000);
	p[HDR(relocatable_kernel)] = 1;
	put16(p, HDR(xloadflags), XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(p, HDR(cmdline_size), 2047);
	put32(p, HDR(payload_offset), SYN_PAYLOAD_OFF);
	put32(p, HDR(payload_length), SYN_PAYLOAD_LEN);
	put64(p, HDR(pref_address), 0x1000000);
	put32(p, HDR(init_size), 0x400000);
	return p;
}

static int parse(const uint8_t *img, size_t len, struct bzimage *bz,
		 const char **why)
{
	*why = NULL;
	return bzimage_parse(img, len, bz, why);
}

static void test_synthetic(void **state)
{
	uint8_t *img = make_image();
	struct bzimage bz;
	const char *why;
	(void)state;

	assert_true(bzimage_probe(img, SYN_LEN));
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_null(why);
	assert_int_equal(bz.version, 0x020f);
	assert_int_equal(bz.setup_size, SYN_SETUP);
	assert_ptr_equal(bz.pm, img + SYN_SETUP);
	assert_int_equal(bz.pm_len, SYN_PM);
	assert_ptr_equal(bz.payload, img + SYN_SETUP + SYN_PAYLOAD_OFF);
	assert_int_equal(bz.payload_len, SYN_PAYLOAD_LEN);
	assert_true(bz.kernel_64);
	/* 0x26c - 0x1f1 is more than we know: clamped */
	assert_int_equal(bz.hdr_len, sizeof(struct setup_header));
	assert_memory_equal(&bz.hdr, img + BZIMAGE_HDR_OFFSET, bz.hdr_len);
	assert_int_equal(bz.hdr.init_size, 0x400000);
	assert_int_equal(bz.hdr.pref_address, 0x1000000);
	assert_int_equal(bz.hdr.cmdline_size, 2047);
	assert_int_equal(bz.hdr.kernel_alignment, 0x200000);
	assert_int_equal(bz.hdr.relocatable_kernel, 1);
	assert_int_equal(bz.hdr.initrd_addr_max, 0x7fffffff);

	/* a header ending at init_size (2.10's length): copied as is */
	img[0x201] = (uint8_t)(BZIMAGE_HDR_OFFSET +
			       offsetof(struct setup_header, handover_offset) -
			       0x202);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_int_equal(bz.hdr_len, offsetof(struct setup_header, handover_offset));
	assert_int_equal(bz.hdr.handover_offset, 0);
	assert_int_equal(bz.hdr.init_size, 0x400000);

	/* setup_sects 0 means 4: 512 bytes more setup, less pm code left */
	img[HDR(setup_sects)] = 0;
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	put32(img, HDR(syssize), (SYN_LEN - 5 * 512) / 16);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_int_equal(bz.setup_size, 5 * 512);
	assert_ptr_equal(bz.pm, img + 5 * 512);
	free(img);
}

/* Older protocol versions: fields they lack are not believed. */
static void test_versions(void **state)
{
	uint8_t *img = make_image();
	struct bzimage bz;
	const char *why;
	(void)state;

	put16(img, HDR(version), 0x020b); /* before xloadflags */
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_false(bz.kernel_64);
	assert_non_null(bz.payload);

	put16(img, HDR(version), 0x0207); /* before payload fields */
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_null(bz.payload);
	assert_int_equal(bz.payload_len, 0);

	put16(img, HDR(version), 0x0206);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);

	put16(img, HDR(version), 0x0205);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -ENOEXEC);
	assert_string_equal(why, "boot protocol too old (need 2.06)");
	assert_int_equal(bz.version, 0x0205); /* so the CLI can print it */

	put16(img, HDR(version), 0x0203);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -ENOEXEC);
	assert_int_equal(bz.version, 0x0203);

	/* 2.15 claims fields up to init_size: a header ending early lies */
	put16(img, HDR(version), 0x020f);
	img[0x201] = 0x30; /* ends at 0x232 */
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	assert_string_equal(why, "setup header shorter than its boot protocol "
				 "version requires");
	/* ... which is enough for 2.06 */
	img[0x201] = (uint8_t)(HDR(cmdline_size) + 4 - 0x202);
	put16(img, HDR(version), 0x0206);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_int_equal(bz.hdr_len, HDR(cmdline_size) + 4 - BZIMAGE_HDR_OFFSET);
	assert_int_equal(bz.hdr.cmdline_size, 2047);
	/* bytes past the header are not copied */
	assert_int_equal(bz.hdr.hardware_subarch, 0);
	assert_int_equal(bz.hdr.init_size, 0);
	free(img);
}

static void test_bad_headers(void **state)
{
	uint8_t *img = make_image();
	struct bzimage bz;
	const char *why;
	(void)state;

	img[0x1fe] = 0x00;
	assert_false(bzimage_probe(img, SYN_LEN));
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -ENOEXEC);
	assert_string_equal(why, "not a bzImage: no 0xAA55 boot flag");
	img[0x1fe] = 0x55;

	img[0x205] = 'X';
	assert_false(bzimage_probe(img, SYN_LEN));
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -ENOEXEC);
	assert_string_equal(why, "not a bzImage: no HdrS magic");
	img[0x205] = 'S';
	assert_true(bzimage_probe(img, SYN_LEN));

	img[HDR(loadflags)] = 0;
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -ENOEXEC);
	assert_string_equal(why, "not a bzImage: zImage (not LOADED_HIGH)");
	img[HDR(loadflags)] = LOADED_HIGH;

	put32(img, HDR(syssize), 0);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	put32(img, HDR(syssize), (SYN_LEN - SYN_SETUP) / 16 + 1);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	assert_string_equal(why, "protected-mode kernel runs past end of file");
	put32(img, HDR(syssize), 0xffffffff); /* * 16 must not wrap */
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	/* the whole rest of the file is fine: syssize rounds up to 16 */
	put32(img, HDR(syssize), (SYN_LEN - SYN_SETUP) / 16);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	put32(img, HDR(syssize), SYN_PM / 16);

	/* payload claims beyond the protected-mode code */
	put32(img, HDR(payload_length), SYN_PM - SYN_PAYLOAD_OFF + 1);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	assert_string_equal(why, "payload runs past end of file");
	put32(img, HDR(payload_length), SYN_PM - SYN_PAYLOAD_OFF);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_int_equal(bz.payload_len, SYN_PM - SYN_PAYLOAD_OFF);
	/* offset + length overflowing 32 bits must not wrap around */
	put32(img, HDR(payload_offset), 0xffffffff);
	put32(img, HDR(payload_length), 0x10);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	put32(img, HDR(payload_offset), 0x10);
	put32(img, HDR(payload_length), 0xffffffff);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	/* no payload at all is not an error here */
	put32(img, HDR(payload_length), 0);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), 0);
	assert_null(bz.payload);

	put32(img, HDR(kernel_alignment), 0);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	put32(img, HDR(kernel_alignment), 0x300000);
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	assert_string_equal(why, "kernel_alignment is not a power of two");

	/* setup sectors past the end of the file */
	put32(img, HDR(kernel_alignment), 0x200000);
	img[HDR(setup_sects)] = 255;
	assert_int_equal(parse(img, SYN_LEN, &bz, &why), -EINVAL);
	assert_string_equal(why, "bzImage truncated in the setup code");

	assert_int_equal(bzimage_parse(NULL, 100, &bz, NULL), -ENOEXEC);
	assert_false(bzimage_probe(NULL, 100));
	free(img);
}

/* The expected result of parsing the first len bytes of a valid image. */
static int expect_for_len(size_t len, size_t complete)
{
	if (len < 0x206)
		return -ENOEXEC; /* no room for the magic: not recognisable */
	return len < complete ? -EINVAL : 0;
}

static void check_prefix(const uint8_t *img, size_t len, size_t complete)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct bzimage bz;
	const char *why = NULL;
	int ret;

	memcpy(copy, img, len);
	ret = bzimage_parse(copy, len, &bz, &why);
	if (ret != expect_for_len(len, complete))
		print_message("length %#zx: %d (%s)\n", len, ret, why);
	assert_int_equal(ret, expect_for_len(len, complete));
	if (ret == 0) {
		assert_true(bz.pm + bz.pm_len <= copy + len);
		assert_true(!bz.payload ||
			    bz.payload + bz.payload_len <= bz.pm + bz.pm_len);
	} else {
		assert_non_null(why);
	}
	free(copy);
}

static void test_synthetic_truncated(void **state)
{
	uint8_t *img = make_image();
	(void)state;

	/* every length through the header, then a stride and the edges */
	for (size_t len = 0; len <= SYN_LEN; len += len < 0x400 ? 1 : 251)
		check_prefix(img, len, SYN_SETUP + SYN_PM);
	for (size_t len = SYN_SETUP - 2; len <= SYN_SETUP + 2; len++)
		check_prefix(img, len, SYN_SETUP + SYN_PM);
	for (size_t len = SYN_SETUP + SYN_PM - 2; len <= SYN_LEN; len++)
		check_prefix(img, len, SYN_SETUP + SYN_PM);
	free(img);
}

static void test_load_pm(void **state)
{
	uint8_t *img = make_image();
	struct guest_mem m;
	struct bzimage bz, empty = { 0 };
	const char *why = NULL;
	(void)state;

	assert_int_equal(guest_mem_init(&m, 8 * MiB), 0);
	assert_int_equal(bzimage_parse(img, SYN_LEN, &bz, NULL), 0);
	assert_int_equal(bzimage_load_pm(&bz, &m, BZIMAGE_LOAD_ADDR, &why), 0);
	assert_memory_equal(gpa_ptr(&m, BZIMAGE_LOAD_ADDR, SYN_PM),
			    img + SYN_SETUP, SYN_PM);
	/* the byte after pm_len is untouched (the signature stays behind) */
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, BZIMAGE_LOAD_ADDR + SYN_PM, 1), 0);

	/* init_size (4 MiB) must fit, not just the 64 KiB of code */
	assert_int_equal(bzimage_load_pm(&bz, &m, 8 * MiB - 4 * MiB, &why), 0);
	assert_int_equal(bzimage_load_pm(&bz, &m, 8 * MiB - 4 * MiB + 4096, &why),
			 -ENOSPC);
	assert_string_equal(why, "kernel (init_size) does not fit in guest RAM "
				 "at the load address");
	assert_int_equal(bzimage_load_pm(&bz, &m, UINT64_MAX - 10, &why), -ENOSPC);
	assert_int_equal(bzimage_load_pm(&empty, &m, 0x100000, &why), -EINVAL);

	/* before 2.10 there is no init_size: only the code must fit */
	put16(img, HDR(version), 0x0208);
	assert_int_equal(bzimage_parse(img, SYN_LEN, &bz, NULL), 0);
	assert_int_equal(bzimage_load_pm(&bz, &m, 8 * MiB - SYN_PM, &why), 0);
	assert_int_equal(bzimage_load_pm(&bz, &m, 8 * MiB - SYN_PM + 1, &why),
			 -ENOSPC);
	guest_mem_destroy(&m);
	free(img);
}

/* ---- the real kernel (kernel_fixture.c) ---- */

static void test_real_kernel(void **state)
{
	struct kernel *k = need_kernel(state);
	static const uint8_t lz4_magic[] = { 0x02, 0x21, 0x4c, 0x18 };
	struct bzimage bz;
	const char *why = NULL;

	assert_true(bzimage_probe(k->img, k->len));
	assert_int_equal(bzimage_parse(k->img, k->len, &bz, &why), 0);
	assert_null(why);
	print_message("boot protocol %u.%02u, setup %zu, pm %zu, payload %zu, "
		      "init_size %#x\n", bz.version >> 8, bz.version & 0xff,
		      bz.setup_size, bz.pm_len, bz.payload_len,
		      bz.hdr.init_size);
	assert_true(bz.version >= 0x020c);
	assert_true(bz.kernel_64);
	assert_true(bz.hdr.loadflags & LOADED_HIGH);
	assert_int_equal(bz.setup_size, (k->img[0x1f1] + 1u) * 512);
	assert_int_equal(bz.pm_len, (size_t)bz.hdr.syssize * 16);
	assert_ptr_equal(bz.pm, k->img + bz.setup_size);
	/* Debian signs its kernels: the signature follows the pm code */
	assert_true(bz.setup_size + bz.pm_len <= k->len);
	assert_int_equal(bz.hdr_len, MIN(0x202u + k->img[0x201] - 0x1f1,
					 sizeof(struct setup_header)));
	assert_ptr_equal(bz.payload, bz.pm + bz.hdr.payload_offset);
	assert_int_equal(bz.payload_len, bz.hdr.payload_length);
	assert_memory_equal(bz.payload, lz4_magic, sizeof(lz4_magic));
	assert_int_equal(bz.hdr.pref_address, 0x1000000);
	assert_true(bz.hdr.relocatable_kernel);
	assert_true(bz.hdr.init_size > bz.pm_len);
	assert_true(bz.hdr.cmdline_size >= 255);
}

static void test_real_kernel_truncated(void **state)
{
	struct kernel *k = need_kernel(state);
	struct bzimage bz;

	assert_int_equal(bzimage_parse(k->img, k->len, &bz, NULL), 0);
	const size_t complete = bz.setup_size + bz.pm_len;
	const size_t po = bz.hdr.payload_offset;
	const size_t lens[] = { 0, 100, 0x1f1, 0x1fe, 0x200, 0x202, 0x205,
				0x206, 0x207, 0x208, 0x26b, 0x26c, 0x300,
				bz.setup_size - 1, bz.setup_size,
				bz.setup_size + 1, bz.setup_size + po + 10,
				complete / 2, complete - 1, complete,
				complete + 1, k->len - 1, k->len };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++)
		check_prefix(k->img, lens[i], complete);
	/* every length through the header, a stride through the setup code */
	for (size_t len = 0; len <= bz.setup_size + 512;
	     len += len < 0x400 ? 1 : 61)
		check_prefix(k->img, len, complete);
}

static void test_real_kernel_hostile(void **state)
{
	struct kernel *k = need_kernel(state);
	uint8_t *img = malloc(k->len);
	struct bzimage bz;
	const char *why;

	memcpy(img, k->img, k->len);
	/* payload claimed beyond EOF */
	put32(img, HDR(payload_length), (uint32_t)k->len);
	assert_int_equal(parse(img, k->len, &bz, &why), -EINVAL);
	assert_string_equal(why, "payload runs past end of file");
	memcpy(img + HDR(payload_length), k->img + HDR(payload_length), 4);
	/* pm code claimed beyond EOF */
	put32(img, HDR(syssize), (uint32_t)(k->len / 16));
	assert_int_equal(parse(img, k->len, &bz, &why), -EINVAL);
	memcpy(img + HDR(syssize), k->img + HDR(syssize), 4);
	assert_int_equal(parse(img, k->len, &bz, &why), 0);
	free(img);
}

static void test_real_kernel_load_pm(void **state)
{
	struct kernel *k = need_kernel(state);
	struct guest_mem m;
	struct bzimage bz;

	assert_int_equal(bzimage_parse(k->img, k->len, &bz, NULL), 0);
	assert_int_equal(guest_mem_init(&m, 256 * MiB), 0);
	assert_int_equal(bzimage_load_pm(&bz, &m, BZIMAGE_LOAD_ADDR, NULL), 0);
	assert_memory_equal(gpa_ptr(&m, BZIMAGE_LOAD_ADDR, bz.pm_len), bz.pm,
			    bz.pm_len);
	guest_mem_destroy(&m);
	/* init_size is ~50 MiB: 32 MiB of RAM is not enough */
	assert_int_equal(guest_mem_init(&m, 32 * MiB), 0);
	assert_int_equal(bzimage_load_pm(&bz, &m, BZIMAGE_LOAD_ADDR, NULL),
			 bz.hdr.init_size + BZIMAGE_LOAD_ADDR > 32 * MiB ? -ENOSPC : 0);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_synthetic_truncated),
		cmocka_unit_test(test_load_pm),
		cmocka_unit_test(test_real_kernel),
		cmocka_unit_test(test_real_kernel_truncated),
		cmocka_unit_test(test_real_kernel_hostile),
		cmocka_unit_test(test_real_kernel_load_pm),
	};

	return cmocka_run_group_tests(tests, load_kernel, free_kernel);
}
