/*
 * The Linux x86 boot protocol as a boot plan: a bzImage (its payload
 * decompressed on the host and the vmlinux inside entered directly, or the
 * classic way, its own decompressor running in the guest) or an ELF
 * vmlinux; the initrd as high in low memory as the kernel allows; the
 * command line; boot_params with the e820 map and the RSDP; a 64-bit entry
 * with RSI = boot_params. Every failure is explained on stderr, naming the
 * file and the problem.
 */
#ifndef PETREL_LINUX_BOOT_H
#define PETREL_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct boot_plan;
struct boot_config;

/*
 * Adds the kernel (img, len: must live as long as the plan), the initrd
 * (NULL if none; likewise) and the rest to p, sets p->kind and p->entry.
 * Call after firmware_plan(): boot_params carries p->acpi_rsdp.
 * 0 or -errno.
 */
int linux_boot_plan(struct boot_plan *p, const struct boot_config *cfg,
		    const uint8_t *img, size_t len, const uint8_t *initrd,
		    size_t initrd_len);

#endif
