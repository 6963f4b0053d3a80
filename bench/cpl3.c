#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpl3.h"

#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD 0x3000ULL /* four pages */
#define GDT 0x8000ULL
#define TSS 0x9000ULL
#define TSS_IOMAP 0x68ULL   /* the I/O permission bitmap follows the TSS */
#define TSS_LIMIT (TSS_IOMAP + 8192) /* 65536 ports + the closing 0xff byte */
#define CODE 0x10000ULL
#define STACK_TOP 0x1fff0ULL

#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_US 4ULL
#define PTE_PS (1ULL << 7)

/* GDT selectors; user selectors carry RPL 3. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA (0x18 | 3)
#define SEL_UCODE (0x20 | 3)
#define SEL_TSS 0x28

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, int code64)
{
	return (struct kvm_segment){
		.limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = dpl, .db = !code64, .s = 1, .l = (uint8_t)code64, .g = 1,
	};
}

int cpl3_setup(int vcpu_fd, uint8_t *ram, size_t ram_size, const void *code,
	       size_t code_len, const struct cpl3_args *a)
{
	uint64_t *pml4 = (uint64_t *)(ram + PML4), *pdpt = (uint64_t *)(ram + PDPT);
	uint64_t *pd = (uint64_t *)(ram + PD), *gdt = (uint64_t *)(ram + GDT);
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ram_size < CPL3_MIN_RAM || code_len > STACK_TOP - 0x1000 - CODE)
		return -EINVAL;
	memset(ram, 0, 0x20000);
	/* U/S on every level: the CPL3 code must reach both RAM and MMIO */
	pml4[0] = PDPT | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (PD + i * 4096) | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;

	gdt[1] = 0x00af9b000000ffffULL; /* kernel code, L=1 */
	gdt[2] = 0x00cf93000000ffffULL; /* kernel data */
	gdt[3] = 0x00cff3000000ffffULL; /* user data, DPL3 */
	gdt[4] = 0x00affb000000ffffULL; /* user code, L=1, DPL3 */
	/* 64-bit TSS descriptor (busy, type 11), 16 bytes */
	gdt[5] = (TSS_LIMIT & 0xffff) | (TSS & 0xffffff) << 16 | 0x8bULL << 40 |
		 (TSS_LIMIT >> 16 & 0xf) << 48 | (TSS >> 24 & 0xff) << 56;
	gdt[6] = TSS >> 32;
	/* rsp0 in the TSS: where a CPL3->CPL0 fault would land (none expected) */
	memcpy(ram + TSS + 4, &(uint64_t){ STACK_TOP - 0x800 }, 8);
	/*
	 * KVM here keeps RFLAGS.IOPL at 0 for CPL3, so `out` is allowed the
	 * architectural other way: an all-zero I/O permission bitmap.
	 */
	memcpy(ram + TSS + 0x66, &(uint16_t){ TSS_IOMAP }, 2);
	ram[TSS + TSS_LIMIT] = 0xff;
	memcpy(ram + CODE, code, code_len);

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.gdt = (struct kvm_dtable){ .base = GDT, .limit = 7 * 8 - 1 };
	s.idt = (struct kvm_dtable){ .base = 0, .limit = 0 };
	s.cs = seg(SEL_UCODE, 11, 3, 1);
	s.ds = s.es = s.fs = s.gs = s.ss = seg(SEL_UDATA, 3, 3, 0);
	s.tr = (struct kvm_segment){ .base = TSS, .limit = TSS_LIMIT, .selector = SEL_TSS,
				     .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
	s.cr3 = PML4;
	s.cr4 = 1ULL << 5;                       /* PAE */
	s.cr0 = 0x80050033ULL;                   /* PG WP NE ET MP PE */
	s.efer = (1ULL << 8) | (1ULL << 10);     /* LME LMA */
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	memset(&r, 0, sizeof(r));
	r.rip = CODE;
	r.rsp = STACK_TOP;
	r.rflags = 0x2; /* IF=0: no interrupt can disturb the loop */
	r.rax = a->rax;
	r.rbx = a->rbx;
	r.rcx = a->rcx;
	r.rdx = a->rdx;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}
