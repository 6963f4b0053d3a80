/*
 * ELF loading into guest memory: synthetic ELF64/ELF32 images built here
 * cover every check; the real vmlinux (decompressed from the Debian bzImage,
 * once per run) is loaded and compared byte for byte at p_paddr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "petrel/bzimage.h"
#include "petrel/decompress.h"
#include "petrel/elf_load.h"
#include "petrel/memory.h"
#include "petrel/util.h"

#include "kernel_fixture.h"

struct seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct img {
	uint8_t *p;
	size_t len;
};

#define FILE_LEN 0x4000
#define PHOFF 0x40 /* right after the ELF64 header; ELF32's is smaller */

/* File bytes follow a pattern, so a copy can be checked against it. */
static struct img make_elf(int elf_class, uint16_t machine, const struct seg *s,
			   unsigned n)
{
	struct img im = { calloc(1, FILE_LEN), FILE_LEN };

	assert_non_null(im.p);
	for (size_t i = PHOFF + 56 * 8; i < FILE_LEN; i++)
		im.p[i] = (uint8_t)(i * 13 + 1);
	if (elf_class == ELFCLASS64) {
		Elf64_Ehdr h = { .e_type = ET_EXEC, .e_machine = machine,
				 .e_version = EV_CURRENT, .e_entry = 0x200040,
				 .e_phoff = PHOFF, .e_ehsize = sizeof(h),
				 .e_phentsize = sizeof(Elf64_Phdr),
				 .e_phnum = (uint16_t)n };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS64;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(im.p, &h, sizeof(h));
		for (unsigned i = 0; i < n; i++) {
			Elf64_Phdr ph = { .p_type = s[i].type,
					  .p_offset = s[i].offset,
					  .p_vaddr = 0xffffffff80000000ull + s[i].paddr,
					  .p_paddr = s[i].paddr,
					  .p_filesz = s[i].filesz,
					  .p_memsz = s[i].memsz };
			memcpy(im.p + PHOFF + i * sizeof(ph), &ph, sizeof(ph));
		}
	} else {
		Elf32_Ehdr h = { .e_type = ET_EXEC, .e_machine = machine,
				 .e_version = EV_CURRENT, .e_entry = 0x200040,
				 .e_phoff = PHOFF, .e_ehsize = sizeof(h),
				 .e_phentsize = sizeof(Elf32_Phdr),
				 .e_phnum = (uint16_t)n };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS32;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(im.p, &h, sizeof(h));
		for (unsigned i = 0; i < n; i++) {
			Elf32_Phdr ph = { .p_type = s[i].type,
					  .p_offset = (uint32_t)s[i].offset,
					  .p_vaddr = (uint32_t)s[i].paddr,
					  .p_paddr = (uint32_t)s[i].paddr,
					  .p_filesz = (uint32_t)s[i].filesz,
					  .p_memsz = (uint32_t)s[i].memsz };
			memcpy(im.p + PHOFF + i * sizeof(ph), &ph, sizeof(ph));
		}
	}
	return im;
}

/* Two loadable segments (one with .bss), a note, an empty PT_LOAD. */
static const struct seg good[] = {
	{ PT_LOAD, 0x1000, 0x200000, 0x1000, 0x1000 },
	{ PT_NOTE, 0x2000, 0, 0x100, 0x100 },
	{ PT_LOAD, 0x2000, 0x300000, 0x800, 0x3000 },
	{ PT_LOAD, 0x3000, 0x100000, 0, 0 },
};

static void check_segment_loaded(const struct guest_mem *m, const struct img *im,
				 const struct seg *s)
{
	const uint8_t *g = gpa_ptr(m, s->paddr, s->memsz);

	assert_non_null(g);
	assert_memory_equal(g, im->p + s->offset, s->filesz);
	for (uint64_t i = s->filesz; i < s->memsz; i++)
		assert_int_equal(g[i], 0);
}

static void load_good(int elf_class, uint16_t machine)
{
	struct img im = make_elf(elf_class, machine, good, ARRAY_SIZE(good));
	struct guest_mem m;
	struct elf_info info;
	const char *why = "unset";

	assert_true(elf_probe(im.p, im.len));
	assert_int_equal(guest_mem_init(&m, 4 * MiB), 0);
	/* stale bytes where .bss goes, and just past it */
	memset(gpa_ptr(&m, 0x300000, 0x4000), 0xcc, 0x4000);
	assert_int_equal(elf_load(&m, im.p, im.len, &info, &why), 0);
	assert_null(why);
	assert_int_equal(info.elf_class, elf_class);
	assert_int_equal(info.machine, machine);
	assert_int_equal(info.entry, 0x200040);
	assert_int_equal(info.load_lo, 0x200000);
	assert_int_equal(info.load_hi, 0x303000);
	assert_int_equal(info.nr_segments, 2);
	check_segment_loaded(&m, &im, &good[0]);
	check_segment_loaded(&m, &im, &good[2]);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x303000, 1), 0xcc);
	/* the PT_NOTE and the empty PT_LOAD wrote nothing */
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x100000, 1), 0);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0, 1), 0);
	guest_mem_destroy(&m);
	free(im.p);
}

static void test_load_elf64(void **state)
{
	(void)state;
	load_good(ELFCLASS64, EM_X86_64);
}

static void test_load_elf32(void **state)
{
	(void)state;
	load_good(ELFCLASS32, EM_386);
}

static int try_load(const struct img *im, uint64_t ram, const char **why)
{
	struct guest_mem m;
	struct elf_info info;
	int ret;

	assert_int_equal(guest_mem_init(&m, ram), 0);
	*why = NULL;
	ret = elf_load(&m, im->p, im->len, &info, why);
	if (ret < 0) {
		assert_non_null(*why);
		/* nothing was written: validation comes before any copy */
		assert_int_equal(guest_mem_resident(&m), 0);
		assert_int_equal(info.nr_segments, 0);
	}
	guest_mem_destroy(&m);
	return ret;
}

static void test_bad_ehdr(void **state)
{
	struct img im = make_elf(ELFCLASS64, EM_X86_64, good, ARRAY_SIZE(good));
	struct img short_im = { im.p, 63 };
	const char *why;
	(void)state;

	/* wrong class/machine pairs and byte orders */
	struct img x = make_elf(ELFCLASS64, EM_386, good, 1);
	assert_false(elf_probe(x.p, x.len));
	assert_int_equal(try_load(&x, MiB * 4, &why), -ENOEXEC);
	assert_string_equal(why, "ELF: 64-bit but not x86-64");
	free(x.p);
	x = make_elf(ELFCLASS32, EM_X86_64, good, 1);
	assert_false(elf_probe(x.p, x.len));
	assert_int_equal(try_load(&x, MiB * 4, &why), -ENOEXEC);
	assert_string_equal(why, "ELF: 32-bit but not i386");
	free(x.p);

	assert_false(elf_probe(short_im.p, short_im.len));
	assert_int_equal(try_load(&short_im, MiB * 4, &why), -ENOEXEC);
	assert_string_equal(why, "ELF: file too short for its header");
	short_im.len = 3;
	assert_int_equal(try_load(&short_im, MiB * 4, &why), -ENOEXEC);
	assert_string_equal(why, "not an ELF file");

	static const struct {
		size_t off;
		uint8_t val;
		const char *why;
	} bytes[] = {
		{ 0, 0x7e, "not an ELF file" },
		{ EI_CLASS, 3, "ELF: unknown class" },
		{ EI_DATA, ELFDATA2MSB, "ELF: not little-endian" },
		{ EI_VERSION, 0, "ELF: unknown version" },
		{ offsetof(Elf64_Ehdr, e_type), ET_DYN,
		  "ELF: not an executable (ET_EXEC)" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bytes); i++) {
		uint8_t old = im.p[bytes[i].off];
		im.p[bytes[i].off] = bytes[i].val;
		/* the probe looks at the identification only */
		if (bytes[i].off != offsetof(Elf64_Ehdr, e_type))
			assert_false(elf_probe(im.p, im.len));
		assert_int_equal(try_load(&im, MiB * 4, &why), -ENOEXEC);
		assert_string_equal(why, bytes[i].why);
		im.p[bytes[i].off] = old;
	}

	Elf64_Ehdr h;
	memcpy(&h, im.p, sizeof(h));
	static const struct {
		uint64_t phoff;
		uint16_t phnum, phentsize;
		int err;
	} ph[] = {
		{ PHOFF, 0, sizeof(Elf64_Phdr), -ENOEXEC },
		{ PHOFF, PN_XNUM, sizeof(Elf64_Phdr), -EINVAL },
		{ PHOFF, 4, sizeof(Elf32_Phdr), -EINVAL },
		{ FILE_LEN, 1, sizeof(Elf64_Phdr), -EINVAL },
		{ FILE_LEN - 55, 1, sizeof(Elf64_Phdr), -EINVAL },
		{ FILE_LEN - 56, 1, sizeof(Elf64_Phdr), -ENOEXEC }, /* no PT_LOAD */
		{ UINT64_MAX - 10, 1, sizeof(Elf64_Phdr), -EINVAL },
		{ PHOFF, 0xfffe, sizeof(Elf64_Phdr), -EINVAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ph); i++) {
		Elf64_Ehdr e = h;
		e.e_phoff = ph[i].phoff;
		e.e_phnum = ph[i].phnum;
		e.e_phentsize = ph[i].phentsize;
		memcpy(im.p, &e, sizeof(e));
		assert_int_equal(try_load(&im, MiB * 4, &why), ph[i].err);
	}
	memcpy(im.p, &h, sizeof(h));
	assert_int_equal(try_load(&im, MiB * 4, &why), 0);
	assert_int_equal(elf_load(NULL, NULL, 0, &(struct elf_info){ 0 }, NULL),
			 -ENOEXEC);
	assert_false(elf_probe(NULL, 100));
	free(im.p);
}

/* One bad segment after a good one: an exact error, nothing written. */
static int load_bad_segment(int elf_class, uint16_t machine, struct seg bad,
			    uint64_t ram, const char **why)
{
	const struct seg s[] = { good[0], bad };
	struct img im = make_elf(elf_class, machine, s, 2);
	int ret = try_load(&im, ram, why);

	free(im.p);
	return ret;
}

static void test_bad_segments(void **state)
{
	const char *why;
	(void)state;

	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, 0x300000, 0x200, 0x100 },
					  4 * MiB, &why), -EINVAL);
	assert_string_equal(why, "ELF: PT_LOAD with p_filesz > p_memsz");
	/* file range: past the end, at the end, and wrapping around */
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, FILE_LEN - 0x100, 0x300000, 0x101, 0x200 },
					  4 * MiB, &why), -EINVAL);
	assert_string_equal(why, "ELF: PT_LOAD runs past end of file");
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, FILE_LEN + 1, 0x300000, 0, 0x200 },
					  4 * MiB, &why), -EINVAL);
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, UINT64_MAX - 1, 0x300000, 0x10, 0x10 },
					  4 * MiB, &why), -EINVAL);
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, FILE_LEN - 0x100, 0x300000, 0x100, 0x200 },
					  4 * MiB, &why), 0);
	/* guest-physical range: overflow, beyond RAM, in the PCI hole */
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, UINT64_MAX - 0xf, 0x10, 0x100 },
					  4 * MiB, &why), -EINVAL);
	assert_string_equal(why, "ELF: PT_LOAD address range overflows");
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, 4 * MiB - 0x100, 0x10, 0x101 },
					  4 * MiB, &why), -ENOSPC);
	assert_string_equal(why, "ELF: PT_LOAD beyond the end of guest RAM");
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, 4 * MiB - 0x100, 0x10, 0x100 },
					  4 * MiB, &why), 0);
	/* RAM of 3 GiB + 1 MiB: the last MiB is moved above 4 GiB */
	const uint64_t ram = 3 * GiB + MiB;
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, MEM_32BIT_HOLE_START, 0x10, 0x10 },
					  ram, &why), -EFAULT);
	assert_string_equal(why, "ELF: PT_LOAD not in guest RAM (a hole)");
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, MEM_32BIT_HOLE_START - 0x10, 0x10, 0x20 },
					  ram, &why), -EFAULT);
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, MEM_32BIT_HOLE_END, 0x10, MiB },
					  ram, &why), 0);
	assert_int_equal(load_bad_segment(ELFCLASS64, EM_X86_64,
					  (struct seg){ PT_LOAD, 0x1000, MEM_32BIT_HOLE_END, 0x10, MiB + 1 },
					  ram, &why), -ENOSPC);
	/* a 32-bit kernel's segment cannot end above 4 GiB */
	assert_int_equal(load_bad_segment(ELFCLASS32, EM_386,
					  (struct seg){ PT_LOAD, 0x1000, 0xfffff000, 0x10, 0x2000 },
					  4 * MiB, &why), -EINVAL);
	assert_string_equal(why, "ELF: 32-bit PT_LOAD crosses 4 GiB");

	/* only non-loadable segments */
	const struct seg notes[] = { { PT_NOTE, 0x1000, 0, 0x10, 0x10 },
				     { PT_LOAD, 0x1000, 0x1000, 0, 0 } };
	struct img im = make_elf(ELFCLASS64, EM_X86_64, notes, 2);
	assert_int_equal(try_load(&im, 4 * MiB, &why), -ENOEXEC);
	assert_string_equal(why, "ELF: no loadable segments");
	free(im.p);
}

/* ---- the real kernel: vmlinux decompressed from the bzImage ---- */

struct vmlinux {
	uint8_t *elf;
	size_t len;
};

static int load_vmlinux(void **state)
{
	struct vmlinux *v = calloc(1, sizeof(*v));
	struct bzimage bz;
	size_t len;
	uint8_t *img;

	if (!v)
		return -1;
	*state = v;
	img = read_kernel(&len);
	if (!img)
		return 0;
	if (bzimage_parse(img, len, &bz, NULL) == 0 && bz.payload &&
	    decompress(bz.payload, bz.payload_len, DECOMPRESS_MAX_OUT, &v->elf,
		       &v->len, NULL) < 0)
		v->elf = NULL;
	free(img);
	return 0;
}

static int free_vmlinux(void **state)
{
	struct vmlinux *v = *state;

	free(v->elf);
	free(v);
	return 0;
}

static struct vmlinux *need_vmlinux(void **state)
{
	struct vmlinux *v = *state;

	if (!v || !v->elf) {
		print_message("kernel not found (set PETREL_TEST_KERNEL or run "
			      "tools/fetch-kernel.sh): skipped\n");
		skip();
	}
	return v;
}

static void test_real_vmlinux(void **state)
{
	struct vmlinux *v = need_vmlinux(state);
	struct guest_mem m;
	struct elf_info info;
	const char *why = NULL;
	Elf64_Ehdr eh;
	uint64_t hi = 0;

	assert_true(elf_probe(v->elf, v->len));
	assert_int_equal(guest_mem_init(&m, 256 * MiB), 0);
	assert_int_equal(elf_load(&m, v->elf, v->len, &info, &why), 0);
	assert_null(why);
	assert_int_equal(info.elf_class, ELFCLASS64);
	assert_int_equal(info.machine, EM_X86_64);
	assert_int_equal(info.entry, 0x1000000);
	assert_int_equal(info.load_lo, 0x1000000);
	print_message("vmlinux: %u segments, %#" PRIx64 "..%#" PRIx64 "\n",
		      info.nr_segments, info.load_lo, info.load_hi);

	memcpy(&eh, v->elf, sizeof(eh));
	unsigned loads = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, v->elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		loads++;
		/* physical, not the 0xffffffff8... virtual address */
		assert_true(ph.p_paddr < 256 * MiB);
		const uint8_t *g = gpa_ptr(&m, ph.p_paddr, ph.p_memsz);
		assert_non_null(g);
		assert_memory_equal(g, v->elf + ph.p_offset, ph.p_filesz);
		for (uint64_t j = ph.p_filesz; j < ph.p_memsz; j++)
			if (g[j])
				fail_msg("non-zero .bss byte at %#" PRIx64,
					 ph.p_paddr + j);
		hi = MAX(hi, ph.p_paddr + ph.p_memsz);
	}
	assert_int_equal(info.nr_segments, loads);
	assert_int_equal(info.load_hi, hi);
	/* the startup_64 entry lies in what was loaded */
	assert_true(info.entry >= info.load_lo && info.entry < info.load_hi);
	guest_mem_destroy(&m);

	/* the kernel is linked at 16 MiB: 16 MiB of RAM cannot hold it */
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(elf_load(&m, v->elf, v->len, &info, &why), -ENOSPC);
	guest_mem_destroy(&m);
}

/* What a prefix of a valid vmlinux must give: derived from its headers. */
static int expect_prefix(const struct vmlinux *v, size_t len)
{
	Elf64_Ehdr eh;

	if (len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, v->elf, sizeof(eh));
	if (eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr) > len)
		return -EINVAL;
	for (unsigned j = 0; j < eh.e_phnum; j++) {
		Elf64_Phdr ph;
		memcpy(&ph, v->elf + eh.e_phoff + j * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > len)
			return -EINVAL;
	}
	return 0;
}

static void test_real_vmlinux_truncated(void **state)
{
	struct vmlinux *v = need_vmlinux(state);
	const size_t lens[] = { 0, 4, 63, 64, 100, 0x1000, v->len / 2,
				v->len - 1, v->len };
	struct guest_mem m;

	assert_int_equal(expect_prefix(v, 100), -EINVAL);
	assert_int_equal(expect_prefix(v, v->len / 2), -EINVAL);
	assert_int_equal(guest_mem_init(&m, 256 * MiB), 0);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		struct elf_info info;
		const char *why = NULL;
		uint8_t *copy = malloc(lens[i] ? lens[i] : 1);

		memcpy(copy, v->elf, lens[i]);
		assert_int_equal(elf_load(&m, copy, lens[i], &info, &why),
				 expect_prefix(v, lens[i]));
		free(copy);
	}
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_elf64),
		cmocka_unit_test(test_load_elf32),
		cmocka_unit_test(test_bad_ehdr),
		cmocka_unit_test(test_bad_segments),
		cmocka_unit_test(test_real_vmlinux),
		cmocka_unit_test(test_real_vmlinux_truncated),
	};

	return cmocka_run_group_tests(tests, load_vmlinux, free_vmlinux);
}
