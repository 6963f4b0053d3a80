/*
 * libFuzzer target for the initrd placement (initrd_place, src/boot/
 * bootparams.c), which the Linux path calls with the kernel's
 * initrd_addr_max and end (linux_boot.c) and the Multiboot path with
 * 4 GiB - 1 and the kernel's end (multiboot.c, module 0).
 *
 * Input: 33 bytes: the RAM size (le64, rounded down to 4 KiB and taken
 * modulo 2^40, or loader_mem_sizes[byte 32 >> 1 & 15] when byte 32 is
 * odd), the initrd's size, initrd_addr_max and kernel_end (le64 each):
 * sizes of 0 and near 2^64, limits below 1 MiB or above RAM, a kernel
 * ending above RAM.
 *
 * Checked against the contract in bootparams.h, computed here apart:
 * -EINVAL exactly when the size is 0 or there is no low RAM; else 0 with
 * the highest 4 KiB-aligned address at or above max(kernel_end, 1 MiB)
 * whose initrd ends within low RAM and at or below initrd_addr_max + 1
 * (one page higher breaks a bound), or -ENOSPC exactly when no such
 * address exists. A placed initrd is accepted by the boot plan's check.
 *
 * Seeds (tests/fuzz/mkseeds_loaders.py): the Debian kernel's limits with
 * its initrd, a 32-bit kernel's, a kernel ending above RAM, size 0, a size
 * near 2^64.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loader_input.h"
#include "petrel/boot_plan.h"
#include "petrel/bootparams.h"
#include "petrel/layout.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loader_quiet_init(argc, argv);
	return 0;
}

/* Can an initrd of size bytes start at addr, by the contract? */
static bool fits(uint64_t addr, uint64_t size, uint64_t low_end,
		 uint64_t addr_max, uint64_t floor)
{
	return addr % 4096 == 0 && addr >= floor && addr <= low_end &&
	       size <= low_end - addr && (addr_max == UINT64_MAX ||
	       (addr <= addr_max + 1 && size <= addr_max + 1 - addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t mem, isize, addr_max, kend, low_end, floor, best;
	struct boot_plan p;
	gpa_t at = 0;
	int err;

	if (size < 33)
		return 0;
	mem = data[32] & 1 ? loader_mem_sizes[data[32] >> 1 & 15]
			   : ALIGN_DOWN(le64_get(data) % (1ULL << 40), 4096);
	isize = le64_get(data + 8);
	addr_max = le64_get(data + 16);
	kend = le64_get(data + 24);
	if (boot_plan_init(&p, mem) < 0) {
		CHECK(mem == 0);
		return 0;
	}
	err = initrd_place(&p.mem, isize, addr_max, kend, &at);
	low_end = p.mem.regions[0].size;
	floor = MAX(kend, HIGH_MEMORY_START);
	if (isize == 0) {
		CHECK(err == -EINVAL);
		boot_plan_free(&p);
		return 0;
	}
	/* the highest candidate: under both bounds, aligned down */
	best = MIN(low_end, addr_max == UINT64_MAX ? UINT64_MAX : addr_max + 1);
	if (err == 0) {
		CHECK(fits(at, isize, low_end, addr_max, floor));
		CHECK(at + 4096 < at || !fits(at + 4096, isize, low_end, addr_max, floor));
		CHECK(boot_plan_add(&p, &(struct boot_segment){
			.name = "the initrd", .gpa = at, .size = isize }) == 0);
		CHECK(boot_plan_check(&p, "fuzz") == 0);
	} else {
		CHECK(err == -ENOSPC);
		CHECK(isize > best || !fits(ALIGN_DOWN(best - isize, 4096), isize,
					   low_end, addr_max, floor));
	}
	boot_plan_free(&p);
	return 0;
}
