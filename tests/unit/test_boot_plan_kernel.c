/*
 * Boot plans for Debian's real bzImage (skipped without it): decompressed
 * on the host and the classic in-guest way, with an initrd and 2 vCPUs.
 * The plan is inspected (segments in RAM, none overlapping, the entry
 * state, boot_params pointing at the segments) and then written into a
 * guest_mem, the way vm_create applies it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "petrel/boot_plan.h"
#include "petrel/layout.h"
#include "petrel/util.h"

#include "kernel_fixture.h"
#include "plan_check.h"

#define MEM (512 * MiB)
#define INITRD_LEN (3 * MiB + 123)

struct fixture {
	char kernel[PATH_MAX + 32];
	char initrd[32];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t *data = malloc(INITRD_LEN);
	int fd;

	if (!f || !data)
		return -1;
	*state = f;
	if (!kernel_path(f->kernel, sizeof(f->kernel)))
		f->kernel[0] = 0;
	for (size_t i = 0; i < INITRD_LEN; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	strcpy(f->initrd, "/tmp/petrel-initrd-XXXXXX");
	fd = mkstemp(f->initrd);
	if (fd < 0 || write(fd, data, INITRD_LEN) != (ssize_t)INITRD_LEN)
		return -1;
	close(fd);
	free(data);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->initrd);
	free(f);
	return 0;
}

static struct fixture *need(void **state)
{
	struct fixture *f = *state;

	if (!f->kernel[0]) {
		print_message("kernel not found (set PETREL_TEST_KERNEL or run "
			      "tools/fetch-kernel.sh): skipped\n");
		skip();
	}
	return f;
}

static void build(struct boot_plan *p, const struct fixture *f, bool guest)
{
	const struct boot_config cfg = {
		.kernel = f->kernel, .initrd = f->initrd,
		.cmdline = "console=ttyS0 quiet", .mem_size = MEM, .ncpus = 2,
		.guest_decompress = guest,
	};

	assert_int_equal(boot_plan_build(p, &cfg), 0);
	assert_plan_sane(p);
}

/* What both paths share: boot_params, the command line, the initrd. */
static void check_linux_common(const struct boot_plan *p)
{
	const struct boot_segment *bps = boot_plan_find(p, "boot_params");
	const struct boot_segment *cl = boot_plan_find(p, "the command line");
	const struct boot_segment *rd = boot_plan_find(p, "the initrd");
	const struct boot_params *bp;

	assert_int_equal(p->entry.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(p->entry.rsi, BOOT_PARAMS_ADDR);
	assert_int_equal(p->entry.rsp, BOOT_STACK_TOP);
	assert_non_null(bps);
	assert_non_null(cl);
	assert_non_null(rd);
	assert_non_null(boot_plan_find(p, "the boot GDT"));
	assert_non_null(boot_plan_find(p, "the boot page tables"));
	assert_non_null(boot_plan_find(p, "the MP table"));
	assert_non_null(boot_plan_find(p, "the ACPI tables"));
	assert_int_equal(bps->gpa, BOOT_PARAMS_ADDR);
	assert_int_equal(bps->size, sizeof(*bp));
	bp = (const struct boot_params *)bps->data;
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.cmd_line_ptr, cl->gpa);
	assert_string_equal((const char *)cl->data, "console=ttyS0 quiet");
	assert_int_equal(bp->hdr.ramdisk_image, rd->gpa);
	assert_int_equal(bp->hdr.ramdisk_size, INITRD_LEN);
	assert_int_equal(rd->len, INITRD_LEN);
	assert_int_equal(rd->data[1], (uint8_t)(31 + 7));
	assert_int_equal(rd->gpa % 4096, 0);
	assert_true(rd->gpa + rd->size <= (uint64_t)bp->hdr.initrd_addr_max + 1);
	assert_int_equal(bp->acpi_rsdp_addr, p->acpi_rsdp);
	assert_true(p->acpi_rsdp >= ACPI_TABLES_ADDR);
	assert_true(bp->e820_entries >= 4);
}

/* The entry point is inside a kernel segment with code bytes behind it. */
static const struct boot_segment *entry_segment(const struct boot_plan *p)
{
	for (unsigned i = 0; i < p->nr_segs; i++) {
		const struct boot_segment *s = &p->segs[i];
		if (!strcmp(s->name, "the kernel") && p->entry.rip >= s->gpa &&
		    p->entry.rip - s->gpa < s->len)
			return s;
	}
	fail_msg("entry %#llx is not in the kernel's bytes",
		 (unsigned long long)p->entry.rip);
	return NULL;
}

static void host_decompression(void **state)
{
	struct fixture *f = need(state);
	struct boot_plan p;
	struct guest_mem m;
	const struct boot_segment *k;
	unsigned nkernel = 0;

	build(&p, f, false);
	assert_int_equal(p.kind, BOOT_BZIMAGE_HOST);
	check_linux_common(&p);
	k = entry_segment(&p);
	/* a vmlinux at its physical address (16 MiB for Debian's) */
	for (unsigned i = 0; i < p.nr_segs; i++)
		if (!strcmp(p.segs[i].name, "the kernel")) {
			assert_true(p.segs[i].gpa >= 16 * MiB);
			assert_true(p.segs[i].zero_rest);
			nkernel++;
		}
	assert_true(nkernel >= 2);
	/* the initrd sits above all the kernel claims, init_size included */
	const struct boot_segment *rd = boot_plan_find(&p, "the initrd");
	for (unsigned i = 0; i < p.nr_segs; i++)
		if (!strncmp(p.segs[i].name, "the kernel", 10))
			assert_true(rd->gpa >= p.segs[i].gpa + p.segs[i].size);

	/*
	 * Applied as vm_create does: the bytes land where the plan says. The
	 * kernel's pages move there (decompress_map + mremap): its source is
	 * gone afterwards, so what it held is kept first.
	 */
	uint8_t at_entry[16];
	memcpy(at_entry, k->data + (p.entry.rip - k->gpa), 16);
	const uint8_t *src = k->data;
	assert_int_equal(guest_mem_init(&m, MEM), 0);
	assert_int_equal(boot_plan_write(&p, &m), 0);
	assert_memory_equal(gpa_ptr(&m, p.entry.rip, 16), at_entry, 16);
	/* moved, not copied: the source page is still mapped, but empty */
	unsigned char vec;
	assert_int_equal(mincore((void *)((uintptr_t)src & ~(uintptr_t)4095), 1, &vec), 0);
	assert_int_equal(vec & 1, 0);
	/* and a plan is written once */
	assert_int_equal(boot_plan_write(&p, &m), -EALREADY);
	assert_string_equal((char *)gpa_ptr(&m, BOOT_CMDLINE_ADDR, 20),
			    "console=ttyS0 quiet");
	/* the identity map covers the entry point */
	const uint64_t *pd = gpa_ptr(&m, BOOT_PD_ADDR, 4096);
	assert_int_equal(pd[p.entry.rip >> 21] & ~0xfffULL, p.entry.rip & ~0x1fffffULL);
	guest_mem_destroy(&m);
	boot_plan_free(&p);
}

static void guest_decompression(void **state)
{
	struct fixture *f = need(state);
	struct boot_plan p;
	const struct boot_segment *k;

	build(&p, f, true);
	assert_int_equal(p.kind, BOOT_BZIMAGE_GUEST);
	check_linux_common(&p);
	k = entry_segment(&p);
	assert_int_equal(k->gpa, BZIMAGE_LOAD_ADDR);
	assert_int_equal(p.entry.rip, BZIMAGE_LOAD_ADDR + 0x200);
	/* the decompression buffer is reserved, not zeroed */
	assert_false(k->zero_rest);
	assert_true(k->size > k->len);
	boot_plan_free(&p);
}

static void real_kernel_limits(void **state)
{
	struct fixture *f = need(state);
	struct boot_plan p;
	struct boot_config cfg = { .kernel = f->kernel, .cmdline = "console=ttyS0",
				   .mem_size = 32 * MiB, .ncpus = 1 };

	/* Debian's kernel needs more than 32 MiB from 16 MiB up */
	assert_int_equal(boot_plan_build(&p, &cfg), -ENOSPC);
	boot_plan_free(&p);
	cfg.mem_size = 6 * GiB; /* RAM on both sides of the PCI hole */
	cfg.ncpus = 254;
	cfg.no_acpi = true;
	assert_int_equal(boot_plan_build(&p, &cfg), 0);
	assert_plan_sane(&p);
	assert_int_equal(p.mem.nr_regions, 2);
	assert_int_equal(p.acpi_rsdp, 0);
	assert_null(boot_plan_find(&p, "the ACPI tables"));
	boot_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_decompression),
		cmocka_unit_test(guest_decompression),
		cmocka_unit_test(real_kernel_limits),
	};
	return cmocka_run_group_tests_name("boot_plan_kernel", tests, setup,
					   teardown);
}
