/*
 * The KVM paravirtual CPUID leaves: built from a fake KVM_GET_SUPPORTED_CPUID
 * (cpuid_pv_offer), the TSC frequency put in per vCPU, and every
 * --cpu-features name that removes something.
 */
#include <asm/kvm_para.h>
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/cpuid.h"

#define BIT(n) (1u << (n))
#define SIG_EBX 0x4b4d564bu /* "KVMK" */
#define SIG_ECX 0x564b4d56u /* "VMKV" */
#define SIG_EDX 0x0000004du /* "M\0\0\0" */

/* What petrel offers of KVM's bits (cpuid_pv.c), spelled out again here. */
static const uint32_t offered =
	BIT(0) | BIT(1) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(9) |
	BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(24);

/*
 * A supported table as KVM gives it: some basic leaves, invtsc, KVM's
 * signature with EAX 0x40000001 and the features in pv_eax, plus a stale
 * leaf in the hypervisor range that must not survive.
 */
static struct kvm_cpuid2 *supported(uint32_t pv_eax, bool kvm_sig, bool invtsc)
{
	const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xd, .ebx = 0x756e6547 },
		/* KVM does not report CPUID.1:ECX.HYPERVISOR: the VMM sets it */
		{ .function = 1, .ecx = 0, .edx = 1u << 4 },
		{ .function = 0x80000007, .edx = invtsc ? 1u << 8 : 0 },
		{ .function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES,
		  .ebx = kvm_sig ? SIG_EBX : 0x12345678, .ecx = SIG_ECX, .edx = SIG_EDX },
		{ .function = KVM_CPUID_FEATURES, .eax = pv_eax, .edx = 1 },
		{ .function = 0x40000005, .eax = 0xdead },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + sizeof(e));

	c->nent = sizeof(e) / sizeof(e[0]);
	memcpy(c->entries, e, sizeof(e));
	return c;
}

static struct kvm_cpuid2 *copy(const struct kvm_cpuid2 *c)
{
	size_t n = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *d = malloc(n);

	memcpy(d, c, n);
	return d;
}

static unsigned count_range(struct kvm_cpuid2 *c, unsigned lo, unsigned hi)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nent; i++)
		n += c->entries[i].function >= lo && c->entries[i].function <= hi;
	return n;
}

static void signature_leaf(void **state)
{
	struct kvm_cpuid2 *sup = supported(offered, true, true);
	struct kvm_cpuid2 *c = cpuid_pv_offer(sup, 1000000);
	struct kvm_cpuid_entry2 *s;
	(void)state;

	assert_non_null(c);
	s = cpuid_find(c, KVM_CPUID_SIGNATURE, 0);
	assert_non_null(s);
	assert_memory_equal(&s->ebx, "KVMK", 4);
	assert_memory_equal(&s->ecx, "VMKV", 4);
	assert_memory_equal(&s->edx, "M\0\0\0", 4);
	assert_int_equal(s->eax, 0x40000010);
	/* signature, features, timing; the stale 0x40000005 is gone */
	assert_int_equal(count_range(c, 0x40000000, 0x400000ff), 3);
	assert_null(cpuid_find(c, 0x40000005, 0));
	/* the other leaves are KVM's, untouched */
	assert_int_equal(c->nent, sup->nent - 3 + 3);
	assert_int_equal(cpuid_find(c, 0, 0)->ebx, 0x756e6547);
	assert_true(cpuid_has(c, "kvm"));
	/* the hypervisor bit: what makes Linux look at 0x40000000 at all */
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, 1u << 31);
	assert_true(cpuid_has(c, "hypervisor"));
	free(sup);
	free(c);
}

static void features_masked_by_kvm(void **state)
{
	/* a KVM that reports every bit: only those petrel knows pass */
	struct kvm_cpuid2 *all = supported(0xffffffffu, true, true);
	/* an older KVM: kvmclock2 and PV EOI only */
	uint32_t few = BIT(KVM_FEATURE_CLOCKSOURCE2) | BIT(KVM_FEATURE_PV_EOI);
	struct kvm_cpuid2 *old = supported(few, true, true);
	struct kvm_cpuid2 *c = cpuid_pv_offer(all, 1000000), *d;
	struct kvm_cpuid_entry2 *f = cpuid_find(c, KVM_CPUID_FEATURES, 0);
	struct cpu_feature_edit add[] = { { "kvm-pv-unhalt", true } };
	char err[256];
	(void)state;

	assert_int_equal(f->eax, offered);
	assert_int_equal(f->ebx | f->ecx | f->edx, 0); /* no REALTIME hint */
	assert_false(f->eax & BIT(KVM_FEATURE_MMU_OP));
	assert_false(f->eax & BIT(KVM_FEATURE_MSI_EXT_DEST_ID));
	assert_false(f->eax & BIT(KVM_FEATURE_HC_MAP_GPA_RANGE));
	assert_false(f->eax & BIT(KVM_FEATURE_MIGRATION_CONTROL));

	d = cpuid_pv_offer(old, 1000000);
	assert_int_equal(cpuid_find(d, KVM_CPUID_FEATURES, 0)->eax, few);
	assert_true(cpuid_has(d, "kvmclock"));  /* either MSR set will do */
	assert_true(cpuid_has(d, "kvmclock2"));
	assert_false(cpuid_has(d, "kvm-pv-unhalt"));
	/* what KVM does not support cannot be added back */
	assert_int_equal(cpuid_edit(d, d, add, 1, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "\"kvm-pv-unhalt\" cannot be added"));
	free(all);
	free(old);
	free(c);
	free(d);
}

static void no_kvm_signature_no_leaves(void **state)
{
	struct kvm_cpuid2 *sup = supported(offered, false, true);
	struct kvm_cpuid2 *c = cpuid_pv_offer(sup, 1000000);
	struct cpu_feature_edit add[] = { { "kvm", true } };
	char err[256];
	(void)state;

	assert_int_equal(count_range(c, 0x40000000, 0x4fffffff), 0);
	assert_false(cpuid_has(c, "kvm"));
	assert_false(cpuid_has(c, "kvmclock"));
	assert_false(cpuid_has(c, "hypervisor")); /* nothing to point at */
	assert_int_equal(cpuid_edit(c, c, add, 1, err, sizeof(err)), -ENOTSUP);
	free(sup);
	free(c);
}

static void frequency_leaf(void **state)
{
	struct kvm_cpuid2 *sup = supported(offered, true, true);
	struct kvm_cpuid2 *noinv = supported(offered, true, false);
	struct kvm_cpuid2 *c = cpuid_pv_offer(sup, cpuid_pv_apic_khz(1)), *d;
	struct kvm_cpuid_entry2 *t = cpuid_find(c, 0x40000010, 0);
	(void)state;

	assert_non_null(t);
	assert_int_equal(t->eax, 0); /* until the vCPU's rate is known */
	assert_int_equal(t->ebx, 1000000);
	assert_int_equal(t->ecx | t->edx, 0);
	d = copy(c);
	cpuid_pv_set_tsc_khz(c, 2300000);
	t = cpuid_find(c, 0x40000010, 0);
	assert_int_equal(t->eax, 2300000);
	assert_int_equal(t->ebx, 1000000);
	assert_int_equal(cpuid_find(c, KVM_CPUID_SIGNATURE, 0)->eax, 0x40000010);
	assert_true(cpuid_has(c, "vmware-cpuid-freq"));

	/* KVM does not know the rate: no leaf, and the signature says so */
	cpuid_pv_set_tsc_khz(d, 0);
	assert_null(cpuid_find(d, 0x40000010, 0));
	assert_int_equal(cpuid_find(d, KVM_CPUID_SIGNATURE, 0)->eax, 0x40000001);
	assert_false(cpuid_has(d, "vmware-cpuid-freq"));
	cpuid_pv_set_tsc_khz(d, 2300000); /* no leaf: nothing to fill */
	assert_null(cpuid_find(d, 0x40000010, 0));
	free(d);

	/* no invariant TSC: no rate to promise */
	d = cpuid_pv_offer(noinv, 1000000);
	cpuid_pv_set_tsc_khz(d, 2300000);
	assert_null(cpuid_find(d, 0x40000010, 0));
	assert_int_equal(cpuid_find(d, KVM_CPUID_SIGNATURE, 0)->eax, 0x40000001);

	/* the APIC bus: KVM's cycle in ns, 1 ns on kernels without the cap */
	assert_int_equal(cpuid_pv_apic_khz(0), 1000000);
	assert_int_equal(cpuid_pv_apic_khz(-22), 1000000);
	assert_int_equal(cpuid_pv_apic_khz(1), 1000000);
	assert_int_equal(cpuid_pv_apic_khz(40), 25000); /* TDX's 25 MHz */
	free(sup);
	free(noinv);
	free(c);
	free(d);
}

/* Each name takes away its bits and nothing else. */
static void each_feature_removed(void **state)
{
	static const struct {
		const char *name;
		uint32_t bits;
	} names[] = {
		{ "kvmclock", BIT(0) | BIT(3) },
		{ "kvmclock2", BIT(3) },
		{ "kvmclock-stable-bit", BIT(24) },
		{ "kvm-nopiodelay", BIT(1) },
		{ "kvm-asyncpf", BIT(4) },
		{ "kvm-asyncpf-int", BIT(14) },
		{ "kvm-asyncpf-vmexit", BIT(10) },
		{ "kvm-steal-time", BIT(5) },
		{ "kvm-pv-eoi", BIT(6) },
		{ "kvm-pv-unhalt", BIT(7) },
		{ "kvm-pv-tlb-flush", BIT(9) },
		{ "kvm-pv-ipi", BIT(11) },
		{ "kvm-pv-sched-yield", BIT(13) },
		{ "kvm-poll-control", BIT(12) },
	};
	struct kvm_cpuid2 *sup = supported(offered, true, true);
	struct kvm_cpuid2 *offer = cpuid_pv_offer(sup, 1000000);
	char err[256];
	(void)state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct kvm_cpuid2 *c = copy(offer);
		struct cpu_feature_edit rm = { .add = false }, back = { .add = true };

		strcpy(rm.name, names[i].name);
		strcpy(back.name, names[i].name);
		assert_true(cpuid_has(c, names[i].name));
		assert_int_equal(cpuid_edit(c, offer, &rm, 1, err, sizeof(err)), 0);
		assert_int_equal(cpuid_find(c, KVM_CPUID_FEATURES, 0)->eax,
				 offered & ~names[i].bits);
		assert_false(cpuid_has(c, names[i].name));
		/* the leaves themselves stay */
		assert_int_equal(cpuid_find(c, KVM_CPUID_SIGNATURE, 0)->eax, 0x40000010);
		assert_int_equal(cpuid_edit(c, offer, &back, 1, err, sizeof(err)), 0);
		assert_int_equal(cpuid_find(c, KVM_CPUID_FEATURES, 0)->eax, offered);
		free(c);
	}
	free(sup);
	free(offer);
}

static void whole_leaves_removed(void **state)
{
	struct kvm_cpuid2 *sup = supported(offered, true, true);
	struct kvm_cpuid2 *offer = cpuid_pv_offer(sup, 1000000), *c;
	struct cpu_feature_edit no_kvm[] = { { "kvm", false } };
	struct cpu_feature_edit no_freq[] = { { "vmware-cpuid-freq", false } };
	struct cpu_feature_edit back[] = { { "kvm-pv-eoi", false }, { "kvm", false },
					   { "kvm", true } };
	char err[256];
	unsigned nent = offer->nent;
	(void)state;

	c = copy(offer);
	assert_int_equal(cpuid_edit(c, offer, no_kvm, 1, err, sizeof(err)), 0);
	assert_int_equal(count_range(c, 0x40000000, 0x400000ff), 0);
	assert_int_equal(c->nent, nent - 3);
	assert_false(cpuid_has(c, "kvm"));
	assert_false(cpuid_has(c, "kvmclock"));
	assert_non_null(cpuid_find(c, 0x80000007, 0)); /* the rest is there */
	cpuid_pv_set_tsc_khz(c, 2300000);              /* and stays so */
	assert_int_equal(c->nent, nent - 3);
	free(c);

	c = copy(offer);
	assert_int_equal(cpuid_edit(c, offer, no_freq, 1, err, sizeof(err)), 0);
	assert_null(cpuid_find(c, 0x40000010, 0));
	assert_int_equal(cpuid_find(c, KVM_CPUID_SIGNATURE, 0)->eax, 0x40000001);
	assert_int_equal(cpuid_find(c, KVM_CPUID_FEATURES, 0)->eax, offered);
	assert_true(cpuid_has(c, "kvm"));
	free(c);

	/* the last edit of a leaf wins; bit edits before it stay */
	c = copy(offer);
	assert_int_equal(cpuid_edit(c, offer, back, 3, err, sizeof(err)), 0);
	assert_true(cpuid_has(c, "kvm"));
	assert_false(cpuid_has(c, "kvm-pv-eoi"));
	assert_true(cpuid_has(c, "vmware-cpuid-freq"));
	free(c);
	free(sup);
	free(offer);
}

static void names_known_without_kvm(void **state)
{
	struct cpu_feature_edit ok[] = {
		{ "kvmclock", false }, { "kvmclock2", false }, { "kvm-pv-eoi", false },
		{ "kvm", false }, { "vmware-cpuid-freq", true }, { "kvm-pv-ipi", true },
	};
	struct cpu_feature_edit bad[] = { { "kvm-warp", false } };
	char err[256];
	(void)state;

	assert_int_equal(cpuid_check_edits(ok, 6, err, sizeof(err)), 0);
	assert_int_equal(cpuid_check_edits(bad, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown feature \"kvm-warp\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signature_leaf),
		cmocka_unit_test(features_masked_by_kvm),
		cmocka_unit_test(no_kvm_signature_no_leaves),
		cmocka_unit_test(frequency_leaf),
		cmocka_unit_test(each_feature_removed),
		cmocka_unit_test(whole_leaves_removed),
		cmocka_unit_test(names_known_without_kvm),
	};
	return cmocka_run_group_tests_name("cpuid_pv", tests, NULL, NULL);
}
