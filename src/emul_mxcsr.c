/*
 * LDMXCSR and STMXCSR for the emulation assist (see emul_assist.h): the
 * decoding of their memory operand, and their execution with the checks the
 * architecture makes, in its order: #UD (CR0.EM, or CR4.OSFXSR clear),
 * #NM (CR0.TS), then the access, then #GP(0) for reserved MXCSR bits.
 */
#include <errno.h>
#include <string.h>

#include "petrel/emul_assist.h"
#include "petrel/emul_internal.h"
#include "petrel/kvm.h"
#include "petrel/vcpu_mem.h"
#include "petrel/vm.h"

#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR4_OSFXSR (1ULL << 9)
#define VEC_UD 6
#define VEC_NM 7
#define VEC_GP 13

/*
 * Decodes ModRM (+SIB, +displacement) at insn[i]; rex is the REX byte or 0.
 * Returns the index after the operand, or -ENOENT for a register operand.
 */
static int decode_modrm(const uint8_t *insn, size_t n, size_t i, int mode,
			uint8_t rex, struct assist_mem *m, uint8_t *reg)
{
	uint8_t modrm, mod, rm;
	bool a32 = m->addr32 || mode == 32;

	if (mode == 16)
		return -ENOENT; /* 16-bit addressing forms: not needed, not handled */
	if (i >= n)
		return -ENODATA;
	modrm = insn[i++];
	mod = modrm >> 6;
	*reg = modrm >> 3 & 7;
	rm = modrm & 7;
	if (mod == 3)
		return -ENOENT;
	m->base = rm | (rex & 1) << 3;
	m->index = -1;
	m->scale = 1;
	if (rm == 4) { /* SIB follows */
		uint8_t sib, idx, base;
		if (i >= n)
			return -ENODATA;
		sib = insn[i++];
		m->scale = 1u << (sib >> 6);
		idx = (sib >> 3 & 7) | (rex >> 1 & 1) << 3;
		m->index = idx == 4 ? -1 : idx; /* 100 without REX.X: no index */
		base = sib & 7;
		m->base = base | (rex & 1) << 3;
		if (base == 5 && mod == 0) {
			m->base = -1; /* disp32, no base */
			mod = 2;
		}
	} else if (rm == 5 && mod == 0) {
		m->base = -1;
		m->rip_rel = mode == 64;
		mod = 2;
	}
	if (mod == 1) {
		if (i >= n)
			return -ENODATA;
		m->disp = (int8_t)insn[i++];
	} else if (mod == 2) {
		int32_t d;
		if (i + 4 > n)
			return -ENODATA;
		memcpy(&d, insn + i, 4);
		m->disp = d;
		i += 4;
	}
	m->addr32 = a32;
	return (int)i;
}

int mxcsr_decode(const uint8_t *insn, size_t n, int mode,
		 struct assist_insn *out)
{
	struct assist_mem m = { .base = -1, .index = -1, .scale = 1 };
	uint8_t rex = 0, reg;
	size_t i = 0;
	int r;

	for (; i < n; i++) {
		uint8_t b = insn[i];
		if (b == 0x67)
			m.addr32 = mode == 64;
		else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e ||
			 b == 0x64 || b == 0x65)
			m.seg = b;
		else
			break; /* 66/F2/F3 make it another instruction: not ours */
	}
	if (mode == 64 && i < n && (insn[i] & 0xf0) == 0x40)
		rex = insn[i++];
	/* whatever bytes there are must be 0F AE for this to be ours */
	if ((i < n && insn[i] != 0x0f) || (i + 1 < n && insn[i + 1] != 0xae))
		return -ENOENT;
	if (i + 2 > n)
		return -ENODATA;
	r = decode_modrm(insn, n, i + 2, mode, rex, &m, &reg);
	if (r < 0)
		return r;
	if (reg != 2 && reg != 3)
		return -ENOENT; /* fxsave, fxrstor, xsave...: KVM's, or not ours */
	*out = (struct assist_insn){ .kind = reg == 2 ? ASSIST_LDMXCSR : ASSIST_STMXCSR,
				     .len = (unsigned)r, .mem = m };
	return 0;
}

static uint64_t reg_value(const struct kvm_regs *r, int n)
{
	const uint64_t v[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp,
				 r->rsi, r->rdi, r->r8, r->r9, r->r10, r->r11,
				 r->r12, r->r13, r->r14, r->r15 };
	return v[n & 15];
}

static const struct kvm_segment *segment(const struct kvm_sregs *s,
					 const struct assist_mem *m)
{
	switch (m->seg) {
	case 0x26: return &s->es;
	case 0x2e: return &s->cs;
	case 0x36: return &s->ss;
	case 0x3e: return &s->ds;
	case 0x64: return &s->fs;
	case 0x65: return &s->gs;
	}
	/* the default: SS for RSP/RBP-based addresses, else DS */
	return (m->base == 4 || m->base == 5) ? &s->ss : &s->ds;
}

uint64_t assist_linear(const struct assist_insn *in, const struct kvm_regs *r,
		       const struct kvm_sregs *s, int mode)
{
	const struct assist_mem *m = &in->mem;
	const struct kvm_segment *seg = segment(s, m);
	uint64_t ea = (uint64_t)m->disp, base = 0;

	if (m->rip_rel)
		ea += r->rip + in->len;
	if (m->base >= 0)
		ea += reg_value(r, m->base);
	if (m->index >= 0)
		ea += reg_value(r, m->index) * m->scale;
	if (m->addr32)
		ea &= 0xffffffffULL;
	/* in 64-bit mode only FS and GS have a base */
	if (mode != 64 || seg == &s->fs || seg == &s->gs)
		base = seg->base;
	ea += base;
	return mode == 64 ? ea : ea & 0xffffffffULL;
}

/* The MXCSR bits this CPU allows: the mask FXSAVE reports (0 means 0xffbf). */
static uint32_t host_mxcsr_mask(void)
{
	uint8_t area[512] __attribute__((aligned(16)));
	uint32_t mask;

	memset(area, 0, sizeof(area));
	__asm__ volatile("fxsave %0" : "=m"(area));
	memcpy(&mask, area + 28, 4);
	return mask ? mask : 0xffbf;
}

int emul_mxcsr(struct vcpu *v, const struct assist_insn *in,
	       struct kvm_regs *regs, const struct kvm_sregs *sregs, int mode,
	       struct kvm_vcpu_events *ev)
{
	uint64_t lin = assist_linear(in, regs, sregs, mode), gpa;
	struct kvm_fpu fpu;
	uint32_t val;
	int err;

	if ((sregs->cr0 & CR0_EM) || !(sregs->cr4 & CR4_OSFXSR))
		return assist_fault(ev, VEC_UD, false);
	if (sregs->cr0 & CR0_TS)
		return assist_fault(ev, VEC_NM, false);
	/* a 4-byte access that crosses a page is rare enough to leave to a stop */
	if ((lin & 4095) > 4092 || vcpu_translate(v, lin, &gpa) < 0)
		return 0;
	if ((err = kvm_ioctl(v->fd, KVM_GET_FPU, &fpu)) < 0)
		return err;
	if (in->kind == ASSIST_STMXCSR)
		return gpa_write(&v->vm->mem, gpa, &fpu.mxcsr, 4) < 0 ? 0 : 1;
	if (gpa_read(&v->vm->mem, gpa, &val, 4) < 0)
		return 0;
	if (val & ~host_mxcsr_mask())
		return assist_fault(ev, VEC_GP, true);
	fpu.mxcsr = val;
	if ((err = kvm_ioctl(v->fd, KVM_SET_FPU, &fpu)) < 0)
		return err;
	return 1;
}
