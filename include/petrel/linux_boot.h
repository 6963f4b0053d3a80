/*
 * Loads the kernel named by --kernel (bzImage or ELF vmlinux), the initrd
 * and the command line into guest memory, writes the firmware tables
 * (ACPI, MP) and boot_params, and records the entry point in struct vm.
 * Every failure is explained on stderr, naming the file and the problem.
 */
#ifndef PETREL_LINUX_BOOT_H
#define PETREL_LINUX_BOOT_H

struct vm;

int linux_boot_load(struct vm *vm);

#endif
