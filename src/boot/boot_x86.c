/*
 * The CPU state the BSP starts in. Linux's 64-bit boot protocol wants long
 * mode with paging on, an identity map covering the kernel, boot_params,
 * the command line and the initrd, __BOOT_CS (0x10) / __BOOT_DS (0x18)
 * flat segments, and RSI = boot_params. Multiboot wants flat 32-bit
 * protected mode, paging off, EAX = magic and EBX = the info structure.
 */
#include <errno.h>
#include <string.h>

#include "petrel/kvm.h"
#include "petrel/layout.h"
#include "petrel/util.h"
#include "petrel/vm.h"

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_PS (1ULL << 7)

/* GDT entries: null, null, 64-bit code (0x10), data (0x18), 32-bit code (0x20) */
static const uint64_t boot_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL, /* code: L=1, present, DPL0, execute/read, accessed */
	0x00cf93000000ffffULL, /* data: 4 GiB, present, read/write, accessed */
	0x00cf9b000000ffffULL, /* code: D=1 (32-bit), 4 GiB */
};
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_CODE32 0x20

int vm_setup_boot_pagetables(struct vm *vm)
{
	uint64_t *pml4 = gpa_ptr(&vm->mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = gpa_ptr(&vm->mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = gpa_ptr(&vm->mem, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	/* identity map of the first 4 GiB in 2 MiB pages */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return gpa_write(&vm->mem, BOOT_GDT_ADDR, boot_gdt, sizeof(boot_gdt));
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, bool code64,
				   bool big)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = big,
		.s = 1,
		.l = code64,
		.g = 1,
	};
}

int vcpu_setup_boot_regs(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_sregs s;
	struct kvm_regs r = { .rflags = 2 };
	struct kvm_segment data = flat_seg(SEL_DATA, 3, false, true);
	int err;

	if ((err = kvm_ioctl(v->fd, KVM_GET_SREGS, &s)) < 0)
		return err;
	s.gdt.base = BOOT_GDT_ADDR;
	s.gdt.limit = sizeof(boot_gdt) - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	if (vm->entry_64bit) {
		if ((err = vm_setup_boot_pagetables(vm)) < 0)
			return err;
		s.cs = flat_seg(SEL_CODE64, 11, true, false);
		s.cr3 = BOOT_PML4_ADDR;
		s.cr4 |= CR4_PAE;
		s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s.efer |= EFER_LME | EFER_LMA;
		r.rsi = vm->boot_params;
		r.rsp = BOOT_STACK_TOP;
	} else {
		if ((err = gpa_write(&vm->mem, BOOT_GDT_ADDR, boot_gdt,
				     sizeof(boot_gdt))) < 0)
			return err;
		s.cs = flat_seg(SEL_CODE32, 11, false, true);
		s.cr0 = (s.cr0 | CR0_PE | CR0_ET) & ~CR0_PG;
		s.cr4 = 0;
		s.efer = 0;
		r.rax = vm->entry_eax;
		r.rbx = vm->entry_ebx;
	}
	r.rip = vm->entry;
	if ((err = kvm_ioctl(v->fd, KVM_SET_SREGS, &s)) < 0)
		return err;
	return kvm_ioctl(v->fd, KVM_SET_REGS, &r);
}
