/*
 * boot_params ("zero page") and the e820 map, per the Linux x86 boot
 * protocol (Documentation/arch/x86/boot.rst, zero-page.rst).
 */
#include <asm/e820.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "petrel/bootparams.h"
#include "petrel/layout.h"
#include "petrel/util.h"

_Static_assert(sizeof(struct boot_params) == 4096, "zero page is one page");
_Static_assert(offsetof(struct boot_params, hdr) == BOOTPARAMS_SETUP_HDR_OFFSET,
	       "setup header offset");
_Static_assert(EBDA_START < BIOS_AREA_START &&
		       BIOS_AREA_START <= ACPI_TABLES_ADDR &&
		       ACPI_TABLES_ADDR + ACPI_TABLES_SIZE <= HIGH_MEMORY_START,
	       "layout.h low-memory areas out of order");

/* The header ends at 0x202 + the byte at 0x201 (the short jump's offset). */
#define HDR_JUMP_END_BASE 0x202

static const struct mem_region *low_region(const struct guest_mem *m)
{
	if (!m || m->nr_regions < 1 || m->regions[0].gpa != 0)
		return NULL;
	return &m->regions[0];
}

static int e820_add(struct boot_e820_entry *tab, unsigned max, unsigned *n,
		    uint64_t addr, uint64_t size, uint32_t type)
{
	if (*n >= max)
		return -ENOSPC;
	tab[*n] = (struct boot_e820_entry){ .addr = addr, .size = size,
					    .type = type };
	(*n)++;
	return 0;
}

int e820_build(const struct guest_mem *m, struct boot_e820_entry *tab,
	       unsigned max, unsigned *count)
{
	const struct mem_region *low = low_region(m);
	const uint64_t acpi_end = ACPI_TABLES_ADDR + ACPI_TABLES_SIZE;
	uint64_t prev_end;
	unsigned n = 0;
	int err = 0;

	/* The firmware tables below 1 MiB must be backed by RAM. */
	if (!low || low->size <= HIGH_MEMORY_START)
		return -EINVAL;
	err |= e820_add(tab, max, &n, 0, EBDA_START, E820_RAM);
	err |= e820_add(tab, max, &n, EBDA_START, BIOS_AREA_START - EBDA_START,
			E820_RESERVED);
	/*
	 * Type 3 (ACPI) rather than reserved: it says what the region holds,
	 * and Linux treats it like reserved memory (it never hands ACPI
	 * "reclaimable" ranges to the page allocator). The kernel finds the
	 * RSDP from boot_params or by scanning, independently of the type.
	 */
	err |= e820_add(tab, max, &n, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
			E820_ACPI);
	if (acpi_end < HIGH_MEMORY_START)
		err |= e820_add(tab, max, &n, acpi_end,
				HIGH_MEMORY_START - acpi_end, E820_RESERVED);
	err |= e820_add(tab, max, &n, HIGH_MEMORY_START,
			low->size - HIGH_MEMORY_START, E820_RAM);
	if (err)
		return -ENOSPC;

	prev_end = low->size;
	for (int i = 1; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->regions[i];

		if (r->gpa < prev_end || r->size == 0)
			return -EINVAL;
		if (e820_add(tab, max, &n, r->gpa, r->size, E820_RAM))
			return -ENOSPC;
		prev_end = r->gpa + r->size;
	}
	*count = n;
	return 0;
}

/*
 * For a raw vmlinux there is no setup header to copy; the kernel reads only
 * a few of these fields on the 64-bit entry path, but a complete header
 * keeps the checks below identical for both image kinds.
 */
static void synth_header(struct setup_header *h)
{
	h->boot_flag = BOOTPARAMS_BOOT_FLAG;
	h->header = BOOTPARAMS_HDR_MAGIC;
	h->version = BOOTPARAMS_SYNTH_VERSION;
	h->vid_mode = 0xffff; /* "normal": no video mode switch */
	h->code32_start = BZIMAGE_LOAD_ADDR;
	h->kernel_alignment = 0x1000000;
	h->pref_address = 0x1000000;
	h->cmdline_size = BOOTPARAMS_SYNTH_CMDLINE_SIZE;
	h->initrd_addr_max = BOOTPARAMS_SYNTH_INITRD_ADDR_MAX;
	/*
	 * A 64-bit kernel, but without XLF_CAN_BE_LOADED_ABOVE_4G: nothing
	 * in the image vouches for it, so petrel keeps the initrd below
	 * initrd_addr_max as it does for old bzImages.
	 */
	h->xloadflags = XLF_KERNEL_64;
	h->hardware_subarch = X86_SUBARCH_PC;
}

static int copy_header(struct setup_header *h, const uint8_t *src, size_t len)
{
	const size_t need = offsetof(struct setup_header, version) +
			    sizeof(h->version);
	size_t end, n;

	if (len < need) {
		pt_err("setup header truncated: %zu bytes, need %zu", len,
		       need);
		return -ENOEXEC;
	}
	/* Only up to where this kernel says its header ends. */
	end = HDR_JUMP_END_BASE + src[HDR_JUMP_END_BASE - 1 -
				      BOOTPARAMS_SETUP_HDR_OFFSET] -
	      BOOTPARAMS_SETUP_HDR_OFFSET;
	n = MIN(MIN(len, end), sizeof(*h));
	memcpy(h, src, n);
	if (h->boot_flag != BOOTPARAMS_BOOT_FLAG ||
	    h->header != BOOTPARAMS_HDR_MAGIC) {
		pt_err("not a bzImage setup header (boot_flag %#x, magic %#x)",
		       h->boot_flag, h->header);
		return -ENOEXEC;
	}
	if (h->version < BOOTPARAMS_MIN_VERSION) {
		pt_err("boot protocol %u.%02u is too old (need %u.%02u)",
		       h->version >> 8, h->version & 0xff,
		       BOOTPARAMS_MIN_VERSION >> 8,
		       BOOTPARAMS_MIN_VERSION & 0xff);
		return -EPROTONOSUPPORT;
	}
	if (n < offsetof(struct setup_header, cmdline_size) +
			sizeof(h->cmdline_size)) {
		pt_err("setup header ends at %zu bytes, before cmdline_size",
		       n);
		return -ENOEXEC;
	}
	return 0;
}

static int set_cmdline(struct boot_params *bp, const struct bootparams_cfg *c,
		       int above_4g)
{
	const struct setup_header *h = &bp->hdr;

	if (!c->cmdline_addr)
		return 0;
	if (c->cmdline_len > h->cmdline_size) {
		pt_err("kernel command line is %" PRIu64
		       " bytes; this kernel accepts at most %u",
		       c->cmdline_len, h->cmdline_size);
		return -E2BIG;
	}
	if (c->cmdline_len == UINT64_MAX ||
	    !gpa_in_ram(c->mem, c->cmdline_addr, c->cmdline_len + 1)) {
		pt_err("command line at %#" PRIx64 " (+%" PRIu64
		       " bytes) is not in guest RAM",
		       c->cmdline_addr, c->cmdline_len);
		return -EFAULT;
	}
	if (!above_4g && c->cmdline_addr + c->cmdline_len + 1 > 4 * GiB) {
		pt_err("command line at %#" PRIx64
		       " is above 4 GiB but the kernel lacks "
		       "XLF_CAN_BE_LOADED_ABOVE_4G",
		       c->cmdline_addr);
		return -ERANGE;
	}
	bp->hdr.cmd_line_ptr = (uint32_t)c->cmdline_addr;
	bp->ext_cmd_line_ptr = (uint32_t)(c->cmdline_addr >> 32);
	return 0;
}

static int set_initrd(struct boot_params *bp, const struct bootparams_cfg *c,
		      int above_4g)
{
	uint64_t last, limit;

	if (!c->initrd_size)
		return 0;
	if (c->initrd_addr > UINT64_MAX - c->initrd_size ||
	    !gpa_in_ram(c->mem, c->initrd_addr, c->initrd_size)) {
		pt_err("initrd at %#" PRIx64 " (+%" PRIu64
		       " bytes) is not in guest RAM",
		       c->initrd_addr, c->initrd_size);
		return -EFAULT;
	}
	last = c->initrd_addr + c->initrd_size - 1;
	limit = above_4g ? UINT64_MAX : bp->hdr.initrd_addr_max;
	if (last > limit) {
		pt_err("initrd [%#" PRIx64 ", %#" PRIx64
		       "] ends above the kernel's initrd_addr_max %#" PRIx64,
		       c->initrd_addr, last, limit);
		return -ERANGE;
	}
	bp->hdr.ramdisk_image = (uint32_t)c->initrd_addr;
	bp->ext_ramdisk_image = (uint32_t)(c->initrd_addr >> 32);
	bp->hdr.ramdisk_size = (uint32_t)c->initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(c->initrd_size >> 32);
	return 0;
}

int bootparams_build(struct boot_params *bp, const struct bootparams_cfg *cfg)
{
	unsigned n;
	int above_4g, err;

	if (!bp || !cfg || !cfg->mem)
		return -EINVAL;
	/* A fresh page: sentinel 0 tells the kernel every field is meant. */
	memset(bp, 0, sizeof(*bp));
	if (cfg->setup_hdr) {
		err = copy_header(&bp->hdr, cfg->setup_hdr, cfg->setup_hdr_len);
		if (err)
			return err;
	} else {
		synth_header(&bp->hdr);
	}

	bp->hdr.type_of_loader = 0xff; /* "undefined": no registered ID */
	/*
	 * The setup heap (CAN_USE_HEAP/heap_end_ptr) is only used by the
	 * 16-bit real-mode setup code, which petrel skips by entering the
	 * kernel at its 32/64-bit entry point, so it is left clear.
	 */
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.loadflags &= (uint8_t)~CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0;
	/* petrel links no setup_data; a caller adding one sets it after. */
	bp->hdr.setup_data = 0;

	above_4g = !!(bp->hdr.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G);
	err = set_cmdline(bp, cfg, above_4g);
	if (err)
		return err;
	err = set_initrd(bp, cfg, above_4g);
	if (err)
		return err;

	err = e820_build(cfg->mem, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE,
			 &n);
	if (err) {
		pt_err("cannot build the e820 map: %s", strerror(-err));
		return err;
	}
	bp->e820_entries = (uint8_t)n;
	/* zero-page offset 0x70, read by every kernel that knows it. */
	bp->acpi_rsdp_addr = cfg->acpi_rsdp_addr;
	return 0;
}

int initrd_place(const struct guest_mem *m, uint64_t initrd_size,
		 uint64_t initrd_addr_max, gpa_t kernel_end, gpa_t *out)
{
	const struct mem_region *low = low_region(m);
	uint64_t top, addr, floor;

	if (!low || !initrd_size)
		return -EINVAL;
	top = low->size;
	if (initrd_addr_max < top - 1)
		top = initrd_addr_max + 1;
	floor = MAX(kernel_end, HIGH_MEMORY_START);
	if (initrd_size > top ||
	    (addr = ALIGN_DOWN(top - initrd_size, 4096)) < floor) {
		pt_err("initrd of %" PRIu64 " bytes does not fit between the "
		       "kernel's end %#" PRIx64 " and %#" PRIx64
		       " (end of low RAM or initrd_addr_max + 1)",
		       initrd_size, floor, top);
		return -ENOSPC;
	}
	*out = addr;
	return 0;
}
