#include <cpuid.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "petrel/emul_assist.h"
#include "petrel/emul_internal.h"
#include "petrel/kvm.h"
#include "petrel/vcpu_mem.h"
#include "petrel/vm.h"

#define RFLAGS_OF (1ULL << 11)
#define MAX_INSN 15 /* the architectural limit */

#define RFLAGS_AC (1ULL << 18)
#define CR0_MP (1ULL << 1)
#define CR0_TS (1ULL << 3)
#define CR0_NE (1ULL << 5)
#define FSW_ES (1u << 7) /* x87 error summary: an unmasked exception is pending */
#define VEC_NM 7
#define VEC_MF 16

_Static_assert(ASSIST_NR <= VCPU_ASSIST_KINDS, "struct vcpu counts every kind");

static const char *const assist_names[ASSIST_NR] = {
	"int3", "int", "into", "int1", "clac", "stac", "fwait", "ldmxcsr", "stmxcsr",
};

const char *assist_name(enum assist_kind k)
{
	return k < ASSIST_NR ? assist_names[k] : "?";
}

static int is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x66: case 0x67: case 0xf2: case 0xf3:
	case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
		return 1;
	default:
		return 0;
	}
}

static int decode_simple(const uint8_t *insn, size_t n, int mode,
			 struct assist_insn *out)
{
	size_t i = 0;

	n = n < MAX_INSN ? n : MAX_INSN;
	/* CLAC/STAC take no prefixes ("NP"): with one they are not CLAC/STAC */
	if (n >= 3 && insn[0] == 0x0f && insn[1] == 0x01 &&
	    (insn[2] == 0xca || insn[2] == 0xcb)) {
		*out = (struct assist_insn){ .kind = insn[2] == 0xca ? ASSIST_CLAC : ASSIST_STAC, .vector = 0, .len = 3 };
		return 0;
	}
	while (i < n && is_legacy_prefix(insn[i]))
		i++;
	/* a REX prefix only exists in 64-bit mode and must come last */
	if (mode == 64 && i < n && (insn[i] & 0xf0) == 0x40)
		i++;
	if (i >= n)
		return n == MAX_INSN ? -ENOENT : -ENODATA;
	switch (insn[i]) {
	case 0xcc:
		*out = (struct assist_insn){ .kind = ASSIST_INT3, .vector = 3, .len = (unsigned)i + 1 };
		return 0;
	case 0xf1:
		*out = (struct assist_insn){ .kind = ASSIST_INT1, .vector = 1, .len = (unsigned)i + 1 };
		return 0;
	case 0xce:
		if (mode == 64)
			return -ENOENT; /* INTO is #UD in 64-bit mode */
		*out = (struct assist_insn){ .kind = ASSIST_INTO, .vector = 4, .len = (unsigned)i + 1 };
		return 0;
	case 0x9b:
		*out = (struct assist_insn){ .kind = ASSIST_FWAIT, .vector = 0, .len = (unsigned)i + 1 };
		return 0;
	case 0xcd:
		if (i + 1 >= n)
			return n == MAX_INSN ? -ENOENT : -ENODATA;
		*out = (struct assist_insn){ .kind = ASSIST_INTN, .vector = insn[i + 1], .len = (unsigned)i + 2 };
		return 0;
	default:
		return -ENOENT; /* includes LOCK (F0): #UD with these opcodes */
	}
}

int assist_decode(const uint8_t *insn, size_t n, int mode,
		  struct assist_insn *out)
{
	int r = decode_simple(insn, n, mode, out);

	if (r != -ENOENT)
		return r;
	r = mxcsr_decode(insn, n < MAX_INSN ? n : MAX_INSN, mode, out);
	return r == -ENODATA && n >= MAX_INSN ? -ENOENT : r;
}

int assist_fault(struct kvm_vcpu_events *ev, uint8_t vector, bool error_code)
{
	ev->exception.injected = 1;
	ev->exception.nr = vector;
	ev->exception.has_error_code = error_code;
	ev->exception.error_code = 0;
	return 2;
}

/* CLAC/STAC #UD on a CPU without SMAP; the assist does what the host CPU does. */
static bool host_has_smap(void)
{
	unsigned a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 20 & 1);
}

int emul_assist(struct vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	uint8_t insn[MAX_INSN];
	struct assist_insn si;
	uint64_t rip_mask = ~0ULL;
	int mode, n, err;

	if ((err = kvm_ioctl(v->fd, KVM_GET_REGS, &regs)) < 0 ||
	    (err = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs)) < 0 ||
	    (err = kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev)) < 0)
		return err;
	/*
	 * Only at CPL0: there the gate's DPL cannot refuse the software
	 * interrupt, so delivering it like an event is architecturally exact.
	 * Also refuse while another event is already in flight.
	 */
	if ((sregs.cs.selector & 3) || sregs.cs.dpl != 0 || ev.exception.injected ||
	    ev.exception.pending || ev.interrupt.injected || ev.nmi.injected)
		return 0;
	if (sregs.cs.l)
		mode = 64;
	else if (sregs.cs.db)
		mode = 32, rip_mask = 0xffffffffULL;
	else
		mode = 16, rip_mask = 0xffffULL;

	n = vcpu_read_virt(v, sregs.cs.base + (regs.rip & rip_mask), insn, sizeof(insn));
	if (assist_decode(insn, (size_t)n, mode, &si) < 0)
		return 0;

	/*
	 * The handler must return to the instruction after, as hardware does.
	 * The events written back are only the one this instruction raises
	 * (flags 0: KVM leaves pending NMIs, SIPIs, SMM and the interrupt
	 * shadow alone) and the NMI masking, which KVM always applies.
	 * Writing back everything KVM_GET_VCPU_EVENTS reported instead
	 * derailed the Linux guest after its int3 self-test on our machines.
	 */
	regs.rip = (regs.rip + si.len) & rip_mask;
	{
		uint8_t nmi_masked = ev.nmi.masked;
		memset(&ev, 0, sizeof(ev));
		ev.nmi.masked = nmi_masked;
	}
	switch (si.kind) {
	case ASSIST_INTO:
		if (!(regs.rflags & RFLAGS_OF))
			break; /* no overflow: INTO does nothing */
		/* fall through */
	case ASSIST_INT3:
	case ASSIST_INT1:
		ev.exception.injected = 1;
		ev.exception.nr = si.vector;
		break;
	case ASSIST_CLAC:
	case ASSIST_STAC:
		if (!host_has_smap())
			return 0;
		if (si.kind == ASSIST_CLAC)
			regs.rflags &= ~RFLAGS_AC;
		else
			regs.rflags |= RFLAGS_AC;
		break;
	case ASSIST_FWAIT: {
		struct kvm_fpu fpu;
		if ((sregs.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
			regs.rip -= si.len; /* a fault: RIP stays on the FWAIT */
			assist_fault(&ev, VEC_NM, false);
			break;
		}
		if ((err = kvm_ioctl(v->fd, KVM_GET_FPU, &fpu)) < 0)
			return err;
		if (fpu.fsw & FSW_ES) {
			if (!(sregs.cr0 & CR0_NE))
				return 0; /* legacy FERR# signalling: not modelled */
			regs.rip -= si.len;
			assist_fault(&ev, VEC_MF, false);
		}
		break; /* nothing pending: FWAIT is a NOP */
	}
	case ASSIST_LDMXCSR:
	case ASSIST_STMXCSR: {
		struct kvm_regs at = regs; /* as at the instruction, for RIP-relative */
		int r;
		at.rip -= si.len;
		r = emul_mxcsr(v, &si, &at, &sregs, mode, &ev);
		if (r <= 0)
			return r;
		if (r == 2)
			regs.rip -= si.len; /* a fault: RIP stays on the instruction */
		break;
	}
	case ASSIST_INTN:
		/*
		 * KVM takes only vectors 0-31 as exceptions; at CPL0 an
		 * interrupt injection through the same IDT gate is equivalent
		 * (no error code, the pushed RIP is the next instruction).
		 */
		ev.interrupt.injected = 1;
		ev.interrupt.nr = si.vector;
		break;
	case ASSIST_NR:
		return 0;
	}
	if ((err = kvm_ioctl(v->fd, KVM_SET_REGS, &regs)) < 0)
		return err;
	if ((ev.exception.injected || ev.interrupt.injected) &&
	    (err = kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev)) < 0)
		return err;
	v->assists[si.kind]++;
	return 1;
}
