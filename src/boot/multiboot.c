#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/boot_plan.h"
#include "petrel/bootparams.h"
#include "petrel/elf_load.h"
#include "petrel/layout.h"
#include "petrel/multiboot.h"
#include "petrel/util.h"

/* Header flags (Multiboot 0.6.96, section 3.1.2). */
#define MB_PAGE_ALIGN (1u << 0) /* modules page-aligned: ours always are */
#define MB_MEMORY_INFO (1u << 1)
#define MB_VIDEO_MODE (1u << 2)  /* a wish, not a must: petrel has no video */
#define MB_AOUT_KLUDGE (1u << 16)
#define MB_KNOWN_REQUIRED (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE)

/* Information flags (section 3.3). */
#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

#define MB_MAX_MMAP 16

int multiboot_find(const uint8_t *img, size_t len,
		   struct multiboot_header_info *out, const char **why)
{
	size_t end = MIN(len, (size_t)MULTIBOOT_SEARCH);

	memset(out, 0, sizeof(*out));
	for (size_t off = 0; off + 12 <= end; off += 4) {
		const uint8_t *h = img + off;
		uint32_t flags;

		if (le32_get(h) != MULTIBOOT_HEADER_MAGIC)
			continue;
		flags = le32_get(h + 4);
		if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + le32_get(h + 8)) != 0)
			continue; /* a stray magic number, not a header */
		out->offset = off;
		out->flags = flags;
		if (flags & 0xffff & ~MB_KNOWN_REQUIRED) {
			*why = "Multiboot header asks for features petrel does not know "
			       "(flags bits 3-15)";
			return -ENOTSUP;
		}
		if (flags & MB_AOUT_KLUDGE) {
			if (off + 32 > len) {
				*why = "Multiboot header is cut off before its address fields";
				return -ENOEXEC;
			}
			out->aout_kludge = true;
			out->header_addr = le32_get(h + 12);
			out->load_addr = le32_get(h + 16);
			out->load_end_addr = le32_get(h + 20);
			out->bss_end_addr = le32_get(h + 24);
			out->entry_addr = le32_get(h + 28);
		}
		return 0;
	}
	*why = "no Multiboot header";
	return -ENOENT;
}

/* flag 16: the file is copied from header_addr - offset, to load_addr. */
static int plan_aout(struct boot_plan *p, const uint8_t *img, size_t len,
		     const struct multiboot_header_info *h, uint64_t *lo,
		     uint64_t *hi, const char **why)
{
	uint64_t file_start, load_end, bss_end;

	if (h->header_addr < h->load_addr ||
	    h->header_addr - h->load_addr > h->offset) {
		*why = "Multiboot header_addr/load_addr do not match the file";
		return -ENOEXEC;
	}
	file_start = h->offset - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr
				    : h->load_addr + (len - file_start);
	bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
	if (load_end < h->load_addr || bss_end < load_end ||
	    load_end - h->load_addr > len - file_start) {
		*why = "Multiboot load_end_addr/bss_end_addr are inconsistent";
		return -ENOEXEC;
	}
	if (bss_end == h->load_addr) {
		*why = "Multiboot kernel loads nothing (load_end_addr = load_addr)";
		return -ENOEXEC;
	}
	*lo = h->load_addr;
	*hi = bss_end;
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the kernel", .gpa = h->load_addr,
		.size = bss_end - h->load_addr, .data = img + file_start,
		.len = load_end - h->load_addr, .zero_rest = true });
}

char *multiboot_cmdline(const char *kernel_path, const char *cmdline)
{
	size_t plen = strlen(kernel_path);
	size_t clen = cmdline ? strlen(cmdline) : 0;
	char *s = malloc(plen + 1 + clen + 1);

	if (!s)
		return NULL;
	memcpy(s, kernel_path, plen);
	s[plen] = '\0';
	/* GRUB's way for an empty line: QEMU would leave "path " */
	if (clen) {
		s[plen] = ' ';
		memcpy(s + plen + 1, cmdline, clen + 1);
	}
	return s;
}

static int plan_cmdline(struct boot_plan *p, const struct multiboot_load *ml,
			const char **why)
{
	char *line = multiboot_cmdline(ml->kernel_path, ml->cmdline);
	size_t l;
	int err;

	if (!line || boot_plan_own(p, line) < 0) {
		*why = "out of memory";
		return -ENOMEM;
	}
	l = strlen(line);
	if (l >= BOOT_CMDLINE_MAX) {
		*why = "command line too long";
		return -E2BIG;
	}
	err = boot_plan_add(p, &(struct boot_segment){
		.name = "the command line", .gpa = BOOT_CMDLINE_ADDR,
		.size = l + 1, .data = (const uint8_t *)line, .len = l + 1 });
	if (err < 0)
		*why = "out of memory";
	return err;
}

/* Module 0 (the initrd) above the kernel; its entry goes to mods. */
static int plan_module(struct boot_plan *p, const struct multiboot_load *ml,
		       uint64_t kernel_end, uint32_t mod[4], const char **why)
{
	gpa_t at;

	if (initrd_place(&p->mem, ml->module_len, 0xffffffffULL, kernel_end, &at) < 0) {
		*why = "the initrd (module 0) does not fit in low guest memory";
		return -ENOSPC;
	}
	mod[0] = (uint32_t)at;
	mod[1] = (uint32_t)(at + ml->module_len);
	mod[2] = MULTIBOOT_NAME_ADDR; /* the module's string: "petrel" */
	mod[3] = 0;
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the initrd", .gpa = at, .size = ml->module_len,
		.data = ml->module, .len = ml->module_len });
}

/*
 * The information structure, its memory map, module list and loader name
 * in one buffer, written through a window at their guest addresses.
 */
static int plan_info(struct boot_plan *p, const struct multiboot_load *ml,
		     uint64_t kernel_end, const char **why)
{
	const uint64_t size = MULTIBOOT_INFO_END - MULTIBOOT_INFO_ADDR;
	struct boot_e820_entry e820[MB_MAX_MMAP];
	struct guest_mem win;
	uint8_t info[88] = { 0 };
	uint32_t flags = MBI_MEMORY | MBI_MMAP | MBI_LOADER_NAME;
	uint8_t *buf = boot_plan_alloc(p, size), *mmap;
	static const char name[] = "petrel";
	unsigned n;
	int err;

	_Static_assert(MULTIBOOT_MMAP_ADDR + MB_MAX_MMAP * 24 <= MULTIBOOT_MODS_ADDR &&
			       MULTIBOOT_MODS_ADDR + 16 <= MULTIBOOT_NAME_ADDR &&
			       MULTIBOOT_NAME_ADDR + sizeof(name) <= MULTIBOOT_INFO_END,
		       "Multiboot information layout");
	if (!buf) {
		*why = "out of memory";
		return -ENOMEM;
	}
	guest_mem_window(&win, MULTIBOOT_INFO_ADDR, buf, size);
	if ((err = e820_build(&p->mem, e820, MB_MAX_MMAP, &n)) < 0) {
		*why = "cannot build the memory map";
		return err;
	}
	mmap = gpa_ptr(&win, MULTIBOOT_MMAP_ADDR, MB_MAX_MMAP * 24);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = mmap + 24 * i;
		uint32_t esize = 20, type = e820[i].type;
		memcpy(e, &esize, 4); /* "size" counts the bytes after itself */
		memcpy(e + 4, &e820[i].addr, 8);
		memcpy(e + 12, &e820[i].size, 8);
		memcpy(e + 20, &type, 4);
	}
	/* mem_lower: KiB below 640K; mem_upper: KiB from 1 MiB to the first hole */
	uint32_t mem_lower = (uint32_t)(EBDA_START / 1024);
	uint32_t mem_upper = (uint32_t)((p->mem.regions[0].size - HIGH_MEMORY_START) / 1024);
	memcpy(info + 4, &mem_lower, 4);
	memcpy(info + 8, &mem_upper, 4);
	if ((err = plan_cmdline(p, ml, why)) < 0)
		return err;
	uint32_t cmdline_addr = BOOT_CMDLINE_ADDR;
	memcpy(info + 16, &cmdline_addr, 4);
	flags |= MBI_CMDLINE;
	if (ml->module) {
		uint32_t mod[4], count = 1, addr = MULTIBOOT_MODS_ADDR;
		if ((err = plan_module(p, ml, kernel_end, mod, why)) < 0)
			return err;
		memcpy(gpa_ptr(&win, MULTIBOOT_MODS_ADDR, sizeof(mod)), mod, sizeof(mod));
		memcpy(info + 20, &count, 4);
		memcpy(info + 24, &addr, 4);
		flags |= MBI_MODS;
	}
	uint32_t mmap_len = 24 * n, mmap_addr = MULTIBOOT_MMAP_ADDR;
	uint32_t name_addr = MULTIBOOT_NAME_ADDR;
	memcpy(info + 44, &mmap_len, 4);
	memcpy(info + 48, &mmap_addr, 4);
	memcpy(info + 64, &name_addr, 4);
	memcpy(info, &flags, 4);
	memcpy(gpa_ptr(&win, MULTIBOOT_NAME_ADDR, sizeof(name)), name, sizeof(name));
	memcpy(gpa_ptr(&win, MULTIBOOT_INFO_ADDR, sizeof(info)), info, sizeof(info));
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the Multiboot information", .gpa = MULTIBOOT_INFO_ADDR,
		.size = size, .data = buf, .len = size });
}

int multiboot_plan(struct boot_plan *p, const uint8_t *img, size_t len,
		   const struct multiboot_load *ml, const char **why)
{
	struct multiboot_header_info h;
	uint64_t lo, hi, entry;
	int err;

	if ((err = multiboot_find(img, len, &h, why)) < 0)
		return err;
	if (h.aout_kludge) {
		if ((err = plan_aout(p, img, len, &h, &lo, &hi, why)) < 0)
			return err;
		entry = h.entry_addr;
	} else {
		struct elf_info ei;
		if ((err = elf_plan(p, img, len, "the kernel", &ei, why)) < 0)
			return err;
		if (ei.entry > 0xffffffffULL) {
			*why = "Multiboot ELF entry point is above 4 GiB";
			return -ENOEXEC;
		}
		lo = ei.load_lo;
		hi = ei.load_hi;
		entry = ei.entry;
	}
	if (lo < HIGH_MEMORY_START) {
		*why = "Multiboot kernel loads below 1 MiB, where petrel keeps the "
		       "Multiboot information";
		return -ENOEXEC;
	}
	if (entry < lo || entry >= hi) {
		*why = "Multiboot entry point is outside the loaded image";
		return -ENOEXEC;
	}
	/* before the module is placed above it: say what is really wrong */
	if (!gpa_in_ram(&p->mem, lo, hi - lo)) {
		*why = "Multiboot kernel does not fit in guest RAM; give the VM more --mem";
		return -ENOSPC;
	}
	if ((err = plan_info(p, ml, hi, why)) < 0)
		return err;
	p->kind = BOOT_MULTIBOOT;
	p->entry = (struct boot_entry){
		.mode = BOOT_ENTRY_MULTIBOOT32,
		.rip = entry,
		.eax = MULTIBOOT_BOOTLOADER_MAGIC,
		.ebx = MULTIBOOT_INFO_ADDR,
	};
	return 0;
}
