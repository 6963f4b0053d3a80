#include <errno.h>
#include <string.h>

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
static int load_aout(const struct guest_mem *m, const uint8_t *img, size_t len,
		     const struct multiboot_header_info *h, uint64_t *lo,
		     uint64_t *hi, const char **why)
{
	uint64_t file_start, copy_len, load_end, bss_end;
	uint8_t *dst;

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
	copy_len = load_end - h->load_addr;
	dst = gpa_ptr(m, h->load_addr, bss_end - h->load_addr);
	if (!dst) {
		*why = "Multiboot kernel does not fit in guest RAM";
		return -ENOSPC;
	}
	memcpy(dst, img + file_start, copy_len);
	memset(dst + copy_len, 0, bss_end - load_end);
	*lo = h->load_addr;
	*hi = bss_end;
	return 0;
}

static int write_info(const struct guest_mem *m, struct multiboot_load *ml,
		      uint64_t kernel_end, const char **why)
{
	struct boot_e820_entry e820[MB_MAX_MMAP];
	uint8_t info[88] = { 0 };
	uint32_t flags = MBI_MEMORY | MBI_MMAP | MBI_LOADER_NAME;
	unsigned n;
	uint64_t upper_end = m->regions[0].size;
	uint8_t *mmap = gpa_ptr(m, MULTIBOOT_MMAP_ADDR, MB_MAX_MMAP * 24);
	static const char name[] = "petrel";
	int err;

	if ((err = e820_build(m, e820, MB_MAX_MMAP, &n)) < 0 || !mmap) {
		*why = "cannot build the memory map";
		return err < 0 ? err : -EFAULT;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = mmap + 24 * i;
		uint32_t size = 20, type = e820[i].type;
		memcpy(e, &size, 4); /* "size" counts the bytes after itself */
		memcpy(e + 4, &e820[i].addr, 8);
		memcpy(e + 12, &e820[i].size, 8);
		memcpy(e + 20, &type, 4);
	}
	/* mem_lower: KiB below 640K; mem_upper: KiB from 1 MiB to the first hole */
	uint32_t mem_lower = (uint32_t)(EBDA_START / 1024);
	uint32_t mem_upper = (uint32_t)((upper_end - HIGH_MEMORY_START) / 1024);
	memcpy(info + 4, &mem_lower, 4);
	memcpy(info + 8, &mem_upper, 4);
	if (ml->cmdline) {
		size_t l = strlen(ml->cmdline);
		if (l >= BOOT_CMDLINE_MAX) {
			*why = "command line too long";
			return -E2BIG;
		}
		if ((err = gpa_write(m, BOOT_CMDLINE_ADDR, ml->cmdline, l + 1)) < 0)
			return err;
		uint32_t a = BOOT_CMDLINE_ADDR;
		memcpy(info + 16, &a, 4);
		flags |= MBI_CMDLINE;
	}
	if (ml->module) {
		gpa_t at;
		uint32_t mod[4];
		if (initrd_place(m, ml->module_len, 0xffffffffULL, kernel_end, &at) < 0) {
			*why = "the initrd (module 0) does not fit in low guest memory";
			return -ENOSPC;
		}
		if ((err = gpa_write(m, at, ml->module, ml->module_len)) < 0)
			return err;
		mod[0] = (uint32_t)at;
		mod[1] = (uint32_t)(at + ml->module_len);
		mod[2] = MULTIBOOT_NAME_ADDR; /* the module's string: "petrel" */
		mod[3] = 0;
		if ((err = gpa_write(m, MULTIBOOT_MODS_ADDR, mod, sizeof(mod))) < 0)
			return err;
		uint32_t count = 1, addr = MULTIBOOT_MODS_ADDR;
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
	if ((err = gpa_write(m, MULTIBOOT_NAME_ADDR, name, sizeof(name))) < 0)
		return err;
	ml->info_addr = MULTIBOOT_INFO_ADDR;
	return gpa_write(m, MULTIBOOT_INFO_ADDR, info, sizeof(info));
}

int multiboot_load(const struct guest_mem *m, const uint8_t *img, size_t len,
		   struct multiboot_load *ml, const char **why)
{
	struct multiboot_header_info h;
	uint64_t lo, hi;
	int err;

	if ((err = multiboot_find(img, len, &h, why)) < 0)
		return err;
	if (h.aout_kludge) {
		if ((err = load_aout(m, img, len, &h, &lo, &hi, why)) < 0)
			return err;
		ml->entry = h.entry_addr;
	} else {
		struct elf_info ei;
		if ((err = elf_load(m, img, len, &ei, why)) < 0)
			return err;
		if (ei.entry > 0xffffffffULL) {
			*why = "Multiboot ELF entry point is above 4 GiB";
			return -ENOEXEC;
		}
		lo = ei.load_lo;
		hi = ei.load_hi;
		ml->entry = (uint32_t)ei.entry;
	}
	if (lo < HIGH_MEMORY_START) {
		*why = "Multiboot kernel loads below 1 MiB, where petrel keeps the "
		       "Multiboot information";
		return -ENOEXEC;
	}
	if (ml->entry < lo || ml->entry >= hi) {
		*why = "Multiboot entry point is outside the loaded image";
		return -ENOEXEC;
	}
	return write_info(m, ml, hi, why);
}
