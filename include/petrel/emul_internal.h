/* Shared between the emulation-assist files; not an API. */
#ifndef PETREL_EMUL_INTERNAL_H
#define PETREL_EMUL_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/emul_assist.h"

struct vcpu;

/* Queues a fault (RIP stays on the instruction); returns 2: "fault queued". */
int assist_fault(struct kvm_vcpu_events *ev, uint8_t vector, bool error_code);

int mxcsr_decode(const uint8_t *insn, size_t n, int mode,
		 struct assist_insn *out);
uint64_t assist_linear(const struct assist_insn *in, const struct kvm_regs *r,
		       const struct kvm_sregs *s, int mode);
/*
 * Executes LDMXCSR/STMXCSR: 1 done (advance RIP), 2 a fault was queued in
 * ev (RIP unchanged), 0 not handled, -errno.
 */
int emul_mxcsr(struct vcpu *v, const struct assist_insn *in,
	       struct kvm_regs *regs, const struct kvm_sregs *sregs, int mode,
	       struct kvm_vcpu_events *ev);

#endif
