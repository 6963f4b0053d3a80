/*
 * libFuzzer target for the ELF loader (src/boot/elf_load.c): ELF64 x86-64
 * (a vmlinux, the kit's guests) and ELF32 i386 (Multiboot kernels), every
 * header field (class, byte order, version, type, machine, phentsize,
 * phnum, phoff) and program header (offset, filesz, memsz, paddr: past the
 * end of the file, overlapping, huge, wrapping at 2^64 or at 4 GiB for
 * ELF32) and an entry point anywhere. The input is the prefix of
 * loader_input.h (only the RAM size is used) and the ELF file.
 *
 * The loader's three entry points must agree with each other and with the
 * boot plan's placement check:
 *   elf_parse (no callback), elf_plan (what petrel uses: linux_boot.c and
 *   multiboot.c) give the same result and the same elf_info;
 *   each planned segment points into the file and lies in [load_lo, load_hi);
 *   elf_load into real RAM (sizes up to 64 MiB) fails with the header
 *   error, or with the same -ENOSPC/-EFAULT as boot_plan_check, and
 *   succeeds whenever the plan is accepted (it also succeeds for
 *   overlapping segments, which only the plan refuses: -EADDRINUSE);
 *   an accepted plan written into a second RAM holds, over every segment,
 *   the same bytes as elf_load wrote.
 *
 * Seeds (tests/fuzz/mkseeds_loaders.py): kit guests (ELF64, and the ELF32
 * Multiboot one) stripped of symbols, and hand-made variants: segments
 * overlapping, beyond RAM, across the PCI hole, a wrapping one.
 */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loader_input.h"
#include "petrel/boot_plan.h"
#include "petrel/elf_load.h"
#include "petrel/memory.h"

static struct guest_mem rams[2][7]; /* elf_load, boot_plan_write */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loader_quiet_init(argc, argv);
	return 0;
}

static const struct guest_mem *ram(unsigned which, unsigned idx)
{
	if (!rams[which][idx].ram_size)
		CHECK(guest_mem_init(&rams[which][idx], loader_mem_sizes[idx]) == 0);
	return &rams[which][idx];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_info parsed, planned, loaded;
	const char *why = NULL;
	struct loader_input in;
	struct boot_plan p;
	unsigned idx;
	int r_parse, r_plan, r_load, chk;

	if (!loader_input_parse(data, size, &in))
		return 0;
	idx = data[0] % 16;
	r_parse = elf_parse(in.img, in.img_len, &parsed, NULL, NULL, &why);
	CHECK(r_parse == 0 || (r_parse < 0 && why));
	CHECK(r_parse < 0 || elf_probe(in.img, in.img_len));

	CHECK(boot_plan_init(&p, in.mem_size) == 0);
	r_plan = elf_plan(&p, in.img, in.img_len, "the kernel", &planned, &why);
	CHECK(r_plan == r_parse);
	if (r_plan < 0) {
		CHECK(p.nr_segs == 0 || r_plan == -ENOMEM);
		chk = r_plan;
	} else {
		CHECK(!memcmp(&parsed, &planned, sizeof(parsed)));
		CHECK(planned.load_lo < planned.load_hi);
		CHECK(p.nr_segs == planned.nr_segments);
		for (unsigned i = 0; i < p.nr_segs; i++) {
			const struct boot_segment *s = &p.segs[i];

			CHECK(s->gpa >= planned.load_lo);
			CHECK(s->size <= planned.load_hi - s->gpa);
			CHECK(s->data >= in.img && s->len <= in.img_len &&
			      (size_t)(s->data - in.img) <= in.img_len - s->len);
		}
		chk = boot_plan_check(&p, "fuzz");
		CHECK(chk == 0 || chk == -ENOSPC || chk == -EFAULT ||
		      chk == -EADDRINUSE);
	}

	if (idx < 7) {
		const struct guest_mem *m1 = ram(0, idx);

		r_load = elf_load(m1, in.img, in.img_len, &loaded, &why);
		if (r_parse < 0)
			CHECK(r_load == r_parse);
		else if (chk == 0 || chk == -EADDRINUSE)
			CHECK(r_load == 0);
		else
			CHECK(r_load == chk);
		if (r_load == 0)
			CHECK(!memcmp(&loaded, &parsed, sizeof(parsed)));
		if (r_load == 0 && chk == 0) {
			const struct guest_mem *m2 = ram(1, idx);

			CHECK(boot_plan_write(&p, m2) == 0);
			for (unsigned i = 0; i < p.nr_segs; i++) {
				const struct boot_segment *s = &p.segs[i];

				CHECK(!memcmp(gpa_ptr(m1, s->gpa, s->size),
					      gpa_ptr(m2, s->gpa, s->size), s->size));
			}
		}
	}
	boot_plan_free(&p);
	return 0;
}
