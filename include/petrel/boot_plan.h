/*
 * A boot plan: everything petrel puts into guest memory before the first
 * instruction and the state the boot CPU starts in, computed from the image
 * files and the machine's size alone. No struct vm, no KVM, no guest RAM:
 * main builds the plan before vm_create() opens /dev/kvm, so a bad kernel,
 * initrd, command line, memory size or vCPU count is explained on any host;
 * the machine (vm.c) then copies the segments into guest RAM
 * (boot_plan_write) and sets the BSP's registers from plan->entry
 * (boot_x86_regs, boot_x86.h).
 *
 * Who fills what (arrows point down, nothing here knows struct vm):
 *   boot_plan_build (boot_plan_build.c) reads --kernel and --initrd, then
 *     firmware_plan       ACPI and MP tables              (firmware.c)
 *     multiboot_plan      or linux_boot_plan: the kernel, the initrd, the
 *                         command line, boot_params or the Multiboot
 *                         information, plan->entry        (multiboot.c,
 *                                                          linux_boot.c)
 *     boot_x86_plan       the boot GDT and page tables    (boot_x86.c)
 *     boot_plan_check     every segment in RAM, no two overlapping
 *   each through the container functions below (boot_plan.c).
 *
 * Contract of a built plan: every segment lies in guest RAM as plan->mem
 * lays it out for mem_size, and no two segments overlap, so nothing petrel
 * writes (boot_params, page tables, GDT, command line, ACPI/MP tables, the
 * Multiboot information) can land on the kernel or the initrd, or the
 * reverse. The bytes the segments point to are the plan's (boot_plan_free).
 */
#ifndef PETREL_BOOT_PLAN_H
#define PETREL_BOOT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/memory.h"

/* The inputs: what the user asked for that shapes guest memory. */
struct boot_config {
	const char *kernel;    /* path of the image; named in every message */
	const char *initrd;    /* NULL: none */
	const char *cmdline;   /* NULL: empty */
	uint64_t mem_size;     /* guest RAM in bytes */
	unsigned ncpus;        /* vCPUs the firmware tables describe */
	bool no_acpi;          /* MP table only */
	bool guest_decompress; /* a bzImage's own decompressor runs in the guest */
	/*
	 * virtio-mmio slots 0..n-1 in use (layout.h; the count of
	 * virtio_mmio_slots()): described in the DSDT, or with --no-acpi on
	 * a Linux command line. At most VIRTIO_MMIO_SLOTS.
	 */
	unsigned nr_virtio_mmio;
};

struct boot_segment {
	const char *name;     /* static: "kernel", "initrd", "boot_params", ... */
	gpa_t gpa;
	uint64_t size;        /* [gpa, gpa + size) is claimed; size > 0 */
	const uint8_t *data;  /* len bytes copied to gpa; the plan owns them */
	uint64_t len;         /* <= size */
	/*
	 * true: [gpa + len, gpa + size) is zeroed (an ELF's .bss). false: that
	 * part is only reserved for the guest's own use (a bzImage's in-place
	 * decompression) and left as it is: fresh guest RAM reads zero, and
	 * not touching it keeps those pages off the host until the guest does.
	 */
	bool zero_rest;
};

enum boot_kind {
	BOOT_NONE,
	BOOT_BZIMAGE_HOST,  /* bzImage, payload decompressed by petrel */
	BOOT_BZIMAGE_GUEST, /* bzImage, its own decompressor runs in the guest */
	BOOT_VMLINUX,       /* ELF vmlinux */
	BOOT_MULTIBOOT,     /* Multiboot v1 (ELF or a.out kludge) */
};

enum boot_entry_mode {
	BOOT_ENTRY_LINUX64,     /* long mode, petrel's identity map, RSI = rsi */
	BOOT_ENTRY_MULTIBOOT32, /* flat 32-bit protected mode, no paging, EAX/EBX */
};

/* The BSP's state at the first instruction; the other vCPUs wait for SIPI. */
struct boot_entry {
	enum boot_entry_mode mode;
	uint64_t rip;
	uint64_t rsp; /* LINUX64: BOOT_STACK_TOP */
	uint64_t rsi; /* LINUX64: boot_params */
	uint32_t eax; /* MULTIBOOT32: MULTIBOOT_BOOTLOADER_MAGIC */
	uint32_t ebx; /* MULTIBOOT32: the information structure */
};

struct boot_plan {
	struct guest_mem mem;   /* RAM layout for mem_size, no host memory */
	enum boot_kind kind;
	struct boot_entry entry;
	gpa_t acpi_rsdp;        /* 0 without ACPI */
	struct boot_segment *segs; /* in the order they were added */
	unsigned nr_segs;
	unsigned cap_segs;
	void **bufs;            /* what segments point into, freed with the plan */
	unsigned nr_bufs;
	unsigned cap_bufs;
	/*
	 * Page-aligned private anonymous mappings the plan owns (a kernel
	 * decompressed by decompress_map): boot_plan_write moves the whole
	 * pages of a segment that lies in one into guest RAM (mremap) rather
	 * than copying them.
	 */
	struct boot_map { uint8_t *base; size_t len; } *maps;
	unsigned nr_maps;
	unsigned cap_maps;
	bool written;           /* boot_plan_write ran: moved pages are gone */
};

/*
 * Builds the plan for cfg: reads the files, runs the loaders, checks the
 * result. Every failure is explained on stderr, naming the file or option
 * and the problem. 0 or -errno; call boot_plan_free() either way.
 */
int boot_plan_build(struct boot_plan *p, const struct boot_config *cfg);

/* --- the container, for the loaders (and tests) --- */

/* An empty plan over the RAM layout for mem_size. 0 or -EINVAL (bad size). */
int boot_plan_init(struct boot_plan *p, uint64_t mem_size);
/* Frees every buffer the plan owns; safe on a zeroed or half-built plan. */
void boot_plan_free(struct boot_plan *p);
/* The plan takes buf (malloc'd): 0, or -ENOMEM after freeing it. */
int boot_plan_own(struct boot_plan *p, void *buf);
/* The plan takes a mapping [base, base + len) (munmapped with the plan):
 * 0, or -ENOMEM after unmapping it. */
int boot_plan_own_map(struct boot_plan *p, void *base, size_t len);
/* size zeroed bytes owned by the plan, or NULL. */
void *boot_plan_alloc(struct boot_plan *p, size_t size);
/* Appends a copy of *s; -EINVAL for size 0 or len > size, -ENOMEM. */
int boot_plan_add(struct boot_plan *p, const struct boot_segment *s);
/* The first segment called name, or NULL. */
const struct boot_segment *boot_plan_find(const struct boot_plan *p,
					  const char *name);

/*
 * Every segment inside one RAM region and no two overlapping. The first
 * problem is explained (prefixed "--kernel <kernel>: ") and returned:
 * -ENOSPC (beyond the end of RAM: "give the VM more --mem"), -EFAULT (in
 * the PCI hole), -EADDRINUSE (two segments overlap, both named), -ENOMEM.
 */
int boot_plan_check(const struct boot_plan *p, const char *kernel);

/*
 * Copies every segment into m through gpa_ptr() (zeroing each zero_rest
 * tail). A segment whose data lies in one of the plan's mappings (with
 * data and destination on page boundaries) has its whole pages moved
 * there instead (mremap; the rest is copied), so a plan is written once:
 * a second call returns -EALREADY. 0, or -EFAULT if a segment is not RAM
 * in m (a plan for another size), before anything is written.
 */
int boot_plan_write(struct boot_plan *p, const struct guest_mem *m);

#endif
