/* e820 map, boot_params and initrd placement. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <asm/e820.h>
#include <errno.h>
#include <string.h>

#include "petrel/bootparams.h"
#include "petrel/layout.h"
#include "petrel/util.h"

struct exp {
	uint64_t addr, size;
	uint32_t type;
};

static void check_e820(uint64_t ram, const struct exp *e, unsigned ne)
{
	struct guest_mem m;
	struct boot_e820_entry tab[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned n = 0;

	assert_int_equal(guest_mem_init(&m, ram), 0);
	assert_int_equal(e820_build(&m, tab, ARRAY_SIZE(tab), &n), 0);
	assert_int_equal(n, ne);
	for (unsigned i = 0; i < ne; i++) {
		assert_int_equal(tab[i].addr, e[i].addr);
		assert_int_equal(tab[i].size, e[i].size);
		assert_int_equal(tab[i].type, e[i].type);
		if (i)
			assert_true(tab[i - 1].addr + tab[i - 1].size <=
				    tab[i].addr);
	}
	guest_mem_destroy(&m);
}

#define LOW_FIXED                                                            \
	{ 0, 0x9fc00, E820_RAM }, { 0x9fc00, 0x400, E820_RESERVED },         \
		{ 0xe0000, 0x10000, E820_ACPI },                             \
		{ 0xf0000, 0x10000, E820_RESERVED }

static void test_e820_16m(void **s)
{
	(void)s;
	const struct exp e[] = { LOW_FIXED, { 0x100000, 15 * MiB, E820_RAM } };
	check_e820(16 * MiB, e, ARRAY_SIZE(e));
}

static void test_e820_512m(void **s)
{
	(void)s;
	const struct exp e[] = { LOW_FIXED,
				 { 0x100000, 511 * MiB, E820_RAM } };
	check_e820(512 * MiB, e, ARRAY_SIZE(e));
}

static void test_e820_3g(void **s)
{
	(void)s;
	const struct exp e[] = { LOW_FIXED,
				 { 0x100000, 0xC0000000 - 0x100000, E820_RAM } };
	check_e820(3 * GiB, e, ARRAY_SIZE(e));
}

static void test_e820_3_5g(void **s)
{
	(void)s;
	const struct exp e[] = { LOW_FIXED,
				 { 0x100000, 0xC0000000 - 0x100000, E820_RAM },
				 { 0x100000000, 512 * MiB, E820_RAM } };
	check_e820(3 * GiB + 512 * MiB, e, ARRAY_SIZE(e));
}

static void test_e820_4g(void **s)
{
	(void)s;
	const struct exp e[] = { LOW_FIXED,
				 { 0x100000, 0xC0000000 - 0x100000, E820_RAM },
				 { 0x100000000, 1 * GiB, E820_RAM } };
	check_e820(4 * GiB, e, ARRAY_SIZE(e));
}

static void test_e820_8g(void **s)
{
	(void)s;
	const struct exp e[] = { LOW_FIXED,
				 { 0x100000, 0xC0000000 - 0x100000, E820_RAM },
				 { 0x100000000, 5 * GiB, E820_RAM } };
	check_e820(8 * GiB, e, ARRAY_SIZE(e));
}

static void test_e820_errors(void **s)
{
	(void)s;
	struct guest_mem m;
	struct boot_e820_entry tab[8];
	unsigned n = 99;

	assert_int_equal(guest_mem_init(&m, 8 * GiB), 0);
	assert_int_equal(e820_build(&m, tab, 5, &n), -ENOSPC);
	assert_int_equal(e820_build(&m, tab, 3, &n), -ENOSPC);
	assert_int_equal(n, 99);
	assert_int_equal(e820_build(&m, tab, 6, &n), 0);
	assert_int_equal(n, 6);
	guest_mem_destroy(&m);
	/* 1 MiB of RAM leaves nothing above the BIOS area. */
	assert_int_equal(guest_mem_init(&m, 1 * MiB), 0);
	assert_int_equal(e820_build(&m, tab, 8, &n), -EINVAL);
	guest_mem_destroy(&m);
}

/* A bzImage-like header: what a 6.x x86_64 kernel reports. */
static void make_bzimage_hdr(uint8_t *buf, size_t len, uint8_t hdr_end_jump)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = 27;
	h.boot_flag = 0xAA55;
	h.jump = (uint16_t)(0xEB | hdr_end_jump << 8);
	h.header = 0x53726448;
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH | CAN_USE_HEAP | QUIET_FLAG;
	h.heap_end_ptr = 0x5000;
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.setup_data = 0x1234; /* must not survive */
	h.pref_address = 0x1000000;
	h.init_size = 0x2345000;
	h.kernel_info_offset = 0xabcd;
	memset(buf, 0, len);
	memcpy(buf, &h, MIN(len, sizeof(h)));
}

/* The jump byte that makes the header end exactly at sizeof(setup_header). */
#define FULL_JUMP ((uint8_t)(0x1f1 + sizeof(struct setup_header) - 0x202))

struct fixture {
	struct guest_mem m;
	struct boot_params bp;
	struct bootparams_cfg cfg;
	uint8_t hdr[256];
};

static int setup(void **state)
{
	static struct fixture f; /* 4 KiB+ boot_params: keep it off the stack */

	memset(&f, 0, sizeof(f));
	if (guest_mem_init(&f.m, 512 * MiB))
		return -1;
	make_bzimage_hdr(f.hdr, sizeof(f.hdr), FULL_JUMP);
	f.cfg = (struct bootparams_cfg){
		.setup_hdr = f.hdr,
		.setup_hdr_len = sizeof(f.hdr),
		.mem = &f.m,
		.cmdline_addr = BOOT_CMDLINE_ADDR,
		.cmdline_len = 14,
		.initrd_addr = 0x1f000000,
		.initrd_size = 0x800123,
		.acpi_rsdp_addr = ACPI_TABLES_ADDR,
	};
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	guest_mem_destroy(&f->m);
	return 0;
}

static void test_bp_bzimage(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = &f->bp;

	memset(bp, 0x5a, sizeof(*bp));
	assert_int_equal(bootparams_build(bp, &f->cfg), 0);
	assert_int_equal(bp->sentinel, 0);
	assert_int_equal(bp->hdr.setup_sects, 27);
	assert_int_equal(bp->hdr.boot_flag, 0xAA55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.loadflags, LOADED_HIGH | QUIET_FLAG);
	assert_int_equal(bp->hdr.heap_end_ptr, 0);
	assert_int_equal(bp->hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp->hdr.init_size, 0x2345000);
	assert_int_equal(bp->hdr.kernel_info_offset, 0xabcd);
	assert_int_equal(bp->hdr.setup_data, 0);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0x1f000000);
	assert_int_equal(bp->hdr.ramdisk_size, 0x800123);
	assert_int_equal(bp->ext_ramdisk_image, 0);
	assert_int_equal(bp->ext_ramdisk_size, 0);
	assert_int_equal(bp->acpi_rsdp_addr, ACPI_TABLES_ADDR);
	assert_int_equal(bp->e820_entries, 5);
	assert_int_equal(bp->e820_table[4].addr, 0x100000);
	assert_int_equal(bp->e820_table[4].size, 511 * MiB);
	assert_int_equal(bp->e820_table[5].size, 0);
}

static void test_bp_header_end_respected(void **state)
{
	struct fixture *f = *state;

	/* Header ends right before kernel_info_offset (protocol 2.14-ish). */
	make_bzimage_hdr(f->hdr, sizeof(f->hdr),
			 (uint8_t)(0x1f1 +
				   offsetof(struct setup_header,
					    kernel_info_offset) -
				   0x202));
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	assert_int_equal(f->bp.hdr.init_size, 0x2345000);
	assert_int_equal(f->bp.hdr.kernel_info_offset, 0);
}

static void test_bp_bad_header(void **state)
{
	struct fixture *f = *state;
	struct setup_header *h = (struct setup_header *)f->hdr;

	f->cfg.setup_hdr_len = 20;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -ENOEXEC);
	f->cfg.setup_hdr_len = sizeof(f->hdr);
	h->header = 0x12345678;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -ENOEXEC);
	h->header = 0x53726448;
	h->version = 0x0205;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -EPROTONOSUPPORT);
	h->version = 0x0206;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	assert_int_equal(bootparams_build(&f->bp, NULL), -EINVAL);
}

static void test_bp_vmlinux(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = &f->bp;

	f->cfg.setup_hdr = NULL;
	f->cfg.setup_hdr_len = 0;
	f->cfg.acpi_rsdp_addr = 0;
	assert_int_equal(bootparams_build(bp, &f->cfg), 0);
	assert_int_equal(bp->hdr.boot_flag, 0xAA55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.kernel_alignment, 0x1000000);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.loadflags, LOADED_HIGH);
	assert_int_equal(bp->hdr.cmdline_size, 2047);
	assert_int_equal(bp->hdr.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bp->hdr.xloadflags, XLF_KERNEL_64);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(bp->hdr.ramdisk_image, 0x1f000000);
	assert_int_equal(bp->hdr.ramdisk_size, 0x800123);
	assert_int_equal(bp->acpi_rsdp_addr, 0);
	assert_int_equal(bp->e820_entries, 5);
}

static void test_bp_no_cmdline_no_initrd(void **state)
{
	struct fixture *f = *state;

	f->cfg.cmdline_addr = 0;
	f->cfg.initrd_size = 0;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	assert_int_equal(f->bp.hdr.cmd_line_ptr, 0);
	assert_int_equal(f->bp.hdr.ramdisk_image, 0);
	assert_int_equal(f->bp.hdr.ramdisk_size, 0);
}

static void test_bp_cmdline_too_long(void **state)
{
	struct fixture *f = *state;

	f->cfg.cmdline_len = 2047;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	f->cfg.cmdline_len = 2048;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -E2BIG);
	f->cfg.setup_hdr = NULL;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -E2BIG);
	/* Inside the limit but not in RAM. */
	f->cfg.cmdline_len = 10;
	f->cfg.cmdline_addr = 512 * MiB - 5;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -EFAULT);
}

static void test_bp_initrd_beyond_max(void **state)
{
	struct fixture *f = *state;
	struct setup_header *h = (struct setup_header *)f->hdr;

	/* Without XLF_CAN_BE_LOADED_ABOVE_4G initrd_addr_max is binding. */
	h->xloadflags = XLF_KERNEL_64;
	h->initrd_addr_max = 0x1f7fffff;
	f->cfg.initrd_addr = 0x1f000000;
	f->cfg.initrd_size = 0x800000; /* last byte 0x1f7fffff: fits */
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	f->cfg.initrd_size = 0x800001;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -ERANGE);
	/* The vmlinux header's 2 GiB limit, with RAM above it. */
	struct guest_mem big;
	assert_int_equal(guest_mem_init(&big, 4 * GiB), 0);
	f->cfg.mem = &big;
	f->cfg.setup_hdr = NULL;
	f->cfg.initrd_addr = 0x7ffff000;
	f->cfg.initrd_size = 0x1000;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	f->cfg.initrd_size = 0x1001;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -ERANGE);
	guest_mem_destroy(&big);
	/* Beyond the end of RAM altogether. */
	f->cfg.mem = &f->m;
	f->cfg.initrd_size = 0x1000;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -EFAULT);
}

static void test_bp_initrd_above_4g(void **state)
{
	struct fixture *f = *state;
	struct guest_mem big;

	assert_int_equal(guest_mem_init(&big, 8 * GiB), 0);
	f->cfg.mem = &big;
	f->cfg.initrd_addr = 0x110000000ULL;
	f->cfg.initrd_size = 0x100000005ULL;
	f->cfg.cmdline_addr = 0x123400000ULL;
	/* The bzImage header says XLF_CAN_BE_LOADED_ABOVE_4G. */
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), 0);
	assert_int_equal(f->bp.hdr.ramdisk_image, 0x10000000);
	assert_int_equal(f->bp.ext_ramdisk_image, 1);
	assert_int_equal(f->bp.hdr.ramdisk_size, 5);
	assert_int_equal(f->bp.ext_ramdisk_size, 1);
	assert_int_equal(f->bp.hdr.cmd_line_ptr, 0x23400000);
	assert_int_equal(f->bp.ext_cmd_line_ptr, 1);
	assert_int_equal(f->bp.e820_entries, 6);
	/* The vmlinux header does not. */
	f->cfg.setup_hdr = NULL;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -ERANGE);
	f->cfg.cmdline_addr = BOOT_CMDLINE_ADDR;
	assert_int_equal(bootparams_build(&f->bp, &f->cfg), -ERANGE);
	guest_mem_destroy(&big);
}

static void test_initrd_place(void **state)
{
	struct fixture *f = *state; /* 512 MiB */
	gpa_t at = 0;

	assert_int_equal(initrd_place(&f->m, 0x800123, 0x7fffffff, 0x2000000,
				      &at), 0);
	assert_int_equal(at, ALIGN_DOWN(512 * MiB - 0x800123, 4096));
	assert_int_equal(at, 0x1f7ff000);
	/* initrd_addr_max below the end of RAM is the ceiling. */
	assert_int_equal(initrd_place(&f->m, 0x1000, 0x0fffffff, 0x2000000,
				      &at), 0);
	assert_int_equal(at, 0x0ffff000);
	/* Exactly fills from kernel_end to the top. */
	assert_int_equal(initrd_place(&f->m, 512 * MiB - 32 * MiB, 0x7fffffff,
				      32 * MiB, &at), 0);
	assert_int_equal(at, 32 * MiB);
	/* One page too big. */
	at = 0x55;
	assert_int_equal(initrd_place(&f->m, 512 * MiB - 32 * MiB + 1,
				      0x7fffffff, 32 * MiB, &at), -ENOSPC);
	assert_int_equal(at, 0x55);
	assert_int_equal(initrd_place(&f->m, 600 * MiB, 0x7fffffff, 0, &at),
			 -ENOSPC);
	/* Never below 1 MiB even with kernel_end 0. */
	assert_int_equal(initrd_place(&f->m, 511 * MiB + 1, 0x7fffffff, 0,
				      &at), -ENOSPC);
	assert_int_equal(initrd_place(&f->m, 0, 0x7fffffff, 0, &at), -EINVAL);
}

static void test_initrd_place_big_ram(void **state)
{
	(void)state;
	struct guest_mem m;
	gpa_t at = 0;

	/* Low RAM ends at 3 GiB; the 2 GiB initrd_addr_max wins. */
	assert_int_equal(guest_mem_init(&m, 8 * GiB), 0);
	assert_int_equal(initrd_place(&m, 0x2000, 0x7fffffff, 0x2000000, &at),
			 0);
	assert_int_equal(at, 0x7fffe000);
	assert_int_equal(initrd_place(&m, 0x2000, 0xffffffff, 0x2000000, &at),
			 0);
	assert_int_equal(at, 0xbfffe000);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_16m),
		cmocka_unit_test(test_e820_512m),
		cmocka_unit_test(test_e820_3g),
		cmocka_unit_test(test_e820_3_5g),
		cmocka_unit_test(test_e820_4g),
		cmocka_unit_test(test_e820_8g),
		cmocka_unit_test(test_e820_errors),
		cmocka_unit_test_setup_teardown(test_bp_bzimage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bp_header_end_respected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bp_bad_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bp_vmlinux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bp_no_cmdline_no_initrd,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bp_cmdline_too_long, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bp_initrd_beyond_max, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bp_initrd_above_4g, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_initrd_place, setup,
						teardown),
		cmocka_unit_test(test_initrd_place_big_ram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
