/*
 * Emulation assist, for nested KVM hosts whose KVM is backed by its
 * instruction emulator (see README, "Our build machines"). There KVM gives
 * up on some instructions a guest kernel runs at CPL0 and exits with
 * KVM_EXIT_INTERNAL_ERROR (emulation failure). The first a Linux kernel
 * meets is the int3 of its own self-test. For software exceptions and
 * interrupts the architectural effect is simple and petrel can deliver it
 * faithfully: advance RIP past the instruction and inject the vector with
 * KVM_SET_VCPU_EVENTS, so the guest's own handler runs. The same holds for
 * CLAC and STAC (SMAP's "clear/set RFLAGS.AC"), which the emulator lacks
 * too and which the kernel's entry code runs before it can patch them out:
 * under VMX/SVM the CPU runs them natively, so petrel does what the host
 * CPU would, and only when the host CPU has SMAP. And for FWAIT, whose
 * whole effect is a check of CR0 and the x87 status word.
 *
 * Off by default (--emulation-assist). Real hosts with VMX/SVM never take
 * this path. Anything the assist cannot deliver faithfully still stops the
 * VM with the register dump.
 */
#ifndef PETREL_EMUL_ASSIST_H
#define PETREL_EMUL_ASSIST_H

#include <stddef.h>
#include <stdint.h>

enum swint_kind {
	SWINT_INT3,  /* CC: #BP, vector 3 */
	SWINT_INTN,  /* CD ib: software interrupt, vector ib */
	SWINT_INTO,  /* CE: #OF (vector 4) if RFLAGS.OF, else nothing */
	SWINT_INT1,  /* F1: ICEBP, #DB (vector 1) */
	SWINT_CLAC,  /* 0F 01 CA: RFLAGS.AC = 0 */
	SWINT_STAC,  /* 0F 01 CB: RFLAGS.AC = 1 */
	SWINT_FWAIT, /* 9B: #NM if CR0.MP and CR0.TS, #MF if an x87 error is pending */
	SWINT_NR,
};

struct swint {
	enum swint_kind kind;
	uint8_t vector;
	unsigned len; /* bytes, prefixes included */
};

/*
 * Decodes an instruction the assist handles from the bytes at RIP.
 * mode is 16, 32 or 64 (the code segment's size). 0 on success; -ENOENT
 * if the bytes are something else (or invalid in that mode, like INTO in
 * 64-bit mode or a LOCK prefix), -ENODATA if they are cut short.
 */
int swint_decode(const uint8_t *insn, size_t n, int mode, struct swint *out);

const char *swint_name(enum swint_kind k);

struct vcpu;

/*
 * Tries to resolve an emulation failure on v. Returns 1 if the guest can
 * be resumed, 0 if the instruction is not one the assist handles (the
 * caller stops the VM), -errno on an ioctl failure.
 */
int emul_assist(struct vcpu *v);

#endif
