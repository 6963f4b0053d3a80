/* The boot GDT, page tables and BSP registers of boot_x86.h. */
#include <errno.h>
#include <string.h>

#include "petrel/boot_plan.h"
#include "petrel/boot_x86.h"
#include "petrel/layout.h"
#include "petrel/util.h"

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
_Static_assert(BOOT_SEL_CODE64 / 8 == 2 && BOOT_SEL_DATA / 8 == 3 &&
		       BOOT_SEL_CODE32 / 8 == 4,
	       "selectors index boot_gdt");

/* PML4, PDPT, then four page directories: contiguous in layout.h */
#define PT_BYTES (BOOT_PD_ADDR + 4 * 4096 - BOOT_PML4_ADDR)
_Static_assert(BOOT_PDPT_ADDR == BOOT_PML4_ADDR + 4096 &&
		       BOOT_PD_ADDR == BOOT_PDPT_ADDR + 4096,
	       "page tables are one block");

static int add_page_tables(struct boot_plan *p)
{
	uint64_t *pml4 = boot_plan_alloc(p, PT_BYTES);
	uint64_t *pdpt, *pd;

	if (!pml4)
		return -ENOMEM;
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	/* identity map of the first 4 GiB in 2 MiB pages */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the boot page tables", .gpa = BOOT_PML4_ADDR,
		.size = PT_BYTES, .data = (const uint8_t *)pml4, .len = PT_BYTES });
}

int boot_x86_plan(struct boot_plan *p)
{
	void *gdt = boot_plan_alloc(p, sizeof(boot_gdt));
	int err;

	if (!gdt)
		return -ENOMEM;
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	err = boot_plan_add(p, &(struct boot_segment){
		.name = "the boot GDT", .gpa = BOOT_GDT_ADDR,
		.size = sizeof(boot_gdt), .data = gdt, .len = sizeof(boot_gdt) });
	if (err == 0 && p->entry.mode == BOOT_ENTRY_LINUX64)
		err = add_page_tables(p);
	return err;
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

void boot_x86_regs(const struct boot_entry *e, struct kvm_sregs *s,
		   struct kvm_regs *r)
{
	struct kvm_segment data = flat_seg(BOOT_SEL_DATA, 3, false, true);

	*r = (struct kvm_regs){ .rflags = 2 };
	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = sizeof(boot_gdt) - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	if (e->mode == BOOT_ENTRY_LINUX64) {
		s->cs = flat_seg(BOOT_SEL_CODE64, 11, true, false);
		s->cr3 = BOOT_PML4_ADDR;
		s->cr4 |= CR4_PAE;
		s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s->efer |= EFER_LME | EFER_LMA;
		r->rsi = e->rsi;
		r->rsp = e->rsp;
	} else {
		s->cs = flat_seg(BOOT_SEL_CODE32, 11, false, true);
		s->cr0 = (s->cr0 | CR0_PE | CR0_ET) & ~CR0_PG;
		s->cr4 = 0;
		s->efer = 0;
		r->rax = e->eax;
		r->rbx = e->ebx;
	}
	r->rip = e->rip;
}
