/*
 * Booting kernels. kernel_load() reads --kernel and picks the protocol:
 * Multiboot (a Multiboot header in the first 8 KiB) or Linux (a bzImage or
 * an ELF vmlinux). linux_boot_load() puts the Linux kernel, the initrd and
 * the command line into guest memory, writes the firmware tables (ACPI, MP)
 * and boot_params, and records the entry point in struct vm. Every failure
 * is explained on stderr, naming the file and the problem.
 */
#ifndef PETREL_LINUX_BOOT_H
#define PETREL_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct vm;

int kernel_load(struct vm *vm);
/* Reads --initrd (at most guest RAM), explaining any failure. 0 or -errno. */
int kernel_read_initrd(struct vm *vm, uint8_t **data, size_t *len);
int linux_boot_load(struct vm *vm, const uint8_t *img, size_t len);

#endif
