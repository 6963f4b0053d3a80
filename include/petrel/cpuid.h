/*
 * CPUID for the guest: start from KVM_GET_SUPPORTED_CPUID, put petrel's
 * paravirtual leaves in its hypervisor range (cpuid_pv_offer), apply the
 * user's --cpu-features edits once per VM, then give each vCPU its own APIC
 * id, a topology consistent with --cpus (one socket, one thread per core)
 * and the TSC frequency KVM runs its TSC at.
 *
 * The paravirtual leaves (Documentation/virt/kvm/x86/cpuid.rst):
 *   0x40000000  "KVMKVMKVM\0\0\0" in EBX, ECX, EDX; EAX = the highest PV leaf
 *               (0x40000010, or 0x40000001 without the frequency leaf)
 *   0x40000001  EAX = KVM's feature bits, those of CPUID_PV_OFFERED that
 *               KVM_GET_SUPPORTED_CPUID reports (the rest: cpuid_pv.c)
 *   0x40000010  the "generic timing" leaf VMware defined and QEMU
 *               (vmware-cpuid-freq), Cloud Hypervisor and EC2 give:
 *               EAX = TSC kHz, EBX = local APIC bus (timer) kHz, so a guest
 *               that reads it need not calibrate either against the PIT
 * --cpu-features names them as QEMU does (kvmclock, kvm-pv-eoi, ...); -kvm
 * removes the whole range, so the guest does not see KVM at all.
 */
#ifndef PETREL_CPUID_H
#define PETREL_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "petrel/config.h"

struct kvm_cpuid2;
struct kvm_cpuid_entry2;
struct vm;
struct vcpu;

int cpuid_init(struct vm *vm);
int cpuid_apply(struct vm *vm, struct vcpu *v);

/* Pure parts, unit-tested without KVM. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned fn,
				    unsigned index);
/*
 * Checks that every edit names a feature petrel knows (the table is
 * static), so a typo is reported before /dev/kvm is opened. 0, or -EINVAL
 * with "--cpu-features: unknown feature ..." in err.
 */
int cpuid_check_edits(const struct cpu_feature_edit *edits, unsigned n,
		      char *err, size_t errlen);
/*
 * Applies edits to c, in order. "-name" clears the name's bits; "+name"
 * sets those of them set in supported (KVM cannot virtualize what it does
 * not support; petrel passes what it offers, cpuid_pv_offer's table). The
 * leaf names (cpuid_pv_leaf_edit) remove their leaves after all the bit
 * edits, the last edit of each winning; "+" keeps what c has.
 * Unknown names and unsupported additions are errors, explained in err.
 */
int cpuid_edit(struct kvm_cpuid2 *c, const struct kvm_cpuid2 *supported,
	       const struct cpu_feature_edit *edits, unsigned n, char *err,
	       size_t errlen);
void cpuid_set_topology(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus);
/* Removes every entry of leaves [lo, hi] from c (c->nent shrinks). */
void cpuid_remove_range(struct kvm_cpuid2 *c, unsigned lo, unsigned hi);

/* The paravirtual leaves (cpuid_pv.c) */
#define CPUID_PV_SIGNATURE 0x40000000u
#define CPUID_PV_FEATURES 0x40000001u
#define CPUID_PV_TIMING 0x40000010u
#define CPUID_PV_RANGE_END 0x400000ffu /* KVM's range: base + 0xff */
/*
 * KVM's APIC bus cycle before KVM_CAP_X86_APIC_BUS_CYCLES_NS (Linux 6.11)
 * was the constant APIC_BUS_CYCLE_NS = 1 (arch/x86/kvm/lapic.h): 1 GHz.
 */
#define CPUID_PV_APIC_BUS_KHZ_DEFAULT 1000000u
/*
 * A copy of sup with its hypervisor range (0x40000000-0x400000ff) replaced
 * by petrel's leaves, when sup has KVM's signature: the signature, the
 * features of CPUID_PV_OFFERED that sup reports, and the timing leaf with
 * EBX = apic_khz and EAX = 0 until cpuid_pv_set_tsc_khz(). Without KVM's
 * signature in sup, no PV leaves. malloc'd; NULL when out of memory.
 */
struct kvm_cpuid2 *cpuid_pv_offer(const struct kvm_cpuid2 *sup,
				  uint32_t apic_khz);
/*
 * The APIC bus in kHz for what KVM_CHECK_EXTENSION(KVM_CAP_X86_APIC_BUS_
 * CYCLES_NS) on the VM returns: its cycle in ns, or 0 on kernels without
 * the capability, whose cycle is the fixed 1 ns.
 */
uint32_t cpuid_pv_apic_khz(int cycle_ns);
/*
 * Puts the TSC frequency in the timing leaf. The leaf goes (and the
 * signature's EAX drops to 0x40000001) when khz is 0 (KVM does not know
 * it) or c lacks invtsc: a TSC whose rate may change has no frequency to
 * promise, which is QEMU's rule for this leaf too.
 */
void cpuid_pv_set_tsc_khz(struct kvm_cpuid2 *c, uint32_t khz);
/*
 * --cpu-features names that stand for whole leaves rather than bits:
 * CPUID_PV_EDIT_KVM ("kvm", the range) or CPUID_PV_EDIT_FREQ
 * ("vmware-cpuid-freq", the timing leaf); CPUID_PV_EDIT_NONE otherwise.
 */
enum cpuid_pv_edit { CPUID_PV_EDIT_NONE, CPUID_PV_EDIT_KVM, CPUID_PV_EDIT_FREQ };
enum cpuid_pv_edit cpuid_pv_leaf_edit(const char *name);
/* Whether c has that leaf (with KVM's signature, for CPUID_PV_EDIT_KVM). */
bool cpuid_pv_has_leaf(struct kvm_cpuid2 *c, enum cpuid_pv_edit which);
/* Removes that leaf (and lowers the signature's EAX), or the whole range. */
void cpuid_pv_remove(struct kvm_cpuid2 *c, enum cpuid_pv_edit which);
/* Any of the name's bits set in c; for a leaf name, the leaf is there. */
bool cpuid_has(struct kvm_cpuid2 *c, const char *name);
void cpuid_list_features(FILE *out);

#endif
