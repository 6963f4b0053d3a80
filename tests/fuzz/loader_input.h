/*
 * What the loader fuzz targets share (fuzz_bzimage, fuzz_multiboot,
 * fuzz_elf, fuzz_initrd; their seeds are made by tests/fuzz/mkseeds_loaders.py).
 *
 * An input is an 8-byte prefix choosing the machine, then the kernel image:
 *   [0]    guest RAM size: loader_mem_sizes[b % 16]
 *   [1]    bit 0 --guest-decompress, bit 1 --no-acpi, bit 2 an initrd,
 *          bits 3-6 the number of virtio-mmio slots (0..15: above 8 is
 *          refused, as petrel refuses it)
 *   [2,3]  initrd size: le16 * 16 + 1 bytes (its bytes are not parsed)
 *   [4]    command line: that many times 16 bytes ("a" repeated); 255:
 *          LOADER_CMDLINE_MAX bytes, more than any boot protocol takes
 *   [5]    vCPUs: loader_ncpus[b % 8] (the last more than the tables hold)
 *   [6,7]  reserved (0)
 *   [8..]  the image, as --kernel would read it
 *
 * The loaders log what is wrong with an image on stderr (pt_err), once per
 * rejected input: loader_quiet_init() has libFuzzer close stderr for the
 * target's own writes (-close_fd_mask=2; its reports and statistics still
 * go to the real stderr) unless PETREL_FUZZ_VERBOSE is set, to read the
 * messages while reproducing one input.
 */
#ifndef LOADER_INPUT_H
#define LOADER_INPUT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "petrel/util.h"

#include "fuzz_check.h"

#define LOADER_PREFIX 8
#define LOADER_CMDLINE_MAX (64 * 1024 + 1) /* BOOT_CMDLINE_MAX + 1 */

/*
 * From a RAM smaller than the low-memory tables to one with RAM above the
 * PCI hole; every size a multiple of 4 KiB as --mem makes it.
 */
static const uint64_t loader_mem_sizes[16] = {
	4 * KiB,         1 * MiB,        1 * MiB + 4 * KiB, 2 * MiB,
	16 * MiB,        32 * MiB,       64 * MiB,          128 * MiB,
	256 * MiB,       512 * MiB,      1 * GiB,           3 * GiB - 4 * KiB,
	3 * GiB,         3 * GiB + 4 * KiB, 4 * GiB,        64 * GiB,
};

static const unsigned loader_ncpus[8] = { 1, 2, 3, 4, 8, 32, 255, 4096 };

struct loader_input {
	uint64_t mem_size;
	bool guest_decompress, no_acpi, initrd;
	unsigned nr_virtio_mmio;
	size_t initrd_len;
	size_t cmdline_len;
	unsigned ncpus;
	const uint8_t *img;
	size_t img_len;
};

static inline bool loader_input_parse(const uint8_t *d, size_t n,
				      struct loader_input *in)
{
	if (n < LOADER_PREFIX)
		return false;
	in->mem_size = loader_mem_sizes[d[0] % 16];
	in->guest_decompress = d[1] & 1;
	in->no_acpi = d[1] & 2;
	in->initrd = d[1] & 4;
	in->nr_virtio_mmio = d[1] >> 3 & 15;
	in->initrd_len = (size_t)le16_get(d + 2) * 16 + 1;
	in->cmdline_len = d[4] == 255 ? LOADER_CMDLINE_MAX : (size_t)d[4] * 16;
	in->ncpus = loader_ncpus[d[5] % 8];
	in->img = d + LOADER_PREFIX;
	in->img_len = n - LOADER_PREFIX;
	return true;
}

/* libFuzzer reads its flags after this: quiet unless asked otherwise. */
static inline void loader_quiet_init(int *argc, char ***argv)
{
	static char flag[] = "-close_fd_mask=2";
	char **v;

	if (getenv("PETREL_FUZZ_VERBOSE"))
		return;
	v = calloc((size_t)*argc + 2, sizeof(*v));
	if (!v)
		return;
	memcpy(v, *argv, (size_t)*argc * sizeof(*v));
	v[(*argc)++] = flag;
	*argv = v; /* lives as long as the process, as libFuzzer expects */
}

#endif
