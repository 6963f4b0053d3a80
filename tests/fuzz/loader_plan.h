/*
 * boot_plan_build (src/boot/boot_plan_build.c) for fuzz_bzimage and
 * fuzz_multiboot, with --kernel and --initrd already in memory: the same
 * steps in the same order (RAM layout, the virtio-mmio count, the firmware
 * tables, Multiboot header search then the Multiboot or Linux loader, the
 * boot GDT and page tables, the final check), the kernel in a private
 * mapping the plan owns as read_file_map makes it (its pages can move into
 * guest RAM), the initrd likewise (zeros: its bytes are never parsed).
 * Two shortcuts, for speed: no file is read, and the firmware tables
 * (ACPI's AML is most of the time of a build, and depends only on the
 * vCPU count, --no-acpi and the virtio-mmio count, never on the image) are
 * built by firmware_plan once per combination into a template plan, whose
 * segments each plan then takes, as firmware_plan would add them.
 * Keep it in step with boot_plan_build.
 */
#ifndef LOADER_PLAN_H
#define LOADER_PLAN_H

#include "loader_input.h"
#include "petrel/boot_plan.h"
#include "petrel/boot_x86.h"
#include "petrel/firmware.h"
#include "petrel/layout.h"
#include "petrel/linux_boot.h"
#include "petrel/multiboot.h"

struct fw_template {
	bool built;
	int err;
	struct boot_plan p;
};

/* [ncpus index][no_acpi][nr_virtio_mmio]; kept for the process's life */
static struct fw_template loader_fw[8][2][VIRTIO_MMIO_SLOTS + 1];

static int loader_firmware(struct boot_plan *p, unsigned ncpus_idx,
			   bool no_acpi, unsigned nr_mmio)
{
	struct fw_template *t = &loader_fw[ncpus_idx][no_acpi][nr_mmio];
	int err;

	if (!t->built) {
		CHECK(boot_plan_init(&t->p, 4096) == 0);
		t->err = firmware_plan(&t->p, loader_ncpus[ncpus_idx], no_acpi, nr_mmio);
		t->built = true;
	}
	if (t->err < 0)
		return t->err;
	p->acpi_rsdp = t->p.acpi_rsdp;
	for (unsigned i = 0; i < t->p.nr_segs; i++)
		if ((err = boot_plan_add(p, &t->p.segs[i])) < 0)
			return err;
	return 0;
}

/* A page-aligned private copy the plan owns, as read_file_map gives. */
static int loader_own_copy(struct boot_plan *p, const uint8_t *data,
			   size_t len, uint8_t **out)
{
	size_t size = len ? len : 1;
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -ENOMEM;
	if (data)
		memcpy(m, data, len);
	*out = m;
	return boot_plan_own_map(p, m, size);
}

static int loader_plan_build(struct boot_plan *p, const struct boot_config *cfg,
			     const struct loader_input *in, unsigned ncpus_idx)
{
	struct multiboot_header_info mh;
	const char *why = "";
	uint8_t *img, *initrd = NULL;
	size_t initrd_len = 0;
	int err;

	if ((err = boot_plan_init(p, cfg->mem_size)) < 0)
		return err;
	if (cfg->nr_virtio_mmio > VIRTIO_MMIO_SLOTS)
		return -ENOSPC;
	if ((err = loader_own_copy(p, in->img, in->img_len, &img)) < 0)
		return err;
	if (cfg->initrd) {
		/* read_initrd: no larger than RAM */
		if (in->initrd_len > cfg->mem_size)
			return -EFBIG;
		if ((err = loader_own_copy(p, NULL, in->initrd_len, &initrd)) < 0)
			return err;
		initrd_len = in->initrd_len;
	}
	if ((err = loader_firmware(p, ncpus_idx, cfg->no_acpi,
				   cfg->nr_virtio_mmio)) < 0)
		return err;
	err = multiboot_find(img, in->img_len, &mh, &why);
	if (err == 0) {
		const struct multiboot_load ml = {
			.kernel_path = cfg->kernel,
			.cmdline = cfg->cmdline,
			.module = initrd,
			.module_len = initrd_len,
		};
		why = NULL;
		err = multiboot_plan(p, img, in->img_len, &ml, &why);
		CHECK(err == 0 || why);
	} else if (err == -ENOENT) {
		err = linux_boot_plan(p, cfg, img, in->img_len, initrd, initrd_len);
	}
	if (err < 0)
		return err;
	if ((err = boot_x86_plan(p)) < 0)
		return err;
	return boot_plan_check(p, cfg->kernel);
}

/*
 * The machine an input chose (loader_input.h) as the command line would
 * give it, with a command line of cmdline_len bytes in cmdline (which
 * must hold one more), planned as boot_plan_build would.
 */
static int loader_plan_input(struct boot_plan *p, struct boot_config *cfg,
			     const struct loader_input *in, char *cmdline,
			     unsigned ncpus_idx)
{
	memset(cmdline, 'a', in->cmdline_len);
	cmdline[in->cmdline_len] = '\0';
	*cfg = (struct boot_config){
		.kernel = "vmlinuz",
		.initrd = in->initrd ? "initrd.img" : NULL,
		.cmdline = cmdline,
		.mem_size = in->mem_size,
		.ncpus = in->ncpus,
		.no_acpi = in->no_acpi,
		.guest_decompress = in->guest_decompress,
		.nr_virtio_mmio = in->nr_virtio_mmio,
	};
	return loader_plan_build(p, cfg, in, ncpus_idx);
}

#endif
