/* CPUID edits (--cpu-features) and per-vCPU topology, on a synthetic table. */
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

static struct kvm_cpuid2 *table(void)
{
	static const struct kvm_cpuid_entry2 e[] = {
		{ .function = 1, .eax = 0x00a00f11, .ebx = 0x00000800,
		  .ecx = (1u << 13) | (1u << 26) | (1u << 28), .edx = 1u << 0 },
		{ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .ebx = 1u << 5 },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0x80000008, .ecx = 0xffff },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + sizeof(e));
	c->nent = sizeof(e) / sizeof(e[0]);
	memcpy(c->entries, e, sizeof(e));
	return c;
}

static void remove_and_add_back(void **state)
{
	struct kvm_cpuid2 *sup = table(), *c = table();
	struct cpu_feature_edit ed[] = {
		{ "cx16", false }, { "xsave", false }, { "avx2", false },
	};
	char err[256];
	(void)state;

	assert_true(cpuid_has(c, "cx16"));
	assert_int_equal(cpuid_edit(c, sup, ed, 3, err, sizeof(err)), 0);
	assert_false(cpuid_has(c, "cx16"));
	assert_false(cpuid_has(c, "xsave"));
	assert_false(cpuid_has(c, "avx2"));
	assert_true(cpuid_has(c, "avx")); /* untouched neighbours stay */
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, 1u << 28);
	struct cpu_feature_edit back[] = { { "cx16", true } };
	assert_int_equal(cpuid_edit(c, sup, back, 1, err, sizeof(err)), 0);
	assert_true(cpuid_has(c, "cx16"));
	free(sup);
	free(c);
}

static void errors_are_explained(void **state)
{
	struct kvm_cpuid2 *sup = table(), *c = table();
	struct cpu_feature_edit unknown[] = { { "warpdrive", false } };
	struct cpu_feature_edit unsupported[] = { { "avx512f", true } };
	char err[256];
	(void)state;

	assert_int_equal(cpuid_edit(c, sup, unknown, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown feature \"warpdrive\""));
	assert_int_equal(cpuid_edit(c, sup, unsupported, 1, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "does not support"));
	assert_false(cpuid_has(c, "avx512f"));
	free(sup);
	free(c);
}

/* Names are checked without any CPUID table: before /dev/kvm is opened. */
static void names_checked_without_kvm(void **state)
{
	struct cpu_feature_edit ok[] = { { "cx16", false }, { "xsave", false },
					 { "avx512f", true } };
	struct cpu_feature_edit bad[] = { { "cx16", false }, { "warpdrive", true } };
	char err[256] = "";
	(void)state;

	assert_int_equal(cpuid_check_edits(ok, 3, err, sizeof(err)), 0);
	assert_int_equal(cpuid_check_edits(NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(cpuid_check_edits(bad, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--cpu-features: unknown feature \"warpdrive\""));
	assert_non_null(strstr(err, "--cpu-features=help"));
}

static void topology_per_vcpu(void **state)
{
	struct kvm_cpuid2 *c = table();
	(void)state;

	cpuid_set_topology(c, 3, 4);
	assert_int_equal(cpuid_find(c, 1, 0)->ebx >> 24, 3);
	assert_int_equal(cpuid_find(c, 1, 0)->ebx >> 16 & 0xff, 4);
	assert_true(cpuid_find(c, 1, 0)->edx >> 28 & 1);
	assert_int_equal(cpuid_find(c, 0xb, 0)->edx, 3);
	assert_int_equal(cpuid_find(c, 0xb, 0)->ebx, 1);
	assert_int_equal(cpuid_find(c, 0xb, 1)->eax, 2); /* 4 cores: 2 bits */
	assert_int_equal(cpuid_find(c, 0xb, 1)->ebx, 4);
	assert_int_equal(cpuid_find(c, 0xb, 1)->ecx, 0x201);
	assert_int_equal(cpuid_find(c, 0xb, 2)->ebx, 0);
	assert_int_equal(cpuid_find(c, 0x80000008, 0)->ecx & 0xff, 3);
	assert_int_equal(cpuid_find(c, 0x80000008, 0)->ecx >> 12 & 0xf, 2);
	/* one vCPU: no HTT */
	cpuid_set_topology(c, 0, 1);
	assert_false(cpuid_find(c, 1, 0)->edx >> 28 & 1);
	assert_int_equal(cpuid_find(c, 0xb, 1)->eax, 0);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(remove_and_add_back),
		cmocka_unit_test(errors_are_explained),
		cmocka_unit_test(names_checked_without_kvm),
		cmocka_unit_test(topology_per_vcpu),
	};
	return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
