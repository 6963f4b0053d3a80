/*
 * libFuzzer target for the Linux boot path as `petrel run -k` takes it:
 * the steps of boot_plan_build (src/boot/boot_plan_build.c; in memory, see
 * loader_plan.h) on the input's image as --kernel, with the RAM size,
 * initrd, command line, vCPU count, --no-acpi and --guest-decompress the
 * input's prefix chooses (loader_input.h). That is the bzImage parser (bzimage.c: boot flag,
 * HdrS, version, header length, setup_sects, syssize, payload offsets,
 * kernel_alignment), the host decompression of the payload and the
 * vmlinux ELF inside it, or the in-guest decompressor's reservation
 * (linux_boot.c), the initrd's and command line's placement, boot_params
 * from the image's setup header (bootparams.c), the firmware tables, page
 * tables and the final check of the plan (boot_plan.c); a Multiboot or
 * ELF vmlinux image takes its own path from the same entry point. No KVM:
 * the plan is built over a RAM layout, and for RAM sizes up to 64 MiB also
 * written into real (host) memory, as vm.c does.
 *
 * Whatever the image, the build returns 0 or -errno, and a plan it accepts
 * keeps its contract: every segment in RAM, none overlapping (checked
 * again), a boot_params segment and an entry point for a Linux kernel,
 * boot_params pointing at the plan's command line and initrd with an e820
 * map whose RAM is RAM, and it can be written once.
 *
 * Seeds (tests/fuzz/mkseeds_loaders.py): the setup code of the cached
 * Debian bzImage (.cache/vmlinuz) with its payload swapped for a small
 * vmlinux compressed by each tool, for the host and the in-guest paths;
 * an ELF vmlinux; a truncated header.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loader_plan.h"
#include "petrel/boot_plan.h"
#include "petrel/bootparams.h"
#include "petrel/layout.h"
#include "petrel/memory.h"

static struct guest_mem rams[7]; /* loader_mem_sizes[0..6]: up to 64 MiB */
static char cmdline[LOADER_CMDLINE_MAX + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loader_quiet_init(argc, argv);
	return 0;
}

static const struct guest_mem *ram_for(unsigned idx)
{
	if (idx >= 7)
		return NULL;
	if (!rams[idx].ram_size)
		CHECK(guest_mem_init(&rams[idx], loader_mem_sizes[idx]) == 0);
	return &rams[idx];
}

/* What the kernel reads first: its command line, initrd and memory map. */
static void check_boot_params(const struct boot_params *bp,
			      const struct boot_plan *p)
{
	const struct boot_segment *initrd = boot_plan_find(p, "the initrd");
	uint64_t prev_end = 0;

	CHECK(bp->hdr.cmd_line_ptr == BOOT_CMDLINE_ADDR);
	if (initrd) {
		CHECK((bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32) ==
		      initrd->gpa);
		CHECK((bp->hdr.ramdisk_size | (uint64_t)bp->ext_ramdisk_size << 32) ==
		      initrd->len);
	}
	CHECK(bp->e820_entries > 0 && bp->e820_entries <= E820_MAX_ENTRIES_ZEROPAGE);
	for (unsigned i = 0; i < bp->e820_entries; i++) {
		const struct boot_e820_entry *e = &bp->e820_table[i];

		CHECK(e->size && e->addr >= prev_end);
		CHECK(e->type != 1 || gpa_in_ram(&p->mem, e->addr, e->size));
		prev_end = e->addr + e->size;
	}
}

static void check_plan(struct boot_plan *p, const char *kernel, unsigned mem_idx)
{
	const struct guest_mem *m;

	CHECK(boot_plan_check(p, kernel) == 0);
	CHECK(p->kind != BOOT_NONE);
	if (p->kind != BOOT_MULTIBOOT) {
		const struct boot_segment *bp = boot_plan_find(p, "boot_params");

		CHECK(bp && bp->len == bp->size);
		CHECK(p->entry.mode == BOOT_ENTRY_LINUX64);
		CHECK(p->entry.rsi == bp->gpa);
		CHECK(boot_plan_find(p, "the command line"));
		check_boot_params((const struct boot_params *)bp->data, p);
	}
	for (unsigned i = 0; i < p->nr_segs; i++)
		CHECK(p->segs[i].size && p->segs[i].len <= p->segs[i].size);
	if ((m = ram_for(mem_idx))) {
		CHECK(boot_plan_write(p, m) == 0);
		CHECK(boot_plan_write(p, m) == -EALREADY);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loader_input in;
	struct boot_config cfg;
	struct boot_plan p;
	int err;

	if (!loader_input_parse(data, size, &in))
		return 0;
	err = loader_plan_input(&p, &cfg, &in, cmdline, data[5] % 8);
	CHECK(err <= 0 && err > -4096);
	if (err == 0)
		check_plan(&p, cfg.kernel, data[0] % 16);
	boot_plan_free(&p);
	return 0;
}
