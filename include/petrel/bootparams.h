/*
 * The Linux x86 boot protocol's "zero page" (struct boot_params) and the
 * e820 memory map inside it. Pure functions over a guest_mem: nothing here
 * touches KVM, so every field can be unit tested.
 *
 * References: Documentation/arch/x86/boot.rst and zero-page.rst. The
 * structures come from the kernel's UAPI <asm/bootparam.h>.
 *
 * e820 map petrel reports (the layout.h addresses):
 *   [0, EBDA_START)                      RAM
 *   [EBDA_START, BIOS_AREA_START)        reserved  (EBDA)
 *   [ACPI_TABLES_ADDR, +ACPI_TABLES_SIZE) ACPI     (type 3: the tables)
 *   [end of ACPI tables, 1 MiB)          reserved  ("BIOS" area)
 *   [1 MiB, end of low RAM)              RAM
 *   [4 GiB, 4 GiB + rest)                RAM       (only when RAM > 3 GiB)
 * [BIOS_AREA_START, ACPI_TABLES_ADDR) is left out of the map (a hole): it
 * is the VGA window and option-ROM space on a PC, which Linux reserves on
 * its own.
 */
#ifndef PETREL_BOOTPARAMS_H
#define PETREL_BOOTPARAMS_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/memory.h"

/* Offset of struct setup_header inside a bzImage (and inside boot_params). */
#define BOOTPARAMS_SETUP_HDR_OFFSET 0x1f1
/* "HdrS", little-endian, at bzImage offset 0x202. */
#define BOOTPARAMS_HDR_MAGIC 0x53726448u
#define BOOTPARAMS_BOOT_FLAG 0xAA55u
/* Oldest protocol accepted: 2.06 is the first with hdr.cmdline_size. */
#define BOOTPARAMS_MIN_VERSION 0x0206u
/* Protocol version petrel claims in the header it makes up for a vmlinux. */
#define BOOTPARAMS_SYNTH_VERSION 0x020fu
/* x86 COMMAND_LINE_SIZE (2048) minus the NUL, as a bzImage reports it. */
#define BOOTPARAMS_SYNTH_CMDLINE_SIZE 2047u
/* What a 64-bit kernel's header.S puts in initrd_addr_max. */
#define BOOTPARAMS_SYNTH_INITRD_ADDR_MAX 0x7fffffffu

struct bootparams_cfg {
	/*
	 * The setup header as found in a bzImage: a pointer to the image's
	 * bytes at offset BOOTPARAMS_SETUP_HDR_OFFSET and how many bytes the
	 * image has from there. NULL for a raw vmlinux: a header is then
	 * synthesized (protocol BOOTPARAMS_SYNTH_VERSION, 64-bit kernel).
	 */
	const void *setup_hdr;
	size_t setup_hdr_len;
	const struct guest_mem *mem;
	gpa_t cmdline_addr;   /* 0: no command line */
	uint64_t cmdline_len; /* strlen: the NUL at cmdline_addr+len is not counted */
	gpa_t initrd_addr;
	uint64_t initrd_size; /* 0: no initrd */
	gpa_t acpi_rsdp_addr; /* 0: the kernel scans 0xE0000-0xFFFFF itself */
};

/*
 * Writes petrel's e820 map (see above) into tab[0..max). Entries are sorted
 * and do not overlap. Returns 0 and sets *count, -EINVAL if m has no low
 * RAM region above 1 MiB or its regions are not ascending, -ENOSPC if max
 * is too small.
 */
int e820_build(const struct guest_mem *m, struct boot_e820_entry *tab,
	       unsigned max, unsigned *count);

/*
 * Fills *bp (cleared first) from cfg. Only the placement of the command
 * line and initrd is checked (against cfg->mem's RAM, which may be a
 * layout without host memory, guest_mem_layout()); their bytes are not
 * read.
 * Returns 0 or:
 *   -EINVAL     cfg or cfg->mem missing
 *   -ENOEXEC    setup header without the 0xAA55/"HdrS" marks, or truncated
 *   -EPROTONOSUPPORT  boot protocol older than 2.06
 *   -E2BIG      command line longer than hdr.cmdline_size
 *   -ERANGE     initrd ends above hdr.initrd_addr_max (ignored when the
 *               kernel sets XLF_CAN_BE_LOADED_ABOVE_4G), or the command
 *               line lies above 4 GiB for a kernel that cannot take that
 *   -EFAULT     command line or initrd not entirely in guest RAM
 * Each error is also logged with the values involved.
 * The caller then puts *bp at BOOT_PARAMS_ADDR (a boot plan segment).
 */
int bootparams_build(struct boot_params *bp, const struct bootparams_cfg *cfg);

/*
 * Where to load an initrd of initrd_size bytes: the highest 4 KiB-aligned
 * address in the low RAM region such that the initrd ends at or below both
 * the end of low RAM and initrd_addr_max + 1 (initrd_addr_max is the
 * highest byte the kernel accepts, hdr.initrd_addr_max), and starts at or
 * above kernel_end and 1 MiB. For a bzImage, kernel_end should be
 * BZIMAGE_LOAD_ADDR + max(protected-mode size, hdr.init_size): the
 * in-place decompressor uses init_size bytes from the load address.
 * Returns 0 and sets *out; -EINVAL for a zero size or no low RAM region;
 * -ENOSPC (logged) when no such address exists.
 */
int initrd_place(const struct guest_mem *m, uint64_t initrd_size,
		 uint64_t initrd_addr_max, gpa_t kernel_end, gpa_t *out);

#endif
