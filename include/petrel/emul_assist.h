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
 * whole effect is a check of CR0 and the x87 status word, and for LDMXCSR
 * and STMXCSR (the kernel's kernel_fpu_begin), which move 32 bits between
 * memory and MXCSR with the architectural #UD/#NM/#GP checks.
 *
 * Off by default (--emulation-assist). Real hosts with VMX/SVM never take
 * this path. Anything the assist cannot deliver faithfully still stops the
 * VM with the register dump.
 */
#ifndef PETREL_EMUL_ASSIST_H
#define PETREL_EMUL_ASSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum assist_kind {
	ASSIST_INT3,  /* CC: #BP, vector 3 */
	ASSIST_INTN,  /* CD ib: software interrupt, vector ib */
	ASSIST_INTO,  /* CE: #OF (vector 4) if RFLAGS.OF, else nothing */
	ASSIST_INT1,  /* F1: ICEBP, #DB (vector 1) */
	ASSIST_CLAC,  /* 0F 01 CA: RFLAGS.AC = 0 */
	ASSIST_STAC,  /* 0F 01 CB: RFLAGS.AC = 1 */
	ASSIST_FWAIT, /* 9B: #NM if CR0.MP and CR0.TS, #MF if an x87 error is pending */
	ASSIST_LDMXCSR, /* 0F AE /2 m32: MXCSR = [m32] (#GP on reserved bits) */
	ASSIST_STMXCSR, /* 0F AE /3 m32: [m32] = MXCSR */
	ASSIST_NR,
};

/* A memory operand, decoded from ModRM/SIB/displacement. */
struct assist_mem {
	int base;      /* register number 0-15 (RAX..R15), -1: none */
	int index;     /* -1: none */
	unsigned scale;
	int64_t disp;
	bool rip_rel;  /* 64-bit mode, mod 00 r/m 101: relative to the next RIP */
	bool addr32;   /* 0x67 in 64-bit mode (or a 32-bit code segment) */
	int seg;       /* 0x26/2e/36/3e/64/65 override, or 0 for the default */
};

struct assist_insn {
	enum assist_kind kind;
	uint8_t vector;
	unsigned len; /* bytes, prefixes included */
	struct assist_mem mem; /* LDMXCSR/STMXCSR */
};

/*
 * Decodes an instruction the assist handles from the bytes at RIP.
 * mode is 16, 32 or 64 (the code segment's size). 0 on success; -ENOENT
 * if the bytes are something else (or invalid in that mode, like INTO in
 * 64-bit mode or a LOCK prefix), -ENODATA if they are cut short.
 */
int assist_decode(const uint8_t *insn, size_t n, int mode, struct assist_insn *out);

const char *assist_name(enum assist_kind k);

struct vcpu;

/*
 * Tries to resolve an emulation failure on v. Returns 1 if the guest can
 * be resumed, 0 if the instruction is not one the assist handles (the
 * caller stops the VM), -errno on an ioctl failure.
 */
int emul_assist(struct vcpu *v);

#endif
