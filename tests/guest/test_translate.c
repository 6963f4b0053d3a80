/*
 * KVM_TRANSLATE (vcpu_translate, vcpu_read_virt) agrees with the page
 * tables: the kit's identity map, and a non-identity mapping the guest
 * builds itself at CPL3 in the kit's spare pages (a 4 KiB page and a 2 MiB
 * page at 1 GiB + x, pointing elsewhere in RAM), with unmapped neighbours.
 */
#define PD_NEW KIT_SPARE_PAGES
#define PT_NEW (KIT_SPARE_PAGES + 0x1000)
#define VA_BASE 0x40000000ULL            /* PDPT[1]: nothing there yet */
#define VA_4K (VA_BASE + 5 * 0x1000)     /* -> PA_4K */
#define VA_2M (VA_BASE + 0x200000)       /* PD[1], a 2 MiB page -> PA_2M */
#define PA_4K 0x600000ULL
#define PA_2M 0x800000ULL
#define MAGIC 0xfeedfaceu

#ifdef GUEST
#include "guest.h"

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	volatile uint64_t *pdpt = (volatile uint64_t *)KIT_PDPT;
	volatile uint64_t *pd = (volatile uint64_t *)PD_NEW;
	volatile uint64_t *pt = (volatile uint64_t *)PT_NEW;

	(void)a0, (void)a1, (void)a2, (void)a3;
	GUEST_ASSERT_EQ(pdpt[1], 0);
	/* never-present entries cannot be in the TLB: no invlpg (CPL0) needed */
	pt[5] = PA_4K | 7;              /* P, W, U */
	pd[0] = PT_NEW | 7;
	pd[1] = PA_2M | 0x80 | 7;       /* PS: a 2 MiB page */
	pdpt[1] = PD_NEW | 7;

	*(volatile uint32_t *)(VA_4K + 0x123) = MAGIC;
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(PA_4K + 0x123), MAGIC);
	*(volatile uint32_t *)(VA_2M + 0x1abc) = MAGIC + 1;
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(PA_2M + 0x1abc), MAGIC + 1);
	GUEST_SYNC(1);
}

#else
#include <errno.h>
#include <stdio.h>

#include "kit.h"
#include "petrel/vcpu_mem.h"

static void expect(struct kit_vm *k, struct vcpu *v, uint64_t gva, int err, uint64_t gpa)
{
	uint64_t got = 0;
	int r = vcpu_translate(v, gva, &got);

	if (r != err || (err == 0 && got != gpa))
		kit_fail(k, "translate 0x%llx: got %d/0x%llx, want %d/0x%llx",
			 (unsigned long long)gva, r, (unsigned long long)got, err,
			 (unsigned long long)gpa);
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	uint32_t val = 0;

	KIT_CHECK_EQ(k, uc->args[0], 1);
	expect(k, v, VA_4K + 0x123, 0, PA_4K + 0x123);
	expect(k, v, VA_4K + 0xfff, 0, PA_4K + 0xfff);
	expect(k, v, VA_4K + 0x1000, -EFAULT, 0);  /* PT[6]: not present */
	expect(k, v, VA_4K - 0x1000, -EFAULT, 0);  /* PT[4] */
	expect(k, v, VA_2M + 0x1abc, 0, PA_2M + 0x1abc);
	expect(k, v, VA_2M + 0x1fffff, 0, PA_2M + 0x1fffff);
	expect(k, v, VA_2M + 0x200000, -EFAULT, 0); /* PD[2] */
	expect(k, v, 0x80000000ULL, -EFAULT, 0);    /* PDPT[2] */
	expect(k, v, 0x8000000000ULL, -EFAULT, 0);  /* PML4[1] */
	expect(k, v, 0x500123, 0, 0x500123);        /* the kit's identity map */
	expect(k, v, KIT_LAPIC + 0x20, 0, KIT_LAPIC + 0x20);
	KIT_CHECK_EQ(k, vcpu_read_virt(v, VA_4K + 0x123, &val, 4), 4);
	KIT_CHECK_EQ(k, val, MAGIC);
	KIT_CHECK_EQ(k, vcpu_read_virt(v, VA_2M + 0x1abc, &val, 4), 4);
	KIT_CHECK_EQ(k, val, MAGIC + 1);
	/* a read running into the unmapped page stops there */
	KIT_CHECK_EQ(k, vcpu_read_virt(v, VA_4K + 0xffe, &val, 4), 2);
	*(int *)k->opts.opaque = 1;
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	int done = 0;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .on_ucall = on_ucall, .opaque = &done };
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, done, 1);
	return kit_finish(&k);
}
#endif
