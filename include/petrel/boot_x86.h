/*
 * The x86 CPU state a boot plan's entry asks for. Linux's 64-bit boot
 * protocol wants long mode with paging on, an identity map covering the
 * kernel, boot_params, the command line and the initrd, __BOOT_CS (0x10) /
 * __BOOT_DS (0x18) flat segments, and RSI = boot_params. Multiboot wants
 * flat 32-bit protected mode, paging off, EAX = magic, EBX = the
 * information structure.
 *
 * Pure: the GDT and page tables become plan segments, the registers are
 * computed into KVM's structures; the machine (vm.c) does the ioctls.
 */
#ifndef PETREL_BOOT_X86_H
#define PETREL_BOOT_X86_H

#include <linux/kvm.h>

struct boot_plan;
struct boot_entry;

/* Selectors in petrel's boot GDT. */
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_CODE32 0x20

/*
 * Adds the boot GDT (at BOOT_GDT_ADDR) and, for BOOT_ENTRY_LINUX64, the
 * page tables (PML4 at BOOT_PML4_ADDR: an identity map of the first
 * 4 GiB in 2 MiB pages) for p->entry.mode. 0 or -ENOMEM.
 */
int boot_x86_plan(struct boot_plan *p);

/*
 * The BSP's registers for e: *s is what KVM_GET_SREGS returned (edited in
 * place: segments, GDT, IDT, CR0/3/4, EFER), *r is overwritten.
 */
void boot_x86_regs(const struct boot_entry *e, struct kvm_sregs *s,
		   struct kvm_regs *r);

#endif
