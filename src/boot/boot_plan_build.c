/*
 * boot_plan_build: the top of boot/. Reads --kernel and --initrd, picks the
 * protocol (Multiboot: a header in the first 8 KiB; else Linux: a bzImage
 * or an ELF vmlinux) and has each part of the plan made by the module that
 * knows it (see boot_plan.h). It calls the loaders; none calls back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/boot_plan.h"
#include "petrel/boot_x86.h"
#include "petrel/firmware.h"
#include "petrel/layout.h"
#include "petrel/linux_boot.h"
#include "petrel/multiboot.h"
#include "petrel/util.h"

#define KERNEL_MAX_FILE (1024 * MiB)

/*
 * Reads a file into a mapping the plan owns: where a segment is a page-
 * aligned part of it (an initrd, an ELF's segments), its pages move into
 * guest RAM instead of being copied again.
 */
static int read_owned(struct boot_plan *p, const char *path, uint8_t **data,
		      size_t *len, size_t max)
{
	int err = read_file_map(path, data, len, max);

	if (err < 0)
		return err;
	return boot_plan_own_map(p, *data, *len ? *len : 1);
}

static int read_initrd(struct boot_plan *p, const struct boot_config *cfg,
		       uint8_t **data, size_t *len)
{
	int err;

	*data = NULL;
	*len = 0;
	if (!cfg->initrd)
		return 0;
	err = read_owned(p, cfg->initrd, data, len, cfg->mem_size);
	if (err == -EFBIG)
		pt_err("--initrd %s: larger than guest RAM (%llu MiB)", cfg->initrd,
		       (unsigned long long)(cfg->mem_size >> 20));
	else if (err < 0)
		pt_err("--initrd %s: %s", cfg->initrd, strerror(-err));
	else if (*len == 0) {
		pt_err("--initrd %s: empty file", cfg->initrd);
		err = -EINVAL;
	}
	return err;
}

static int plan_multiboot(struct boot_plan *p, const struct boot_config *cfg,
			  const uint8_t *img, size_t len, const uint8_t *initrd,
			  size_t initrd_len)
{
	const struct multiboot_load ml = {
		.kernel_path = cfg->kernel,
		.cmdline = cfg->cmdline,
		.module = initrd,
		.module_len = initrd_len,
	};
	const char *why = NULL;
	int err = multiboot_plan(p, img, len, &ml, &why);

	if (err < 0)
		pt_err("--kernel %s: %s", cfg->kernel, why ? why : strerror(-err));
	return err;
}

int boot_plan_build(struct boot_plan *p, const struct boot_config *cfg)
{
	struct multiboot_header_info mh;
	const char *why = "";
	uint8_t *img, *initrd;
	size_t len, initrd_len;
	int err;

	if ((err = boot_plan_init(p, cfg->mem_size)) < 0) {
		pt_err("--mem: %llu bytes is not a guest RAM size petrel can lay out",
		       (unsigned long long)cfg->mem_size);
		return err;
	}
	if (cfg->nr_virtio_mmio > VIRTIO_MMIO_SLOTS) {
		pt_err("%u virtio-mmio devices: at most %u fit", cfg->nr_virtio_mmio,
		       VIRTIO_MMIO_SLOTS);
		return -ENOSPC;
	}
	err = read_owned(p, cfg->kernel, &img, &len, KERNEL_MAX_FILE);
	if (err < 0) {
		pt_err("--kernel %s: %s", cfg->kernel,
		       err == -EFBIG ? "larger than 1 GiB: not a kernel" : strerror(-err));
		return err;
	}
	if ((err = read_initrd(p, cfg, &initrd, &initrd_len)) < 0)
		return err;
	/* an OS booted by Multiboot may still look for ACPI and MP tables */
	if ((err = firmware_plan(p, cfg->ncpus, cfg->no_acpi,
				 cfg->nr_virtio_mmio)) < 0)
		return err;

	err = multiboot_find(img, len, &mh, &why);
	if (err == 0)
		err = plan_multiboot(p, cfg, img, len, initrd, initrd_len);
	else if (err == -ENOENT)
		err = linux_boot_plan(p, cfg, img, len, initrd, initrd_len);
	else
		pt_err("--kernel %s: %s", cfg->kernel, why);
	if (err < 0)
		return err;
	if ((err = boot_x86_plan(p)) < 0)
		return err;
	return boot_plan_check(p, cfg->kernel);
}
