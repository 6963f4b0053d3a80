/*
 * Multiboot (version 1) kernels: the header is found in the first 8 KiB of
 * the file; petrel loads the kernel (its ELF segments, or the a.out-kludge
 * address fields when flag 16 is set), writes the Multiboot information
 * structure (memory sizes, a memory map from the same e820 layout Linux
 * gets, the command line, the boot loader name, and the initrd as module 0),
 * and enters in flat 32-bit protected mode with EAX = 0x2BADB002 and
 * EBX = the information structure, as the specification requires.
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

/* Where the information structure and its tables go (below 1 MiB). */
#define MULTIBOOT_INFO_ADDR 0x7000ULL
#define MULTIBOOT_MMAP_ADDR 0x7100ULL
#define MULTIBOOT_MODS_ADDR 0x7800ULL
#define MULTIBOOT_NAME_ADDR 0x7900ULL

struct multiboot_header_info {
	size_t offset;    /* of the header in the file */
	uint32_t flags;
	bool aout_kludge; /* flag 16: the address fields below are valid */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Finds and checks the header; -ENOENT if there is none. */
int multiboot_find(const uint8_t *img, size_t len,
		   struct multiboot_header_info *out, const char **why);

struct multiboot_load {
	const char *cmdline;    /* may be NULL */
	const uint8_t *module;  /* the initrd, passed as module 0; may be NULL */
	size_t module_len;
	uint32_t entry;         /* out */
	uint32_t info_addr;     /* out: EBX */
};

/* Loads the kernel and writes the information structure. 0 or -errno. */
int multiboot_load(const struct guest_mem *m, const uint8_t *img, size_t len,
		   struct multiboot_load *ml, const char **why);

#endif
