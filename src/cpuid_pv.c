/*
 * The KVM paravirtual CPUID leaves petrel gives a guest (see cpuid.h).
 *
 * KVM_GET_SUPPORTED_CPUID already holds a signature leaf and a features
 * leaf; petrel rebuilds both rather than passing them through, so that a
 * newer kernel's feature bit reaches the guest only once petrel knows what
 * it asks of the VMM (KVM_FEATURE_HC_MAP_GPA_RANGE, for one, sends its
 * hypercall to userspace).
 */
#include <asm/kvm_para.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/cpuid.h"

#define BIT(n) (1u << (n))

/*
 * What petrel offers of what KVM supports. All of these are handled by KVM
 * itself (MSRs and hypercalls it implements, the in-kernel LAPIC petrel
 * always uses), so petrel has nothing to do but advertise them:
 *   CLOCKSOURCE, CLOCKSOURCE2  kvmclock on the old (0x11/0x12) and the new
 *                              (0x4b564d00/01) MSRs
 *   CLOCKSOURCE_STABLE_BIT     kvmclock's per-vCPU readings do not warp
 *   NOP_IO_DELAY               port 0x80 delays are pointless in a VM
 *   ASYNC_PF, ASYNC_PF_INT,    a guest vCPU keeps running while the host
 *   ASYNC_PF_VMEXIT            faults in guest RAM it had swapped out (petrel's
 *                              RAM is ordinary anonymous memory); Linux uses
 *                              it only with ASYNC_PF_INT
 *   STEAL_TIME                 time the host ran something else; KVM reports
 *                              it only when the host has sched_info
 *   PV_EOI                     EOI without an exit
 *   PV_UNHALT                  PV spinlocks: a waiting vCPU halts and is
 *                              kicked; Linux uses it only with more than one
 *                              CPU, so it is harmless with --cpus 1
 *   PV_TLB_FLUSH, PV_SEND_IPI, SMP shootdowns, IPIs and yields to a preempted
 *   PV_SCHED_YIELD             vCPU by hypercall (Linux, too, enables them
 *                              only with more than one CPU)
 *   POLL_CONTROL               guest-side halt polling (cpuidle-haltpoll)
 *                              can turn off KVM's host-side polling
 * Left out, even when KVM reports them:
 *   MMU_OP (bit 2)             deprecated; no KVM reports it
 *   MSI_EXT_DEST_ID (15)       MSI address bits 11:5 as APIC id bits 8-14:
 *                              needed only above 255 APIC ids, and petrel
 *                              describes at most 254 vCPUs
 *   HC_MAP_GPA_RANGE (16)      its hypercall exits to userspace
 *                              (KVM_CAP_EXIT_HYPERCALL), for SEV/TDX page
 *                              sharing: nothing in petrel would answer it
 *   MIGRATION_CONTROL (17)     SEV live migration; petrel does not migrate
 *   any bit not named here     a later kernel's feature may need the VMM's
 *                              help as HC_MAP_GPA_RANGE does
 *   EDX: KVM_HINTS_REALTIME    promises vCPUs are never preempted (dedicated
 *                              host CPUs); petrel cannot promise that
 */
#define CPUID_PV_OFFERED                                                    \
	(BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_NOP_IO_DELAY) |     \
	 BIT(KVM_FEATURE_CLOCKSOURCE2) | BIT(KVM_FEATURE_ASYNC_PF) |        \
	 BIT(KVM_FEATURE_STEAL_TIME) | BIT(KVM_FEATURE_PV_EOI) |            \
	 BIT(KVM_FEATURE_PV_UNHALT) | BIT(KVM_FEATURE_PV_TLB_FLUSH) |       \
	 BIT(KVM_FEATURE_ASYNC_PF_VMEXIT) | BIT(KVM_FEATURE_PV_SEND_IPI) |  \
	 BIT(KVM_FEATURE_POLL_CONTROL) | BIT(KVM_FEATURE_PV_SCHED_YIELD) |  \
	 BIT(KVM_FEATURE_ASYNC_PF_INT) | BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

static bool has_kvm_signature(const struct kvm_cpuid_entry2 *e)
{
	uint32_t sig[3];

	memcpy(sig, KVM_SIGNATURE, sizeof(sig));
	return e && e->ebx == sig[0] && e->ecx == sig[1] && e->edx == sig[2];
}

static bool in_range(unsigned fn)
{
	return fn >= CPUID_PV_SIGNATURE && fn <= CPUID_PV_RANGE_END;
}

struct kvm_cpuid2 *cpuid_pv_offer(const struct kvm_cpuid2 *sup,
				  uint32_t apic_khz)
{
	struct kvm_cpuid2 *s = (struct kvm_cpuid2 *)sup; /* cpuid_find reads only */
	const struct kvm_cpuid_entry2 *sig = cpuid_find(s, CPUID_PV_SIGNATURE, 0);
	const struct kvm_cpuid_entry2 *feat = cpuid_find(s, CPUID_PV_FEATURES, 0);
	bool kvm = has_kvm_signature(sig);
	unsigned n = 0;
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + (sup->nent + 3) * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	for (unsigned i = 0; i < sup->nent; i++)
		if (!in_range(sup->entries[i].function))
			c->entries[n++] = sup->entries[i];
	if (kvm) {
		struct kvm_cpuid_entry2 *e = &c->entries[n];

		/*
		 * KVM does not report CPUID.1:ECX.HYPERVISOR (bit 31): the VMM
		 * sets it, as QEMU does. Without it Linux never looks at
		 * 0x40000000 ("Booting paravirtualized kernel on bare
		 * hardware"), so no kvm-clock and a calibrated TSC.
		 */
		for (unsigned i = 0; i < n; i++)
			if (c->entries[i].function == 1)
				c->entries[i].ecx |= 1u << 31;

		e[0] = *sig;
		e[0].eax = CPUID_PV_TIMING;
		e[1] = (struct kvm_cpuid_entry2){
			.function = CPUID_PV_FEATURES,
			.eax = feat ? feat->eax & CPUID_PV_OFFERED : 0,
		};
		e[2] = (struct kvm_cpuid_entry2){ .function = CPUID_PV_TIMING,
						  .ebx = apic_khz };
		n += 3;
	}
	c->nent = n;
	return c;
}

uint32_t cpuid_pv_apic_khz(int cycle_ns)
{
	if (cycle_ns <= 0)
		return CPUID_PV_APIC_BUS_KHZ_DEFAULT;
	return 1000000u / (unsigned)cycle_ns;
}

void cpuid_pv_set_tsc_khz(struct kvm_cpuid2 *c, uint32_t khz)
{
	struct kvm_cpuid_entry2 *t = cpuid_find(c, CPUID_PV_TIMING, 0);

	if (!t)
		return;
	if (!khz || !cpuid_has(c, "invtsc")) {
		cpuid_pv_remove(c, CPUID_PV_EDIT_FREQ);
		return;
	}
	t->eax = khz;
}

enum cpuid_pv_edit cpuid_pv_leaf_edit(const char *name)
{
	if (!strcmp(name, "kvm"))
		return CPUID_PV_EDIT_KVM;
	if (!strcmp(name, "vmware-cpuid-freq"))
		return CPUID_PV_EDIT_FREQ;
	return CPUID_PV_EDIT_NONE;
}

bool cpuid_pv_has_leaf(struct kvm_cpuid2 *c, enum cpuid_pv_edit which)
{
	switch (which) {
	case CPUID_PV_EDIT_KVM:
		return has_kvm_signature(cpuid_find(c, CPUID_PV_SIGNATURE, 0));
	case CPUID_PV_EDIT_FREQ:
		return cpuid_find(c, CPUID_PV_TIMING, 0) != NULL;
	default:
		return false;
	}
}

void cpuid_pv_remove(struct kvm_cpuid2 *c, enum cpuid_pv_edit which)
{
	struct kvm_cpuid_entry2 *sig;

	switch (which) {
	case CPUID_PV_EDIT_KVM:
		cpuid_remove_range(c, CPUID_PV_SIGNATURE, CPUID_PV_RANGE_END);
		break;
	case CPUID_PV_EDIT_FREQ:
		cpuid_remove_range(c, CPUID_PV_TIMING, CPUID_PV_TIMING);
		/* the guest must not look for a leaf that is not there */
		sig = cpuid_find(c, CPUID_PV_SIGNATURE, 0);
		if (sig && sig->eax > CPUID_PV_FEATURES)
			sig->eax = CPUID_PV_FEATURES;
		break;
	default:
		break;
	}
}
