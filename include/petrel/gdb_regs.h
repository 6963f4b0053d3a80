/*
 * The x86-64 register file as the GDB stub presents it: the target
 * description (XML, served by qXfer:features:read) and the mapping between
 * gdb's register numbers and KVM's vCPU state (KVM_GET/SET_REGS, _SREGS,
 * _FPU). Pure data conversion, no KVM calls: unit-tested alone.
 *
 * gdb's numbering (amd64 requires the first 57 in this order): rax rbx rcx
 * rdx rsi rdi rbp rsp r8-r15 rip eflags cs ss ds es fs gs, st0-st7 and the
 * x87 control registers, xmm0-15 mxcsr, then fs_base gs_base and the
 * system registers cr0 cr2 cr3 cr4 cr8 efer.
 */
#ifndef PETREL_GDB_REGS_H
#define PETREL_GDB_REGS_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct gdb_cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
};

#define GDB_NR_REGS 65
#define GDB_REGS_SIZE 600 /* bytes of a 'g' packet, before hex encoding */
#define GDB_REG_RIP 16

/* Size and offset in the 'g' buffer of register regno: 0, or -EINVAL. */
int gdb_reg_layout(unsigned regno, size_t *off, size_t *size);
/* Its name ("rax", "fs_base", ...) or NULL. */
const char *gdb_reg_name(unsigned regno);

/* The whole register file, little-endian, as 'g' sends it. */
void gdb_regs_pack(const struct gdb_cpu_state *s, uint8_t out[GDB_REGS_SIZE]);
/*
 * Writes a 'G' buffer into s. A segment selector can only keep its value
 * (KVM would load the selector without its descriptor): -EINVAL, with s
 * unchanged, if one differs.
 */
int gdb_regs_unpack(struct gdb_cpu_state *s, const uint8_t in[GDB_REGS_SIZE]);
/* One register ('p'/'P'): buf holds its size in bytes. 0 or -EINVAL. */
int gdb_reg_get(const struct gdb_cpu_state *s, unsigned regno, uint8_t *buf);
int gdb_reg_set(struct gdb_cpu_state *s, unsigned regno, const uint8_t *buf);

/* The target description, "target.xml" (static text). */
const char *gdb_target_xml(size_t *len);

#endif
