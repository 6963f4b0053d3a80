#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/bootparams.h"
#include "petrel/bzimage.h"
#include "petrel/decompress.h"
#include "petrel/elf_load.h"
#include "petrel/firmware.h"
#include "petrel/layout.h"
#include "petrel/linux_boot.h"
#include "petrel/util.h"
#include "petrel/vm.h"

/* Where a decompressed vmlinux expects to live (CONFIG_PHYSICAL_START). */
#define VMLINUX_DEFAULT_START 0x1000000ULL

struct kernel_load {
	const uint8_t *hdr;   /* setup header inside the bzImage, or NULL */
	size_t hdr_len;
	uint64_t initrd_addr_max;
	uint32_t cmdline_size; /* the longest command line the kernel takes */
	gpa_t kernel_end;     /* first byte the kernel does not need */
};

static int load_elf(struct vm *vm, const char *what, const uint8_t *img,
		    size_t len, struct elf_info *info)
{
	const char *why = "";
	int err = elf_load(&vm->mem, img, len, info, &why);

	if (err < 0) {
		pt_err("%s: cannot load: %s%s", what, why,
		       err == -ENOSPC ? "; give the VM more --mem" : "");
		return err;
	}
	if (info->elf_class != ELFCLASS64 || info->machine != EM_X86_64) {
		pt_err("%s: a 32-bit ELF without a Multiboot header: not a kernel "
		       "petrel can boot", what);
		return -ENOEXEC;
	}
	return 0;
}

/* Host-side decompression: the guest never runs the bzImage's decompressor. */
static int load_bzimage_host(struct vm *vm, const struct bzimage *bz,
			     struct kernel_load *kl)
{
	const char *path = vm->cfg->kernel, *why = "";
	struct elf_info info;
	uint8_t *vmlinux = NULL;
	size_t vmlinux_len = 0;
	int err;

	err = decompress(bz->payload, bz->payload_len, DECOMPRESS_MAX_OUT,
			 &vmlinux, &vmlinux_len, &why);
	if (err < 0) {
		pt_err("%s: cannot decompress the %s payload on the host: %s", path,
		       decompress_name(decompress_detect(bz->payload, bz->payload_len)),
		       why);
		return err;
	}
	err = load_elf(vm, path, vmlinux, vmlinux_len, &info);
	free(vmlinux);
	if (err < 0)
		return err;
	vm->entry = info.entry;
	/* the kernel's bss and early page tables run to load address + init_size */
	kl->kernel_end = MAX(info.load_hi, info.load_lo + bz->hdr.init_size);
	return 0;
}

/* The classic path: the bzImage's own decompressor runs in the guest. */
static int load_bzimage_guest(struct vm *vm, const struct bzimage *bz,
			      struct kernel_load *kl)
{
	const char *why = "";
	int err = bzimage_load_pm(bz, &vm->mem, BZIMAGE_LOAD_ADDR, &why);

	if (err < 0) {
		pt_err("%s: %s", vm->cfg->kernel, why);
		return err;
	}
	/* the 64-bit entry point is 0x200 bytes into the protected-mode code */
	vm->entry = BZIMAGE_LOAD_ADDR + 0x200;
	/* it decompresses to pref_address (or higher), needing init_size there */
	kl->kernel_end = MAX(BZIMAGE_LOAD_ADDR + bz->hdr.init_size,
			     bz->hdr.pref_address + bz->hdr.init_size);
	return 0;
}

static int load_kernel(struct vm *vm, const uint8_t *img, size_t len,
		       struct kernel_load *kl)
{
	const char *path = vm->cfg->kernel, *why = "";
	struct bzimage bz;
	struct elf_info info;
	int err;

	if (bzimage_probe(img, len)) {
		err = bzimage_parse(img, len, &bz, &why);
		if (err < 0) {
			pt_err("%s: not a bootable bzImage: %s", path, why);
			return err;
		}
		if (!bz.kernel_64) {
			pt_err("%s: this kernel has no 64-bit entry point (boot protocol "
			       "%u.%02u, XLF_KERNEL_64 clear); petrel boots 64-bit kernels",
			       path, bz.version >> 8, bz.version & 0xff);
			return -ENOEXEC;
		}
		kl->hdr = img + BOOTPARAMS_SETUP_HDR_OFFSET;
		kl->hdr_len = len - BOOTPARAMS_SETUP_HDR_OFFSET;
		kl->initrd_addr_max = bz.hdr.initrd_addr_max;
		kl->cmdline_size = bz.hdr.cmdline_size;
		if (vm->cfg->guest_decompress || !bz.payload)
			return load_bzimage_guest(vm, &bz, kl);
		if (decompress_detect(bz.payload, bz.payload_len) == DECOMP_LZO) {
			pt_warn("%s: lzo payload cannot be decompressed on the host; "
				"using the kernel's own decompressor", path);
			return load_bzimage_guest(vm, &bz, kl);
		}
		return load_bzimage_host(vm, &bz, kl);
	}
	if (elf_probe(img, len)) {
		if ((err = load_elf(vm, path, img, len, &info)) < 0)
			return err;
		vm->entry = info.entry;
		kl->kernel_end = info.load_hi;
		kl->initrd_addr_max = BOOTPARAMS_SYNTH_INITRD_ADDR_MAX;
		kl->cmdline_size = BOOTPARAMS_SYNTH_CMDLINE_SIZE;
		return 0;
	}
	pt_err("%s: not a kernel petrel can boot (neither a bzImage nor an ELF file)",
	       path);
	return -ENOEXEC;
}

static int load_initrd(struct vm *vm, const struct kernel_load *kl,
		       gpa_t *addr, uint64_t *size)
{
	const char *path = vm->cfg->initrd;
	uint8_t *data;
	size_t len;
	int err;

	*addr = 0;
	*size = 0;
	if (!path)
		return 0;
	if ((err = kernel_read_initrd(vm, &data, &len)) < 0)
		return err;
	err = initrd_place(&vm->mem, len, kl->initrd_addr_max, kl->kernel_end, addr);
	if (err < 0) {
		pt_err("--initrd %s: %zu bytes do not fit in low guest memory between "
		       "the kernel's end (0x%llx) and the limit 0x%llx; give the VM "
		       "more --mem", path, len, (unsigned long long)kl->kernel_end,
		       (unsigned long long)MIN(kl->initrd_addr_max,
					       vm->mem.regions[0].size));
		free(data);
		return err;
	}
	err = gpa_write(&vm->mem, *addr, data, len);
	free(data);
	*size = len;
	return err;
}

int linux_boot_load(struct vm *vm, const uint8_t *img, size_t len)
{
	const struct vm_config *cfg = vm->cfg;
	struct kernel_load kl = { 0 };
	struct bootparams_cfg bc = { 0 };
	struct boot_params *bp;
	size_t cmdline_len = strlen(cfg->cmdline);
	int err;

	err = load_kernel(vm, img, len, &kl);
	if (err < 0)
		goto out;
	if (kl.kernel_end > vm->mem.regions[0].size) {
		pt_err("--kernel %s: needs guest memory up to 0x%llx but low RAM ends "
		       "at 0x%llx; give the VM more --mem", cfg->kernel,
		       (unsigned long long)kl.kernel_end,
		       (unsigned long long)vm->mem.regions[0].size);
		err = -ENOSPC;
		goto out;
	}
	if ((err = load_initrd(vm, &kl, &bc.initrd_addr, &bc.initrd_size)) < 0)
		goto out;

	if (cmdline_len > kl.cmdline_size || cmdline_len >= BOOT_CMDLINE_MAX) {
		pt_err("--cmdline: %zu bytes is longer than this kernel accepts (%u)",
		       cmdline_len, kl.cmdline_size);
		err = -E2BIG;
		goto out;
	}
	if ((err = gpa_write(&vm->mem, BOOT_CMDLINE_ADDR, cfg->cmdline,
			     cmdline_len + 1)) < 0)
		goto out;

	if ((err = firmware_tables_write(vm, &bc.acpi_rsdp_addr)) < 0)
		goto out;

	bc.setup_hdr = kl.hdr;
	bc.setup_hdr_len = kl.hdr_len;
	bc.mem = &vm->mem;
	bc.cmdline_addr = BOOT_CMDLINE_ADDR;
	bc.cmdline_len = cmdline_len;
	bp = gpa_ptr(&vm->mem, BOOT_PARAMS_ADDR, sizeof(*bp));
	if (!bp) {
		err = -EFAULT;
		goto out;
	}
	err = bootparams_build(bp, &bc);
	if (err < 0)
		pt_err("cannot build boot_params: %s", strerror(-err));
	if (err < 0)
		goto out;
	vm->boot_params = BOOT_PARAMS_ADDR;
	vm->entry_64bit = true;
out:
	return err;
}
