/*
 * Multiboot (version 1) kernels: the header is found in the first 8 KiB of
 * the file; petrel plans the kernel (its ELF segments, or the a.out-kludge
 * address fields when flag 16 is set), the Multiboot information structure
 * (memory sizes, a memory map from the same e820 layout Linux gets, the
 * command line, the boot loader name, and the initrd as module 0), and an
 * entry in flat 32-bit protected mode with EAX = 0x2BADB002 and EBX = the
 * information structure, as the specification requires.
 *
 * The command line starts with the kernel's path, as GRUB and QEMU pass it
 * ("/path/to/kernel arg1 arg2"): kernels that parse argv[0] count on it.
 */
#ifndef PETREL_MULTIBOOT_H
#define PETREL_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/memory.h"

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH 8192

/*
 * Where the information structure and its tables go (below 1 MiB): one
 * plan segment from MULTIBOOT_INFO_ADDR to MULTIBOOT_INFO_END.
 */
#define MULTIBOOT_INFO_ADDR 0x7000ULL
#define MULTIBOOT_MMAP_ADDR 0x7100ULL
#define MULTIBOOT_MODS_ADDR 0x7800ULL
#define MULTIBOOT_NAME_ADDR 0x7900ULL
#define MULTIBOOT_INFO_END 0x7a00ULL

struct multiboot_header_info {
	size_t offset;    /* of the header in the file */
	uint32_t flags;
	bool aout_kludge; /* flag 16: the address fields below are valid */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Finds and checks the header; -ENOENT if there is none. */
int multiboot_find(const uint8_t *img, size_t len,
		   struct multiboot_header_info *out, const char **why);

struct boot_plan;

struct multiboot_load {
	const char *kernel_path; /* the command line's first word */
	const char *cmdline;     /* the rest; NULL or "" for none */
	const uint8_t *module;   /* the initrd, passed as module 0; may be NULL */
	size_t module_len;
};

/*
 * The Multiboot command line: "<kernel_path> <cmdline>", or the path alone
 * when cmdline is empty (as GRUB does). malloc'd, or NULL.
 */
char *multiboot_cmdline(const char *kernel_path, const char *cmdline);

/*
 * Adds the kernel, the module and the information structure to the plan
 * and sets p->entry (BOOT_ENTRY_MULTIBOOT32). img and ml->module must live
 * as long as the plan. Placement in RAM is boot_plan_check()'s job.
 * 0 or -errno with *why set.
 */
int multiboot_plan(struct boot_plan *p, const uint8_t *img, size_t len,
		   const struct multiboot_load *ml, const char **why);

#endif
