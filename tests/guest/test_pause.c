/*
 * vm_pause / vm_resume against KVM, with two vCPUs: both count in guest
 * memory at native speed (CPL3, no exits), and the BSP also reads a test
 * port every 4096 counts, so pauses land both inside KVM_RUN (the kick
 * signal gets the vCPU out) and around PIO exits. Paused, neither counter
 * moves and both vCPUs' registers can be read from another thread; resumed,
 * both move again. The BSP checks that every IN returned the port's next
 * value (a pause completes the pending IN, it neither loses nor repeats
 * one). At the end the host writes a stop flag and the guest finishes.
 */
#define PORT_SEQ 0x5e0

#ifdef GUEST
#include "guest.h"

#define ICR_INIT 0x00000500u
#define ICR_SIPI 0x00000600u
#define ICR_ASSERT 0x00004000u
#define ICR_ALL_BUT_SELF 0x000c0000u

static volatile uint64_t count[2];
static volatile uint64_t quit;

void guest_ap_main(unsigned cpu, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	GUEST_SYNC(2, cpu);
	while (!quit)
		count[1]++;
}

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint32_t seq = 0;

	(void)a0, (void)a1, (void)a2, (void)a3;
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	GUEST_SYNC(1, (uint64_t)&count[0], (uint64_t)&quit);
	while (!quit) {
		if ((++count[0] & 0xfff) == 0) {
			uint32_t v = inl(PORT_SEQ);
			GUEST_ASSERT_EQ(v, seq + 1);
			seq = v;
		}
	}
	GUEST_SYNC(3, seq);
}

#else
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "kit.h"
#include "petrel/bus.h"

#define ROUNDS 20

struct state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned synced;     /* bit per stage */
	uint64_t count_gva, quit_gva;
	uint32_t seq;        /* the port's last value */
	uint64_t final_seq;
};

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct state *s = opaque;

	(void)off, (void)size;
	return __atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST);
}

static void port_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)opaque, (void)off, (void)value, (void)size;
}

static const struct bus_dev_ops port_ops = { .read = port_read, .write = port_write };

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct state *s = k->opts.opaque;

	(void)v;
	pthread_mutex_lock(&s->lock);
	s->synced |= 1u << uc->args[0];
	if (uc->args[0] == 1) {
		s->count_gva = uc->args[1];
		s->quit_gva = uc->args[2];
	} else if (uc->args[0] == 3) {
		s->final_seq = uc->args[1];
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return KIT_CONTINUE;
}

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

static int get_regs(struct vcpu *v, void *arg)
{
	return ioctl(v->fd, KVM_GET_REGS, arg) < 0 ? -errno : 0;
}

struct driver {
	struct kit_vm *k;
	struct state *s;
};

static void read_counts(struct kit_vm *k, uint64_t gpa, uint64_t c[2])
{
	volatile uint64_t *p = gpa_ptr(&k->vm.mem, gpa, 16);

	c[0] = p ? p[0] : 0;
	c[1] = p ? p[1] : 0;
}

/* Waits until both counters moved by at least 1000 from c; false on timeout. */
static bool moving(struct kit_vm *k, uint64_t gpa, const uint64_t c[2])
{
	for (unsigned ms = 0; ms < 10000; ms += 5) {
		uint64_t n[2];
		read_counts(k, gpa, n);
		if (n[0] >= c[0] + 1000 && n[1] >= c[1] + 1000)
			return true;
		sleep_ms(5);
	}
	return false;
}

static void *driver(void *arg)
{
	struct driver *d = arg;
	struct kit_vm *k = d->k;
	struct state *s = d->s;
	uint64_t c[2] = { 0, 0 }, after[2];
	volatile uint64_t *quit;

	pthread_mutex_lock(&s->lock);
	while ((s->synced & 6) != 6 && !vm_stopping(&k->vm))
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (vm_stopping(&k->vm))
		return NULL;
	if (!KIT_CHECK(k, moving(k, s->count_gva, c)))
		goto out;
	for (int round = 0; round < ROUNDS; round++) {
		struct kvm_regs r[2];
		int err = vm_pause(&k->vm);

		if (err) {
			kit_fail(k, "round %d: vm_pause: %s", round, strerror(-err));
			break;
		}
		KIT_CHECK(k, vm_paused(&k->vm));
		read_counts(k, s->count_gva, c);
		for (unsigned i = 0; i < 2; i++) {
			KIT_CHECK_EQ(k, atomic_load(&k->vm.vcpus[i].state), VCPU_PARKED);
			KIT_CHECK_EQ(k, vcpu_call_parked(&k->vm.vcpus[i], get_regs, &r[i]), 0);
		}
		sleep_ms(round % 4 ? 5 : 50);
		read_counts(k, s->count_gva, after);
		KIT_CHECK_EQ(k, after[0], c[0]);
		KIT_CHECK_EQ(k, after[1], c[1]);
		for (unsigned i = 0; i < 2; i++) {
			struct kvm_regs again;
			KIT_CHECK_EQ(k, vcpu_call_parked(&k->vm.vcpus[i], get_regs, &again), 0);
			KIT_CHECK_EQ(k, again.rip, r[i].rip);
		}
		vm_resume(&k->vm);
		KIT_CHECK(k, !vm_paused(&k->vm));
		if (!KIT_CHECK(k, moving(k, s->count_gva, c)))
			break;
		if (kit_failures(k))
			break;
	}
out:
	quit = gpa_ptr(&k->vm.mem, s->quit_gva, 8);
	if (quit)
		*quit = 1;
	return NULL;
}

int main(void)
{
	struct kit_vm k;
	struct state s = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .ncpus = 2, .on_ucall = on_ucall,
			      .opaque = &s, .timeout_ms = 60000 };
	struct driver d = { &k, &s };
	pthread_t t;
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	if (bus_insert(&k.vm.pio, PORT_SEQ, 4, &port_ops, &s, "seq") < 0) {
		kit_fail(&k, "bus_insert");
		return kit_finish(&k);
	}
	pthread_create(&t, NULL, driver, &d);
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	/* a stopped VM wakes the driver's wait (kit_run's stop broadcasts) */
	pthread_mutex_lock(&s.lock);
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
	pthread_join(t, NULL);
	KIT_CHECK_EQ(&k, s.synced, 0xe);
	KIT_CHECK_EQ(&k, s.final_seq, s.seq);
	printf("pause: %d rounds, %u port reads\n", ROUNDS, s.seq);
	return kit_finish(&k);
}
#endif
