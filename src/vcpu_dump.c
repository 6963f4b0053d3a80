/*
 * The register dump printed when a guest dies: enough to start debugging
 * without a debugger (RIP, RSP, control registers, EFER, segments,
 * descriptor tables and the instruction bytes at RIP).
 */
#include <stdio.h>
#include <string.h>

#include "petrel/kvm.h"
#include "petrel/util.h"
#include "petrel/vcpu_mem.h"
#include "petrel/vm.h"

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	pt_info("  %-3s sel=%04x base=%016llx limit=%08x type=%x s=%u dpl=%u p=%u "
		"l=%u db=%u g=%u%s", name, s->selector,
		(unsigned long long)s->base, s->limit, s->type, s->s, s->dpl,
		s->present, s->l, s->db, s->g, s->unusable ? " unusable" : "");
}

void vcpu_dump(struct vcpu *v, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t insn[16];
	char hex[3 * sizeof(insn) + 1] = "";
	int n;

	pt_info("vcpu%u stopped: %s", v->id, why);
	if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	pt_info("  RIP=%016llx RSP=%016llx RFLAGS=%016llx",
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags);
	pt_info("  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx",
		(unsigned long long)r.rax, (unsigned long long)r.rbx,
		(unsigned long long)r.rcx, (unsigned long long)r.rdx);
	pt_info("  RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx",
		(unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rbp, (unsigned long long)r.r8);
	pt_info("  R9 =%016llx R10=%016llx R11=%016llx R12=%016llx",
		(unsigned long long)r.r9, (unsigned long long)r.r10,
		(unsigned long long)r.r11, (unsigned long long)r.r12);
	pt_info("  R13=%016llx R14=%016llx R15=%016llx",
		(unsigned long long)r.r13, (unsigned long long)r.r14,
		(unsigned long long)r.r15);
	pt_info("  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx",
		(unsigned long long)s.cr0, (unsigned long long)s.cr2,
		(unsigned long long)s.cr3, (unsigned long long)s.cr4);
	pt_info("  CR8=%016llx EFER=%016llx APIC_BASE=%016llx",
		(unsigned long long)s.cr8, (unsigned long long)s.efer,
		(unsigned long long)s.apic_base);
	dump_seg("CS", &s.cs);
	dump_seg("SS", &s.ss);
	dump_seg("DS", &s.ds);
	dump_seg("ES", &s.es);
	dump_seg("FS", &s.fs);
	dump_seg("GS", &s.gs);
	dump_seg("TR", &s.tr);
	pt_info("  GDT base=%016llx limit=%04x  IDT base=%016llx limit=%04x",
		(unsigned long long)s.gdt.base, s.gdt.limit,
		(unsigned long long)s.idt.base, s.idt.limit);
	n = vcpu_read_virt(v, s.cs.base + r.rip, insn, sizeof(insn));
	if (n <= 0) {
		pt_info("  code at RIP: not readable (no mapping to guest RAM)");
		return;
	}
	for (int i = 0; i < n; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", insn[i]);
	pt_info("  code at RIP: %s", hex);
}
