/* The Linux x86 boot protocol as boot plan segments (linux_boot.h). */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/boot_plan.h"
#include "petrel/bootparams.h"
#include "petrel/bzimage.h"
#include "petrel/decompress.h"
#include "petrel/elf_load.h"
#include "petrel/layout.h"
#include "petrel/linux_boot.h"
#include "petrel/util.h"

/* What the image says about itself, before anything is loaded. */
struct linux_kernel {
	const char *path;
	bool is_bzimage;
	struct bzimage bz;    /* when is_bzimage */
	const uint8_t *img;   /* an ELF vmlinux */
	size_t len;
	uint64_t initrd_addr_max;
	uint32_t cmdline_size; /* the longest command line the kernel takes */
	gpa_t kernel_end;     /* first byte the kernel does not need */
};

/* a + b, or UINT64_MAX if that would wrap: an end no RAM reaches. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int identify(struct linux_kernel *k, const uint8_t *img, size_t len)
{
	const char *why = "";
	int err;

	if (bzimage_probe(img, len)) {
		err = bzimage_parse(img, len, &k->bz, &why);
		if (err < 0) {
			pt_err("%s: not a bootable bzImage: %s", k->path, why);
			return err;
		}
		if (!k->bz.kernel_64) {
			pt_err("%s: this kernel has no 64-bit entry point (boot protocol "
			       "%u.%02u, XLF_KERNEL_64 clear); petrel boots 64-bit kernels",
			       k->path, k->bz.version >> 8, k->bz.version & 0xff);
			return -ENOEXEC;
		}
		k->is_bzimage = true;
		k->initrd_addr_max = k->bz.hdr.initrd_addr_max;
		k->cmdline_size = k->bz.hdr.cmdline_size;
		return 0;
	}
	if (elf_probe(img, len)) {
		k->img = img;
		k->len = len;
		k->initrd_addr_max = BOOTPARAMS_SYNTH_INITRD_ADDR_MAX;
		k->cmdline_size = BOOTPARAMS_SYNTH_CMDLINE_SIZE;
		return 0;
	}
	pt_err("%s: not a kernel petrel can boot (neither a bzImage nor an ELF file)",
	       k->path);
	return -ENOEXEC;
}

/* The ELF's PT_LOADs as "the kernel" segments. */
static int plan_elf(struct boot_plan *p, const char *path, const uint8_t *img,
		    size_t len, struct elf_info *info)
{
	const char *why = "";
	int err = elf_plan(p, img, len, "the kernel", info, &why);

	if (err < 0) {
		pt_err("%s: cannot load: %s", path, why);
		return err;
	}
	if (info->elf_class != ELFCLASS64 || info->machine != EM_X86_64) {
		pt_err("%s: a 32-bit ELF without a Multiboot header: not a kernel "
		       "petrel can boot", path);
		return -ENOEXEC;
	}
	/*
	 * The vCPU starts at e_entry (a physical address, as in Linux's
	 * vmlinux): outside what the file loads it would run whatever the
	 * RAM there holds, so a corrupt header is said here, not as a guest
	 * fault later.
	 */
	if (info->entry < info->load_lo || info->entry >= info->load_hi) {
		pt_err("%s: its entry point %#" PRIx64 " is outside the segments it "
		       "loads (%#" PRIx64 "-%#" PRIx64 "): a corrupt kernel", path,
		       info->entry, info->load_lo, info->load_hi);
		return -ENOEXEC;
	}
	return 0;
}

/* Host-side decompression: the guest never runs the bzImage's decompressor. */
static int plan_bzimage_host(struct boot_plan *p, struct linux_kernel *k)
{
	const struct bzimage *bz = &k->bz;
	const char *why = "";
	struct elf_info info;
	uint8_t *vmlinux = NULL;
	size_t vmlinux_len = 0;
	uint64_t init_end;
	int err;

	err = decompress_map(bz->payload, bz->payload_len, DECOMPRESS_MAX_OUT,
			     &vmlinux, &vmlinux_len, &why);
	if (err < 0) {
		pt_err("%s: cannot decompress the %s payload on the host: %s", k->path,
		       decompress_name(decompress_detect(bz->payload, bz->payload_len)),
		       why);
		return err;
	}
	/*
	 * The segments point into it: the one copy, whose pages move into
	 * guest RAM when the plan is written (the kernel's PT_LOAD segments
	 * start on page boundaries, in the file and in memory).
	 */
	if ((err = boot_plan_own_map(p, vmlinux, vmlinux_len)) < 0)
		return err;
	if ((err = plan_elf(p, k->path, vmlinux, vmlinux_len, &info)) < 0)
		return err;
	p->entry.rip = info.entry;
	/* the kernel's bss and early page tables run to load address + init_size */
	init_end = add_sat(info.load_lo, bz->hdr.init_size);
	k->kernel_end = MAX(info.load_hi, init_end);
	if (init_end > info.load_hi && init_end != UINT64_MAX)
		err = boot_plan_add(p, &(struct boot_segment){
			.name = "the kernel's init_size area", .gpa = info.load_hi,
			.size = init_end - info.load_hi });
	return err;
}

/* The classic path: the bzImage's own decompressor runs in the guest. */
static int plan_bzimage_guest(struct boot_plan *p, struct linux_kernel *k)
{
	const struct bzimage *bz = &k->bz;
	uint64_t pref = bz->hdr.pref_address, init = bz->hdr.init_size;

	/*
	 * It decompresses to pref_address (or higher), needing init_size
	 * there; a pref_address near 2^64 must not wrap into a small end.
	 */
	if (pref > UINT64_MAX - init) {
		pt_err("%s: pref_address %#" PRIx64 " + init_size %#" PRIx64
		       " is beyond 64-bit addresses: a corrupt setup header",
		       k->path, pref, init);
		return -EINVAL;
	}
	k->kernel_end = MAX(BZIMAGE_LOAD_ADDR + MAX(init, (uint64_t)bz->pm_len),
			    pref + init);
	/* the 64-bit entry point is 0x200 bytes into the protected-mode code */
	p->entry.rip = BZIMAGE_LOAD_ADDR + 0x200;
	/* its decompression buffer is the guest's: reserved, not zeroed */
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the kernel", .gpa = BZIMAGE_LOAD_ADDR,
		.size = k->kernel_end - BZIMAGE_LOAD_ADDR, .data = bz->pm,
		.len = bz->pm_len });
}

static int plan_kernel(struct boot_plan *p, const struct boot_config *cfg,
		       struct linux_kernel *k)
{
	struct elf_info info;
	int err;

	if (!k->is_bzimage) {
		p->kind = BOOT_VMLINUX;
		if ((err = plan_elf(p, k->path, k->img, k->len, &info)) < 0)
			return err;
		p->entry.rip = info.entry;
		k->kernel_end = info.load_hi;
		return 0;
	}
	p->kind = BOOT_BZIMAGE_GUEST;
	if (cfg->guest_decompress || !k->bz.payload)
		return plan_bzimage_guest(p, k);
	if (decompress_detect(k->bz.payload, k->bz.payload_len) == DECOMP_LZO) {
		pt_warn("%s: lzo payload cannot be decompressed on the host; "
			"using the kernel's own decompressor", k->path);
		return plan_bzimage_guest(p, k);
	}
	p->kind = BOOT_BZIMAGE_HOST;
	return plan_bzimage_host(p, k);
}

static int plan_initrd(struct boot_plan *p, const struct boot_config *cfg,
		       const struct linux_kernel *k, const uint8_t *initrd,
		       size_t len, struct bootparams_cfg *bc)
{
	gpa_t addr;
	int err;

	if (!initrd)
		return 0;
	err = initrd_place(&p->mem, len, k->initrd_addr_max, k->kernel_end, &addr);
	if (err < 0) {
		pt_err("--initrd %s: %zu bytes do not fit in low guest memory between "
		       "the kernel's end (0x%llx) and the limit 0x%llx; give the VM "
		       "more --mem", cfg->initrd, len, (unsigned long long)k->kernel_end,
		       (unsigned long long)MIN(k->initrd_addr_max,
					       p->mem.regions[0].size));
		return err;
	}
	bc->initrd_addr = addr;
	bc->initrd_size = len;
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the initrd", .gpa = addr, .size = len, .data = initrd,
		.len = len });
}

static int plan_cmdline(struct boot_plan *p, const char *cmdline, size_t len)
{
	char *buf = boot_plan_alloc(p, len + 1);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, cmdline, len);
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the command line", .gpa = BOOT_CMDLINE_ADDR,
		.size = len + 1, .data = (const uint8_t *)buf, .len = len + 1 });
}

/*
 * The command line the kernel gets. With --no-acpi no DSDT describes the
 * virtio-mmio devices; a kernel built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES
 * then takes each from "virtio_mmio.device=<size>@<base>:<irq>" (one
 * without it ignores the option; Debian's is such a kernel and needs ACPI).
 * Not with ACPI: that kernel would register each device twice, from the
 * option and from LNRO0005, and two drivers would reset and drive one
 * register file. The options go in front of the user's text, where a " -- "
 * cannot hand them to init.
 */
#define MMIO_CMDLINE_ENTRY_MAX 48
static const char *mmio_cmdline(struct boot_plan *p,
				const struct boot_config *cfg,
				const char *user)
{
	size_t cap, at = 0;
	char *buf;

	if (!cfg->no_acpi || cfg->nr_virtio_mmio == 0)
		return user;
	cap = (size_t)cfg->nr_virtio_mmio * MMIO_CMDLINE_ENTRY_MAX +
	      strlen(user) + 1;
	if (!(buf = boot_plan_alloc(p, cap)))
		return NULL;
	for (unsigned i = 0; i < cfg->nr_virtio_mmio; i++)
		at += (size_t)snprintf(buf + at, cap - at,
				       "virtio_mmio.device=0x%llx@0x%llx:%u ",
				       VIRTIO_MMIO_SIZE, VIRTIO_MMIO_SLOT_BASE(i),
				       VIRTIO_MMIO_SLOT_GSI(i));
	snprintf(buf + at, cap - at, "%s", user);
	return buf;
}

int linux_boot_plan(struct boot_plan *p, const struct boot_config *cfg,
		    const uint8_t *img, size_t len, const uint8_t *initrd,
		    size_t initrd_len)
{
	struct linux_kernel k = { .path = cfg->kernel };
	struct bootparams_cfg bc = { 0 };
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	size_t cmdline_len;
	struct boot_params *bp;
	int err;

	if ((err = identify(&k, img, len)) < 0)
		return err;
	if (!(cmdline = mmio_cmdline(p, cfg, cmdline)))
		return -ENOMEM;
	cmdline_len = strlen(cmdline);
	/* before the kernel is decompressed: the header knows the limit */
	if (cmdline_len > k.cmdline_size || cmdline_len >= BOOT_CMDLINE_MAX) {
		pt_err("--cmdline: %zu bytes is longer than this kernel accepts (%u)",
		       cmdline_len, k.cmdline_size);
		return -E2BIG;
	}
	if ((err = plan_kernel(p, cfg, &k)) < 0)
		return err;
	if (k.kernel_end > p->mem.regions[0].size) {
		pt_err("--kernel %s: needs guest memory up to 0x%llx but low RAM ends "
		       "at 0x%llx; give the VM more --mem", cfg->kernel,
		       (unsigned long long)k.kernel_end,
		       (unsigned long long)p->mem.regions[0].size);
		return -ENOSPC;
	}
	if ((err = plan_initrd(p, cfg, &k, initrd, initrd_len, &bc)) < 0)
		return err;
	if ((err = plan_cmdline(p, cmdline, cmdline_len)) < 0)
		return err;

	if (k.is_bzimage) {
		bc.setup_hdr = img + BOOTPARAMS_SETUP_HDR_OFFSET;
		bc.setup_hdr_len = len - BOOTPARAMS_SETUP_HDR_OFFSET;
	}
	bc.mem = &p->mem;
	bc.cmdline_addr = BOOT_CMDLINE_ADDR;
	bc.cmdline_len = cmdline_len;
	bc.acpi_rsdp_addr = p->acpi_rsdp;
	if (!(bp = boot_plan_alloc(p, sizeof(*bp))))
		return -ENOMEM;
	if ((err = bootparams_build(bp, &bc)) < 0) {
		pt_err("cannot build boot_params: %s", strerror(-err));
		return err;
	}
	p->entry.mode = BOOT_ENTRY_LINUX64;
	p->entry.rsi = BOOT_PARAMS_ADDR;
	p->entry.rsp = BOOT_STACK_TOP;
	return boot_plan_add(p, &(struct boot_segment){
		.name = "boot_params", .gpa = BOOT_PARAMS_ADDR, .size = sizeof(*bp),
		.data = (const uint8_t *)bp, .len = sizeof(*bp) });
}
