/*
 * ELF executable loader: an x86-64 vmlinux (ELFCLASS64, EM_X86_64) or a
 * 32-bit Multiboot kernel (ELFCLASS32, EM_386), loaded at the physical
 * addresses (p_paddr) of its PT_LOAD segments.
 *
 * Contract: the image is untrusted. Every header field is checked against
 * the file and against guest RAM, overflow-safe, for all segments before
 * anything is written, so a failed load leaves guest memory untouched.
 * Guest memory is reached only through gpa_ptr(). Errors:
 *   -ENOEXEC  not an ELF executable for x86 (magic, class, byte order,
 *             machine, type, no PT_LOAD)
 *   -EINVAL   inconsistent: headers or segments outside the file,
 *             p_filesz > p_memsz, address arithmetic that overflows
 *   -ENOSPC   a segment ends beyond the end of guest RAM
 *   -EFAULT   a segment lies (partly) in a hole, not in RAM
 * and, if why is not NULL, *why is a static explanation.
 */
#ifndef PETREL_ELF_LOAD_H
#define PETREL_ELF_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/memory.h"

struct elf_info {
	int elf_class;        /* ELFCLASS32 or ELFCLASS64 */
	uint16_t machine;     /* EM_386 or EM_X86_64 */
	uint64_t entry;       /* e_entry (vmlinux: physical startup_64) */
	gpa_t load_lo;        /* lowest guest-physical byte loaded */
	gpa_t load_hi;        /* one past the highest byte loaded */
	unsigned nr_segments; /* PT_LOADs with p_memsz > 0 */
};

/* ELF magic with a class/machine pair elf_load() accepts. */
bool elf_probe(const uint8_t *img, size_t len);

int elf_load(const struct guest_mem *m, const uint8_t *img, size_t len,
	     struct elf_info *out, const char **why);

#endif
