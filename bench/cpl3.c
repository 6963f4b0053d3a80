#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpl3.h"

#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD 0x3000ULL /* four pages */
#define IDT 0x7000ULL
#define IDT_VECTORS 32  /* the exceptions; IF stays 0, so no interrupt comes */
#define GDT 0x8000ULL
#define TSS 0x9000ULL
#define TSS_IOMAP 0x68ULL   /* the I/O permission bitmap follows the TSS */
#define TSS_LIMIT (TSS_IOMAP + 8192) /* 65536 ports + the closing 0xff byte */
#define STUBS 0xc000ULL
#define STUB_SIZE 16
#define CODE 0x10000ULL
#define KSTACK_TOP 0x1f800ULL /* TSS.RSP0: where an exception from CPL3 lands */
#define STACK_TOP 0x1fff0ULL

#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_US 4ULL
#define PTE_PWT 8ULL
#define PTE_PCD 0x10ULL
#define PTE_PS (1ULL << 7)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define RFLAGS_FIXED 0x2ULL
#define RFLAGS_IOPL3 (3ULL << 12)

/* GDT selectors; user selectors carry RPL 3. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA (0x18 | 3)
#define SEL_UCODE (0x20 | 3)
#define SEL_TSS 0x28
#define GDT_ENTRIES 7 /* null, 4 segments, the 16-byte TSS descriptor */

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
	uint64_t *idt = (uint64_t *)(ram + IDT);
	size_t stubs_len = (size_t)(bench_guest_fault_stubs_end - bench_guest_fault_stubs);
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ram_size < CPL3_MIN_RAM || code_len > KSTACK_TOP - 0x1000 - CODE ||
	    stubs_len < IDT_VECTORS * STUB_SIZE || stubs_len > CODE - STUBS)
		return -EINVAL;
	memset(ram, 0, 0x20000);
	/* U/S on every level: the CPL3 code must reach both RAM and MMIO */
	pml4[0] = PDPT | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (PD + i * 4096) | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS |
			/* 3-4 GiB holds only devices: uncached, as MMIO wants */
			(i >= 3 * 512 ? PTE_PCD | PTE_PWT : 0);

	gdt[1] = 0x00af9b000000ffffULL; /* kernel code, L=1 */
	gdt[2] = 0x00cf93000000ffffULL; /* kernel data */
	gdt[3] = 0x00cff3000000ffffULL; /* user data, DPL3 */
	gdt[4] = 0x00affb000000ffffULL; /* user code, L=1, DPL3 */
	/* 64-bit TSS descriptor (busy, type 11), 16 bytes */
	gdt[5] = (TSS_LIMIT & 0xffff) | (TSS & 0xffffff) << 16 | 0x8bULL << 40 |
		 (TSS_LIMIT >> 16 & 0xf) << 48 | (TSS >> 24 & 0xff) << 56;
	gdt[6] = TSS >> 32;
	memcpy(ram + TSS + 4, &(uint64_t){ KSTACK_TOP }, 8); /* RSP0 */
	/*
	 * `out` at CPL3 is allowed two ways at once, because the KVMs we run on
	 * honour different ones. RFLAGS.IOPL = 3 (below) is what KVM with
	 * hardware virtualization honours; there the TSS bitmap is not even
	 * read. It has to be IOPL: the nested VM's CPU is QEMU's TCG, whose
	 * bitmap check (check_io) accepts only a TR of type 9, while a loaded
	 * TR is architecturally busy (11; VMX refuses anything else), so with
	 * IOPL 0 the first `out` took #GP, and with no IDT that was a triple
	 * fault. Our build machines' software KVM runs CPL3 with IOPL 0
	 * whatever RFLAGS says, and honours the all-zero bitmap instead.
	 */
	memcpy(ram + TSS + 0x66, &(uint16_t){ TSS_IOMAP }, 2);
	ram[TSS + TSS_LIMIT] = 0xff;

	/* 64-bit interrupt gates (type 14, DPL 0) to the CPL0 handlers */
	memcpy(ram + STUBS, bench_guest_fault_stubs, stubs_len);
	for (uint64_t v = 0; v < IDT_VECTORS; v++) {
		uint64_t off = STUBS + v * STUB_SIZE;
		idt[2 * v] = (off & 0xffff) | (uint64_t)SEL_KCODE << 16 | 0x8eULL << 40 |
			     (off >> 16 & 0xffff) << 48;
		idt[2 * v + 1] = off >> 32;
	}
	memcpy(ram + CODE, code, code_len);

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.gdt = (struct kvm_dtable){ .base = GDT, .limit = GDT_ENTRIES * 8 - 1 };
	s.idt = (struct kvm_dtable){ .base = IDT, .limit = IDT_VECTORS * 16 - 1 };
	s.cs = seg(SEL_UCODE, 11, 3, 1);
	s.ds = s.es = s.fs = s.gs = s.ss = seg(SEL_UDATA, 3, 3, 0);
	s.tr = (struct kvm_segment){ .base = TSS, .limit = TSS_LIMIT, .selector = SEL_TSS,
				     .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	s.cr3 = PML4;
	s.cr4 = CR4_PAE;
	s.cr0 = CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	memset(&r, 0, sizeof(r));
	r.rip = CODE;
	r.rsp = STACK_TOP;
	r.rflags = RFLAGS_FIXED | RFLAGS_IOPL3; /* IF=0: no interrupt can disturb the loop */
	r.rax = a->rax;
	r.rbx = a->rbx;
	r.rcx = a->rcx;
	r.rdx = a->rdx;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

void cpl3_fault_describe(const uint8_t *ram, uint32_t vector, char *buf, size_t len)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "#9", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
		"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
	};
	/* the vectors for which the CPU pushes an error code */
	const uint32_t with_error = 1u << 8 | 1u << 10 | 1u << 11 | 1u << 12 |
				    1u << 13 | 1u << 14 | 1u << 17 | 1u << 21 |
				    1u << 29 | 1u << 30;
	/* from CPL3 the CPU switched to RSP0 and pushed ss, rsp, rflags, cs, rip */
	uint64_t f[6];
	int err = vector < 32 && (with_error >> vector & 1);

	if (vector >= 32) {
		snprintf(buf, len, "vector %u", vector);
		return;
	}
	memcpy(f, ram + KSTACK_TOP - (5 + err) * 8, (5 + err) * 8);
	if (err)
		snprintf(buf, len, "%s(0x%llx) at rip 0x%llx (cs 0x%llx rflags 0x%llx rsp 0x%llx)",
			 names[vector], (unsigned long long)f[0], (unsigned long long)f[1],
			 (unsigned long long)f[2], (unsigned long long)f[3],
			 (unsigned long long)f[4]);
	else
		snprintf(buf, len, "%s at rip 0x%llx (cs 0x%llx rflags 0x%llx rsp 0x%llx)",
			 names[vector], (unsigned long long)f[0], (unsigned long long)f[1],
			 (unsigned long long)f[2], (unsigned long long)f[3]);
}
