/*
 * libFuzzer target for the Multiboot v1 loader (src/boot/multiboot.c) as
 * `petrel run -k` reaches it: the steps of boot_plan_build (in memory,
 * loader_plan.h) on the input's image as --kernel, the machine chosen by
 * the prefix (loader_input.h). It covers the header search in the first
 * 8 KiB (magic, checksum, flags petrel must refuse), the a.out kludge's address fields (header_addr,
 * load_addr, load_end_addr, bss_end_addr, entry_addr against the file and
 * each other), the ELF32 path through elf_plan, the entry point check,
 * the initrd as module 0 above the kernel, the command line and the
 * information structure with its memory map; an image without a header
 * falls through to the Linux path, as it would in petrel.
 *
 * A plan that is accepted is checked again (every segment in RAM, none
 * overlapping), and for a Multiboot kernel: the 32-bit entry with EAX =
 * 0x2BADB002 and EBX = the information structure, the entry inside the
 * span the kernel loads (above 1 MiB), mem_upper and the module entry matching the plan's
 * initrd segment, the memory map inside its area. For RAM up to 64 MiB the
 * plan is also written into real memory.
 *
 * Seeds (tests/fuzz/mkseeds_loaders.py): the kit's Multiboot guest
 * (tests/guest/test_multiboot.c, stripped) with and without a module, and
 * a.out-kludge images made from it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loader_plan.h"
#include "petrel/boot_plan.h"
#include "petrel/layout.h"
#include "petrel/memory.h"
#include "petrel/multiboot.h"

static struct guest_mem rams[7]; /* loader_mem_sizes[0..6]: up to 64 MiB */
static char cmdline[LOADER_CMDLINE_MAX + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loader_quiet_init(argc, argv);
	return 0;
}

static uint32_t info32(const struct boot_segment *s, gpa_t gpa)
{
	CHECK(gpa >= s->gpa && gpa + 4 <= s->gpa + s->len);
	return le32_get(s->data + (gpa - s->gpa));
}

static void check_multiboot(const struct boot_plan *p, bool module)
{
	const struct boot_segment *info, *mod;
	uint64_t lo = UINT64_MAX, hi = 0;

	CHECK(p->entry.mode == BOOT_ENTRY_MULTIBOOT32);
	CHECK(p->entry.eax == MULTIBOOT_BOOTLOADER_MAGIC);
	CHECK(p->entry.ebx == MULTIBOOT_INFO_ADDR);
	CHECK(p->entry.rip <= 0xffffffffULL);
	/*
	 * The entry lies in the span the kernel loads, which is what the
	 * loader checks: an ELF's gap between two segments counts (zeroed
	 * RAM there is the guest's own problem, not petrel's).
	 */
	for (unsigned i = 0; i < p->nr_segs; i++) {
		const struct boot_segment *s = &p->segs[i];

		if (strcmp(s->name, "the kernel"))
			continue;
		lo = MIN(lo, s->gpa);
		hi = MAX(hi, s->gpa + s->size);
	}
	CHECK(lo >= HIGH_MEMORY_START && p->entry.rip >= lo && p->entry.rip < hi);
	info = boot_plan_find(p, "the Multiboot information");
	CHECK(info && info->gpa == MULTIBOOT_INFO_ADDR);
	CHECK(info32(info, MULTIBOOT_INFO_ADDR + 8) ==
	      (p->mem.regions[0].size - HIGH_MEMORY_START) / 1024);
	/* mmap_length, mmap_addr: inside the area kept for the map */
	CHECK(info32(info, MULTIBOOT_INFO_ADDR + 48) == MULTIBOOT_MMAP_ADDR);
	CHECK(MULTIBOOT_MMAP_ADDR + info32(info, MULTIBOOT_INFO_ADDR + 44) <=
	      MULTIBOOT_MODS_ADDR);
	mod = boot_plan_find(p, "the initrd");
	CHECK(!mod == !module);
	CHECK(!!(info32(info, MULTIBOOT_INFO_ADDR) & (1u << 3)) == module);
	if (mod) {
		CHECK(info32(info, MULTIBOOT_MODS_ADDR) == mod->gpa);
		CHECK(info32(info, MULTIBOOT_MODS_ADDR + 4) == mod->gpa + mod->len);
		CHECK(mod->gpa % 4096 == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loader_input in;
	struct boot_config cfg;
	struct boot_plan p;
	unsigned idx;
	int err;

	if (!loader_input_parse(data, size, &in))
		return 0;
	err = loader_plan_input(&p, &cfg, &in, cmdline, data[5] % 8);
	CHECK(err <= 0 && err > -4096);
	if (err == 0) {
		CHECK(boot_plan_check(&p, cfg.kernel) == 0);
		if (p.kind == BOOT_MULTIBOOT)
			check_multiboot(&p, in.initrd);
		idx = data[0] % 16;
		if (idx < 7) {
			if (!rams[idx].ram_size)
				CHECK(guest_mem_init(&rams[idx], loader_mem_sizes[idx]) == 0);
			CHECK(boot_plan_write(&p, &rams[idx]) == 0);
		}
	}
	boot_plan_free(&p);
	return 0;
}
