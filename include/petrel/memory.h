/*
 * Guest RAM: petrel mmaps it (lazily: MAP_NORESERVE, untouched pages cost
 * nothing) and KVM maps the same host pages into the guest through memslots.
 *
 * Contract: guest-physical addresses are an opaque gpa_t. The only way from a
 * gpa_t to host memory is gpa_ptr(), which checks that the whole range
 * [gpa, gpa+len) lies in one RAM region without overflowing. Devices and
 * loaders never do pointer arithmetic on guest memory themselves.
 */
#ifndef PETREL_MEMORY_H
#define PETREL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gpa_t;

/* The 32-bit PCI hole: RAM above this is moved to 4 GiB and up. */
#define MEM_32BIT_HOLE_START 0xC0000000ULL
#define MEM_32BIT_HOLE_END 0x100000000ULL
#define MEM_MAX_REGIONS 4

struct mem_region {
	gpa_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	uint64_t ram_size; /* total bytes of RAM, as the user asked */
	int nr_regions;
	struct mem_region regions[MEM_MAX_REGIONS];
	uint8_t *base;     /* one host mapping backing every region */
	uint64_t map_size;
};

/*
 * Where RAM is for ram_size bytes, without mapping any: the regions
 * guest_mem_init() would make (below the PCI hole, then from 4 GiB), with no
 * host memory behind them (hva NULL). The boot planner checks placements
 * against this before /dev/kvm is opened or RAM is mapped; on such a layout
 * gpa_in_ram() answers and gpa_ptr() returns NULL. 0, or -EINVAL for a size
 * that is 0 or not a multiple of 4 KiB. guest_mem_destroy() is a no-op on it.
 */
int guest_mem_layout(struct guest_mem *m, uint64_t ram_size);

/* Lays RAM out (guest_mem_layout) and mmaps it. 0 or -errno. */
int guest_mem_init(struct guest_mem *m, uint64_t ram_size);
void guest_mem_destroy(struct guest_mem *m);

/*
 * A one-region guest_mem over a caller's buffer: [gpa, gpa+size) is buf.
 * It lets a writer that addresses guest memory by gpa (the ACPI and MP
 * tables, the Multiboot information) fill a boot plan's buffer with the
 * addresses it will have in the guest. Nothing to destroy.
 */
void guest_mem_window(struct guest_mem *m, gpa_t gpa, void *buf,
		      uint64_t size);

/* Whether all of [gpa, gpa+len) lies in one RAM region (overflow-safe). */
bool gpa_in_ram(const struct guest_mem *m, gpa_t gpa, uint64_t len);

/*
 * Host pointer for [gpa, gpa+len), or NULL if any byte is not RAM or m is a
 * layout without host memory.
 */
void *gpa_ptr(const struct guest_mem *m, gpa_t gpa, uint64_t len);

/* Copy helpers: 0, or -EFAULT if the range is not entirely RAM. */
int gpa_read(const struct guest_mem *m, gpa_t gpa, void *dst, uint64_t len);
int gpa_write(const struct guest_mem *m, gpa_t gpa, const void *src,
	      uint64_t len);

/* Guest pages resident on the host (mincore), in bytes: for statistics. */
uint64_t guest_mem_resident(const struct guest_mem *m);

#endif
