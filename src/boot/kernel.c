#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/firmware.h"
#include "petrel/linux_boot.h"
#include "petrel/multiboot.h"
#include "petrel/util.h"
#include "petrel/vm.h"

#define KERNEL_MAX_FILE (1024 * MiB)

int kernel_read_initrd(struct vm *vm, uint8_t **data, size_t *len)
{
	const char *path = vm->cfg->initrd;
	int err = read_file(path, data, len, vm->mem.ram_size);

	if (err == -EFBIG)
		pt_err("--initrd %s: larger than guest RAM (%llu MiB)", path,
		       (unsigned long long)(vm->mem.ram_size >> 20));
	else if (err < 0)
		pt_err("--initrd %s: %s", path, strerror(-err));
	return err;
}

static int boot_multiboot(struct vm *vm, const uint8_t *img, size_t len)
{
	const struct vm_config *cfg = vm->cfg;
	struct multiboot_load ml = { .cmdline = cfg->cmdline };
	uint8_t *initrd = NULL;
	size_t initrd_len = 0;
	const char *why = "";
	gpa_t rsdp;
	int err;

	if (cfg->initrd) {
		if ((err = kernel_read_initrd(vm, &initrd, &initrd_len)) < 0)
			return err;
		ml.module = initrd;
		ml.module_len = initrd_len;
	}
	err = multiboot_load(&vm->mem, img, len, &ml, &why);
	free(initrd);
	if (err < 0) {
		pt_err("--kernel %s: %s", cfg->kernel, why);
		return err;
	}
	/* an OS booted by Multiboot may still look for ACPI and MP tables */
	if ((err = firmware_tables_write(vm, &rsdp)) < 0)
		return err;
	vm->entry = ml.entry;
	vm->entry_64bit = false;
	vm->entry_eax = MULTIBOOT_BOOTLOADER_MAGIC;
	vm->entry_ebx = ml.info_addr;
	return 0;
}

int kernel_load(struct vm *vm)
{
	struct multiboot_header_info mh;
	const char *why = "";
	uint8_t *img;
	size_t len;
	int err;

	err = read_file(vm->cfg->kernel, &img, &len, KERNEL_MAX_FILE);
	if (err < 0) {
		pt_err("--kernel %s: %s", vm->cfg->kernel,
		       err == -EFBIG ? "larger than 1 GiB: not a kernel" : strerror(-err));
		return err;
	}
	err = multiboot_find(img, len, &mh, &why);
	if (err == 0)
		err = boot_multiboot(vm, img, len);
	else if (err == -ENOENT)
		err = linux_boot_load(vm, img, len);
	else
		pt_err("--kernel %s: %s", vm->cfg->kernel, why);
	free(img);
	return err;
}
