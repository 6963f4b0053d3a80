/*
 * CPUID for the guest: start from KVM_GET_SUPPORTED_CPUID, apply the user's
 * --cpu-features edits once per VM, then give each vCPU its own APIC id and
 * a topology consistent with --cpus (one socket, one thread per core).
 */
#ifndef PETREL_CPUID_H
#define PETREL_CPUID_H

#include <stdbool.h>
#include <stddef.h>
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
 * Applies edits to c. "-name" clears the bit; "+name" sets it only if it is
 * set in supported (KVM cannot virtualize what it does not support).
 * Unknown names and unsupported additions are errors, explained in err.
 */
int cpuid_edit(struct kvm_cpuid2 *c, const struct kvm_cpuid2 *supported,
	       const struct cpu_feature_edit *edits, unsigned n, char *err,
	       size_t errlen);
void cpuid_set_topology(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus);
bool cpuid_has(struct kvm_cpuid2 *c, const char *name);
void cpuid_list_features(FILE *out);

#endif
