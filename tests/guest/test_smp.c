/*
 * SMP: two vCPUs. The BSP (CPL3) starts the AP with INIT-SIPI-SIPI through
 * its LAPIC's ICR; the AP starts in real mode at the SIPI page (the kit's
 * trampoline reports its CS), the kit puts it in long mode at CPL3, and both
 * vCPUs report their cpu index and APIC ID from their own vCPU threads.
 */
#define ICR_INIT 0x00000500u
#define ICR_SIPI 0x00000600u
#define ICR_ASSERT 0x00004000u
#define ICR_ALL_BUT_SELF 0x000c0000u

#ifdef GUEST
#include "guest.h"

static volatile uint64_t ap_alive;

void guest_ap_main(unsigned cpu, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	GUEST_SYNC(2, cpu, lapic_id());
	ap_alive = 0xa9000000u | cpu;
}

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	lapic_write(LAPIC_SVR, 0x1ff);
	GUEST_SYNC(1, 0, lapic_id());
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	/* the AP's real-mode trampoline is emulated: give it time (native spin) */
	for (unsigned long i = 0; i < 500000000 && !ap_alive; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(ap_alive, 0xa9000001u);
	GUEST_SYNC(3);
}

#else
#include <stdio.h>
#include <string.h>

#include "kit.h"

struct report {
	pthread_mutex_t lock;
	unsigned seen;            /* bit per stage */
	uint64_t cpu[2], apic[2];
	unsigned vcpu_of_stage[4];
};

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct report *r = k->opts.opaque;
	unsigned stage = (unsigned)uc->args[0];

	if (stage < 1 || stage > 3)
		return kit_fail_stop(k, "unexpected stage %u", stage);
	pthread_mutex_lock(&r->lock); /* the two vCPU threads report concurrently */
	r->seen |= 1u << stage;
	r->vcpu_of_stage[stage] = v->id;
	if (stage <= 2) {
		r->cpu[stage - 1] = uc->args[1];
		r->apic[stage - 1] = uc->args[2];
	}
	pthread_mutex_unlock(&r->lock);
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	struct report rep = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .ncpus = 2, .on_ucall = on_ucall,
			      .opaque = &rep };
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, rep.seen, 0xe);
	KIT_CHECK_EQ(&k, rep.vcpu_of_stage[1], 0);
	KIT_CHECK_EQ(&k, rep.vcpu_of_stage[2], 1);
	KIT_CHECK_EQ(&k, rep.vcpu_of_stage[3], 0);
	KIT_CHECK_EQ(&k, rep.cpu[0], 0);
	KIT_CHECK_EQ(&k, rep.cpu[1], 1);
	KIT_CHECK_EQ(&k, rep.apic[0], 0);
	KIT_CHECK_EQ(&k, rep.apic[1], 1);
	KIT_CHECK_EQ(&k, k.cpu[1].sipi_cs, KIT_SIPI_VECTOR << 8);
	KIT_CHECK(&k, k.cpu[1].entered);
	KIT_CHECK(&k, strcmp(k.cpu[0].thread_name, "vcpu0") == 0);
	KIT_CHECK(&k, strcmp(k.cpu[1].thread_name, "vcpu1") == 0);
	return kit_finish(&k);
}
#endif
