/*
 * ELF executable loader: an x86-64 vmlinux (ELFCLASS64, EM_X86_64) or a
 * 32-bit Multiboot kernel (ELFCLASS32, EM_386), loaded at the physical
 * addresses (p_paddr) of its PT_LOAD segments.
 *
 * Contract: the image is untrusted. Every header field is checked against
 * the file (and, by elf_load, against guest RAM), overflow-safe, for all
 * segments before anything is written or added, so a failed load leaves
 * guest memory untouched. Guest memory is reached only through gpa_ptr().
 * Errors:
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

struct boot_plan;

/* One PT_LOAD: file bytes [offset, offset + filesz) at paddr, memsz long. */
struct elf_segment {
	uint64_t offset, paddr, filesz, memsz;
};
typedef int (*elf_segment_fn)(void *opaque, const uint8_t *img,
			      const struct elf_segment *s);

/* ELF magic with a class/machine pair elf_load() accepts. */
bool elf_probe(const uint8_t *img, size_t len);

/*
 * Checks the headers and every PT_LOAD against the file (not against RAM),
 * fills *out, then calls fn (unless NULL) for each PT_LOAD with p_memsz > 0
 * in file order; a negative return from fn stops and is returned.
 */
int elf_parse(const uint8_t *img, size_t len, struct elf_info *out,
	      elf_segment_fn fn, void *opaque, const char **why);

/* Checks every segment against m's RAM, then copies them in. */
int elf_load(const struct guest_mem *m, const uint8_t *img, size_t len,
	     struct elf_info *out, const char **why);

/*
 * Adds each PT_LOAD to the plan as a segment called name, pointing into img
 * (which must live as long as the plan: the plan's own buffer). Placement
 * is boot_plan_check()'s job. 0 or the errors above (never -ENOSPC/-EFAULT).
 */
int elf_plan(struct boot_plan *p, const uint8_t *img, size_t len,
	     const char *name, struct elf_info *out, const char **why);

#endif
