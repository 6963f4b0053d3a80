#include <asm/kvm_para.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/cpuid.h"
#include "petrel/kvm.h"
#include "petrel/util.h"
#include "petrel/vm.h"

enum reg { EAX, EBX, ECX, EDX };

#define PV CPUID_PV_FEATURES

/*
 * Feature names as Linux spells them in /proc/cpuinfo, then KVM's. A name
 * may stand for several bits: it has one entry per bit, and an edit acts
 * on all of them.
 */
static const struct feature {
	const char *name;
	unsigned fn, index;
	enum reg reg;
	unsigned bit;
} features[] = {
	{ "fpu", 1, 0, EDX, 0 },	{ "vme", 1, 0, EDX, 1 },
	{ "de", 1, 0, EDX, 2 },		{ "pse", 1, 0, EDX, 3 },
	{ "tsc", 1, 0, EDX, 4 },	{ "msr", 1, 0, EDX, 5 },
	{ "pae", 1, 0, EDX, 6 },	{ "mce", 1, 0, EDX, 7 },
	{ "cx8", 1, 0, EDX, 8 },	{ "apic", 1, 0, EDX, 9 },
	{ "sep", 1, 0, EDX, 11 },	{ "mtrr", 1, 0, EDX, 12 },
	{ "pge", 1, 0, EDX, 13 },	{ "mca", 1, 0, EDX, 14 },
	{ "cmov", 1, 0, EDX, 15 },	{ "pat", 1, 0, EDX, 16 },
	{ "pse36", 1, 0, EDX, 17 },	{ "clflush", 1, 0, EDX, 19 },
	{ "mmx", 1, 0, EDX, 23 },	{ "fxsr", 1, 0, EDX, 24 },
	{ "sse", 1, 0, EDX, 25 },	{ "sse2", 1, 0, EDX, 26 },
	{ "ht", 1, 0, EDX, 28 },
	{ "pni", 1, 0, ECX, 0 },	{ "sse3", 1, 0, ECX, 0 },
	{ "pclmulqdq", 1, 0, ECX, 1 },	{ "monitor", 1, 0, ECX, 3 },
	{ "vmx", 1, 0, ECX, 5 },	{ "ssse3", 1, 0, ECX, 9 },
	{ "fma", 1, 0, ECX, 12 },	{ "cx16", 1, 0, ECX, 13 },
	{ "pdcm", 1, 0, ECX, 15 },	{ "pcid", 1, 0, ECX, 17 },
	{ "sse4_1", 1, 0, ECX, 19 },	{ "sse4_2", 1, 0, ECX, 20 },
	{ "x2apic", 1, 0, ECX, 21 },	{ "movbe", 1, 0, ECX, 22 },
	{ "popcnt", 1, 0, ECX, 23 },	{ "tsc_deadline_timer", 1, 0, ECX, 24 },
	{ "aes", 1, 0, ECX, 25 },	{ "xsave", 1, 0, ECX, 26 },
	{ "avx", 1, 0, ECX, 28 },	{ "f16c", 1, 0, ECX, 29 },
	{ "rdrand", 1, 0, ECX, 30 },	{ "hypervisor", 1, 0, ECX, 31 },
	{ "fsgsbase", 7, 0, EBX, 0 },	{ "tsc_adjust", 7, 0, EBX, 1 },
	{ "bmi1", 7, 0, EBX, 3 },	{ "hle", 7, 0, EBX, 4 },
	{ "avx2", 7, 0, EBX, 5 },	{ "smep", 7, 0, EBX, 7 },
	{ "bmi2", 7, 0, EBX, 8 },	{ "erms", 7, 0, EBX, 9 },
	{ "invpcid", 7, 0, EBX, 10 },	{ "rtm", 7, 0, EBX, 11 },
	{ "mpx", 7, 0, EBX, 14 },	{ "avx512f", 7, 0, EBX, 16 },
	{ "avx512dq", 7, 0, EBX, 17 },	{ "rdseed", 7, 0, EBX, 18 },
	{ "adx", 7, 0, EBX, 19 },	{ "smap", 7, 0, EBX, 20 },
	{ "avx512ifma", 7, 0, EBX, 21 },{ "clflushopt", 7, 0, EBX, 23 },
	{ "clwb", 7, 0, EBX, 24 },	{ "avx512cd", 7, 0, EBX, 28 },
	{ "sha_ni", 7, 0, EBX, 29 },	{ "avx512bw", 7, 0, EBX, 30 },
	{ "avx512vl", 7, 0, EBX, 31 },
	{ "avx512vbmi", 7, 0, ECX, 1 },	{ "umip", 7, 0, ECX, 2 },
	{ "pku", 7, 0, ECX, 3 },	{ "waitpkg", 7, 0, ECX, 5 },
	{ "avx512_vbmi2", 7, 0, ECX, 6 },{ "gfni", 7, 0, ECX, 8 },
	{ "vaes", 7, 0, ECX, 9 },	{ "vpclmulqdq", 7, 0, ECX, 10 },
	{ "avx512_vnni", 7, 0, ECX, 11 },{ "avx512_bitalg", 7, 0, ECX, 12 },
	{ "avx512_vpopcntdq", 7, 0, ECX, 14 },{ "la57", 7, 0, ECX, 16 },
	{ "rdpid", 7, 0, ECX, 22 },	{ "fsrm", 7, 0, EDX, 4 },
	{ "md_clear", 7, 0, EDX, 10 },	{ "serialize", 7, 0, EDX, 14 },
	{ "arch_capabilities", 7, 0, EDX, 29 },
	{ "arat", 6, 0, EAX, 2 },
	{ "xsaveopt", 0xd, 1, EAX, 0 },	{ "xsavec", 0xd, 1, EAX, 1 },
	{ "xgetbv1", 0xd, 1, EAX, 2 },	{ "xsaves", 0xd, 1, EAX, 3 },
	{ "lahf_lm", 0x80000001, 0, ECX, 0 },	{ "svm", 0x80000001, 0, ECX, 2 },
	{ "abm", 0x80000001, 0, ECX, 5 },	{ "sse4a", 0x80000001, 0, ECX, 6 },
	{ "misalignsse", 0x80000001, 0, ECX, 7 },
	{ "3dnowprefetch", 0x80000001, 0, ECX, 8 },
	{ "xop", 0x80000001, 0, ECX, 11 },	{ "fma4", 0x80000001, 0, ECX, 16 },
	{ "tbm", 0x80000001, 0, ECX, 21 },	{ "topoext", 0x80000001, 0, ECX, 22 },
	{ "syscall", 0x80000001, 0, EDX, 11 },	{ "nx", 0x80000001, 0, EDX, 20 },
	{ "mmxext", 0x80000001, 0, EDX, 22 },	{ "pdpe1gb", 0x80000001, 0, EDX, 26 },
	{ "rdtscp", 0x80000001, 0, EDX, 27 },	{ "lm", 0x80000001, 0, EDX, 29 },
	{ "invtsc", 0x80000007, 0, EDX, 8 },
	/*
	 * KVM's paravirtual features (leaf 0x40000001, kvm_para.h), named as
	 * QEMU names them. "kvmclock" is both MSR sets, as in QEMU, so that
	 * -kvmclock takes kvm-clock away; "kvmclock2" is the newer set alone.
	 */
	{ "kvmclock", PV, 0, EAX, KVM_FEATURE_CLOCKSOURCE },
	{ "kvmclock", PV, 0, EAX, KVM_FEATURE_CLOCKSOURCE2 },
	{ "kvmclock2", PV, 0, EAX, KVM_FEATURE_CLOCKSOURCE2 },
	{ "kvmclock-stable-bit", PV, 0, EAX, KVM_FEATURE_CLOCKSOURCE_STABLE_BIT },
	{ "kvm-nopiodelay", PV, 0, EAX, KVM_FEATURE_NOP_IO_DELAY },
	{ "kvm-asyncpf", PV, 0, EAX, KVM_FEATURE_ASYNC_PF },
	{ "kvm-asyncpf-int", PV, 0, EAX, KVM_FEATURE_ASYNC_PF_INT },
	{ "kvm-asyncpf-vmexit", PV, 0, EAX, KVM_FEATURE_ASYNC_PF_VMEXIT },
	{ "kvm-steal-time", PV, 0, EAX, KVM_FEATURE_STEAL_TIME },
	{ "kvm-pv-eoi", PV, 0, EAX, KVM_FEATURE_PV_EOI },
	{ "kvm-pv-unhalt", PV, 0, EAX, KVM_FEATURE_PV_UNHALT },
	{ "kvm-pv-tlb-flush", PV, 0, EAX, KVM_FEATURE_PV_TLB_FLUSH },
	{ "kvm-pv-ipi", PV, 0, EAX, KVM_FEATURE_PV_SEND_IPI },
	{ "kvm-pv-sched-yield", PV, 0, EAX, KVM_FEATURE_PV_SCHED_YIELD },
	{ "kvm-poll-control", PV, 0, EAX, KVM_FEATURE_POLL_CONTROL },
};

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned fn,
				    unsigned index)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum reg r)
{
	switch (r) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static const struct feature *feature_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (!strcmp(features[i].name, name))
			return &features[i];
	return NULL;
}

static uint32_t *feature_word(struct kvm_cpuid2 *c, const struct feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, f->fn, f->index);
	return e ? reg_of(e, f->reg) : NULL;
}

bool cpuid_has(struct kvm_cpuid2 *c, const char *name)
{
	enum cpuid_pv_edit leaf = cpuid_pv_leaf_edit(name);

	if (leaf != CPUID_PV_EDIT_NONE)
		return cpuid_pv_has_leaf(c, leaf);
	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		const struct feature *f = &features[i];
		uint32_t *w;

		if (strcmp(f->name, name))
			continue;
		w = feature_word(c, f);
		if (w && (*w >> f->bit & 1))
			return true;
	}
	return false;
}

void cpuid_remove_range(struct kvm_cpuid2 *c, unsigned lo, unsigned hi)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function < lo || c->entries[i].function > hi)
			c->entries[n++] = c->entries[i];
	c->nent = n;
}

int cpuid_check_edits(const struct cpu_feature_edit *edits, unsigned n,
		      char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++) {
		if (feature_lookup(edits[i].name) ||
		    cpuid_pv_leaf_edit(edits[i].name) != CPUID_PV_EDIT_NONE)
			continue;
		snprintf(err, errlen, "--cpu-features: unknown feature \"%s\" "
			 "(--cpu-features=help lists them)", edits[i].name);
		return -EINVAL;
	}
	return 0;
}

/* "+name" for one name's bits: those KVM supports; an error if none */
static int add_bits(struct kvm_cpuid2 *c, struct kvm_cpuid2 *supported,
		    const char *name, char *err, size_t errlen)
{
	bool added = false;

	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		const struct feature *f = &features[i];
		uint32_t *w, *sw;

		if (strcmp(f->name, name))
			continue;
		w = feature_word(c, f);
		sw = feature_word(supported, f);
		if (w && sw && (*sw >> f->bit & 1)) {
			*w |= 1u << f->bit;
			added = true;
		}
	}
	if (added)
		return 0;
	snprintf(err, errlen, "--cpu-features: \"%s\" cannot be added: "
		 "this host's KVM does not support it", name);
	return -ENOTSUP;
}

static void remove_bits(struct kvm_cpuid2 *c, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		uint32_t *w;

		if (strcmp(features[i].name, name))
			continue;
		w = feature_word(c, &features[i]);
		if (w)
			*w &= ~(1u << features[i].bit);
	}
}

int cpuid_edit(struct kvm_cpuid2 *c, const struct kvm_cpuid2 *supported,
	       const struct cpu_feature_edit *edits, unsigned n, char *err,
	       size_t errlen)
{
	struct kvm_cpuid2 *sup = (struct kvm_cpuid2 *)supported; /* only read */
	bool drop_kvm = false, drop_freq = false;
	int r = cpuid_check_edits(edits, n, err, errlen);

	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		const char *name = edits[i].name;
		enum cpuid_pv_edit leaf = cpuid_pv_leaf_edit(name);

		if (leaf == CPUID_PV_EDIT_NONE) {
			if (!edits[i].add)
				remove_bits(c, name);
			else if ((r = add_bits(c, sup, name, err, errlen)) < 0)
				return r;
			continue;
		}
		/*
		 * Whole leaves go at the end, so "-kvm,+kvm" keeps them: an
		 * entry once removed could not be found again here.
		 */
		if (edits[i].add && !cpuid_pv_has_leaf(c, leaf)) {
			snprintf(err, errlen, "--cpu-features: \"%s\" cannot be "
				 "added: this host's KVM does not support it", name);
			return -ENOTSUP;
		}
		if (leaf == CPUID_PV_EDIT_KVM)
			drop_kvm = !edits[i].add;
		else
			drop_freq = !edits[i].add;
	}
	if (drop_freq)
		cpuid_pv_remove(c, CPUID_PV_EDIT_FREQ);
	if (drop_kvm)
		cpuid_pv_remove(c, CPUID_PV_EDIT_KVM);
	return 0;
}

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

void cpuid_set_topology(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus)
{
	unsigned core_bits = bits_for(ncpus);

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			/* initial APIC id; logical processors per package; HTT */
			e->ebx = (e->ebx & 0x0000ffff) | apic_id << 24 |
				 (ncpus > 1 ? ncpus : 1) << 16;
			if (ncpus > 1)
				e->edx |= 1u << 28;
			else
				e->edx &= ~(1u << 28);
			break;
		case 4:
			/* cores per package - 1; one thread shares each L1/L2 */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x3fff) | (ncpus - 1) << 26 |
					 (((e->eax >> 5 & 7) >= 3 ? ncpus - 1 : 0) << 14);
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: level 0 SMT (1 thread), level 1 core */
			e->edx = apic_id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1 << 8 | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = ncpus;
				e->ecx = 2 << 8 | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdCoreIdSize */
			e->ecx = (e->ecx & ~0xf0ffu) | core_bits << 12 | (ncpus - 1);
			break;
		case 0x8000001e:
			/* AMD topoext: extended APIC id, core id, one thread/core */
			e->eax = apic_id;
			e->ebx = apic_id & 0xff;
			e->ecx = 0;
			break;
		}
	}
}

static struct kvm_cpuid2 *cpuid_alloc(unsigned nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (c)
		c->nent = nent;
	return c;
}

static size_t cpuid_size(const struct kvm_cpuid2 *c)
{
	return sizeof(*c) + c->nent * sizeof(c->entries[0]);
}

#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237 /* Linux 6.11; older headers lack it */
#endif

int cpuid_init(struct vm *vm)
{
	struct kvm_cpuid2 *sup = NULL, *offer, *c;
	char err[256];
	int r;

	/*
	 * KVM says E2BIG until the buffer is large enough. Start at 256 (KVM's
	 * own limit for years): a second probe costs ~0.6 ms of startup.
	 */
	for (unsigned n = 256; n <= 4096; n *= 2) {
		free(sup);
		sup = cpuid_alloc(n);
		if (!sup)
			return -ENOMEM;
		r = kvm_ioctl_quiet(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, sup);
		if (r != -E2BIG)
			break;
	}
	if (r < 0) {
		pt_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		free(sup);
		return r;
	}
	/*
	 * The APIC bus rate: asked of the VM, which answers with its own
	 * cycle on kernels that let a VMM change it (petrel does not).
	 */
	offer = cpuid_pv_offer(sup, cpuid_pv_apic_khz(kvm_check_cap(
					    vm->vm_fd, KVM_CAP_X86_APIC_BUS_CYCLES_NS)));
	free(sup);
	if (!offer)
		return -ENOMEM;
	c = malloc(cpuid_size(offer));
	if (!c) {
		free(offer);
		return -ENOMEM;
	}
	memcpy(c, offer, cpuid_size(offer));
	/* "+name" adds back what petrel offers, not all KVM would allow */
	r = cpuid_edit(c, offer, vm->cfg->features, vm->cfg->nr_features, err,
		       sizeof(err));
	free(offer);
	if (r < 0) {
		pt_err("%s", err);
		free(c);
		return r;
	}
	vm->cpuid = c;
	return 0;
}

/* Whether the user's last edit of name was "+name". */
static bool asked_for(const struct vm_config *cfg, const char *name)
{
	bool add = false;

	for (unsigned i = 0; i < cfg->nr_features; i++)
		if (!strcmp(cfg->features[i].name, name))
			add = cfg->features[i].add;
	return add;
}

int cpuid_apply(struct vm *vm, struct vcpu *v)
{
	struct kvm_cpuid2 *c = malloc(cpuid_size(vm->cpuid));
	bool freq;
	int khz, r;

	if (!c)
		return -ENOMEM;
	memcpy(c, vm->cpuid, cpuid_size(vm->cpuid));
	cpuid_set_topology(c, v->id, vm->cfg->ncpus);
	/* the vCPU's own rate: KVM may scale it (KVM_SET_TSC_KHZ) */
	khz = kvm_ioctl_quiet(v->fd, KVM_GET_TSC_KHZ, NULL);
	freq = cpuid_has(c, "vmware-cpuid-freq");
	cpuid_pv_set_tsc_khz(c, khz > 0 ? (uint32_t)khz : 0);
	/* silent by default: many hosts lack invtsc, and nobody asked */
	if (freq && !cpuid_has(c, "vmware-cpuid-freq") && v->id == 0 &&
	    asked_for(vm->cfg, "vmware-cpuid-freq"))
		pt_warn("--cpu-features=+vmware-cpuid-freq: no frequency leaf, as %s",
			khz > 0 ? "the guest's CPUID has no invtsc"
				: "KVM does not know the TSC frequency");
	r = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return r;
}

void cpuid_list_features(FILE *out)
{
	size_t col = 0;

	fprintf(out, "CPUID feature names for --cpu-features (as in /proc/cpuinfo):\n");
	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		const struct feature *f = &features[i];

		if (f->fn == CPUID_PV_FEATURES && i > 0 && features[i - 1].fn != f->fn) {
			fprintf(out, "%sKVM paravirtual features (leaf 0x40000001, QEMU's names;"
				" kvmclock = both MSR sets):\n",
				col ? "\n" : "");
			col = 0;
		}
		if (i > 0 && !strcmp(features[i - 1].name, f->name))
			continue; /* one name, several bits */
		fprintf(out, "%s%s", col ? " " : "", f->name);
		if (++col == 8) {
			fputc('\n', out);
			col = 0;
		}
	}
	if (col)
		fputc('\n', out);
	fprintf(out, "Whole leaves:\n"
		"kvm                the KVM leaves 0x40000000-0x400000ff: -kvm hides KVM\n"
		"vmware-cpuid-freq  leaf 0x40000010: TSC and local APIC bus kHz\n");
}
