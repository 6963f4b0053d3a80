/*
 * Pause and resume (vm_pause.c) with fake vCPU threads on a VM made by hand
 * (no /dev/kvm). Each fake vCPU runs the same protocol as vcpu.c's loop:
 * park when pause_req is set, and treat a set immediate_exit as KVM_RUN's
 * EINTR; its "guest" counts, so a parked vCPU is one whose counter stands
 * still. The real loop against KVM (kicks out of KVM_RUN, completed PIO
 * before a pause) is tests/guest/test_pause.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "petrel/exitcode.h"
#include "petrel/vm.h"

#include "fake_vm.h"

#define NR_VCPUS 2

struct fixture {
	struct vm_config cfg;
	struct vm vm;
	atomic_ulong count[NR_VCPUS];
	/* vCPU n calls vm_pause_from_vcpu when its count reaches this (0: never) */
	atomic_ulong pause_at[NR_VCPUS];
	atomic_bool stuck[NR_VCPUS]; /* ignores pause requests while set */
};

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

static struct fixture *fixture_of(struct vcpu *v);

static void *fake_vcpu(void *arg)
{
	struct vcpu *v = arg;
	struct fixture *f = fixture_of(v);

	vcpu_loop_begin(v);
	while (!vm_stopping(v->vm)) {
		unsigned long n;

		if (atomic_load(&f->stuck[v->id])) {
			sleep_ms(1);
			continue;
		}
		if (atomic_load(&v->pause_req)) {
			vcpu_park(v);
			continue;
		}
		/* "KVM_RUN" */
		if (__atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST)) {
			if (vcpu_wants_park(v))
				vcpu_park(v);
			continue;
		}
		n = atomic_fetch_add(&f->count[v->id], 1) + 1;
		if (n == atomic_load(&f->pause_at[v->id]))
			vm_pause_from_vcpu(v); /* an exit hook's breakpoint */
		sched_yield();
	}
	vcpu_loop_end(v);
	return NULL;
}

static struct fixture the_fixture;

static struct fixture *fixture_of(struct vcpu *v)
{
	(void)v;
	return &the_fixture;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static int setup(void **state)
{
	struct fixture *f = &the_fixture;
	struct vm *vm = &f->vm;
	struct sigaction sa = { .sa_handler = kick_handler };

	memset(f, 0, sizeof(*f));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	fake_vm_init(vm, &f->cfg, NR_VCPUS);
	pthread_mutex_lock(&vm->stop.lock);
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		assert_int_equal(pthread_create(&vm->vcpus[i].thread, NULL, fake_vcpu,
						&vm->vcpus[i]), 0);
		vm->vcpus[i].thread_started = true;
	}
	pthread_mutex_unlock(&vm->stop.lock);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < NR_VCPUS; i++)
		atomic_store(&f->stuck[i], false);
	vm_request_stop(&f->vm, EXIT_TERMINATED, "test over");
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		pthread_join(f->vm.vcpus[i].thread, NULL);
		f->vm.vcpus[i].thread_started = false;
		assert_int_equal(atomic_load(&f->vm.vcpus[i].state), VCPU_STOPPED);
	}
	vm_destroy(&f->vm);
	return 0;
}

/* Waits until every vCPU's counter passed its value now by at least 10. */
static void wait_moving(struct fixture *f, const bool *which)
{
	unsigned long start[NR_VCPUS];

	for (unsigned i = 0; i < NR_VCPUS; i++)
		start[i] = atomic_load(&f->count[i]);
	for (unsigned ms = 0;; ms++) {
		bool all = true;
		for (unsigned i = 0; i < NR_VCPUS; i++)
			if ((!which || which[i]) && atomic_load(&f->count[i]) < start[i] + 10)
				all = false;
		if (all)
			return;
		assert_true(ms < 5000);
		sleep_ms(1);
	}
}

static void assert_still(struct fixture *f, unsigned i)
{
	unsigned long c = atomic_load(&f->count[i]);

	sleep_ms(30);
	assert_int_equal(atomic_load(&f->count[i]), c);
	assert_int_equal(atomic_load(&f->vm.vcpus[i].state), VCPU_PARKED);
}

static void test_pause_resume(void **state)
{
	struct fixture *f = *state;

	wait_moving(f, NULL);
	assert_false(vm_paused(&f->vm));
	assert_int_equal(vm_pause(&f->vm), 0);
	assert_true(vm_paused(&f->vm));
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		assert_still(f, i);
		assert_int_not_equal(atomic_load(&f->vm.vcpus[i].tid), 0);
	}
	/* idempotent */
	assert_int_equal(vm_pause(&f->vm), 0);
	vm_resume(&f->vm);
	wait_moving(f, NULL);
	assert_false(vm_paused(&f->vm));
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		assert_int_equal(atomic_load(&f->vm.vcpus[i].state), VCPU_RUNNING);
		/* the pause's immediate_exit is gone, or the vCPU could not run */
		assert_int_equal(__atomic_load_n(&f->vm.vcpus[i].run->immediate_exit,
						 __ATOMIC_SEQ_CST), 0);
	}
	/* many rounds: no lost wake-up, no pause that never returns */
	for (int round = 0; round < 200; round++) {
		assert_int_equal(vm_pause(&f->vm), 0);
		vm_resume(&f->vm);
	}
	wait_moving(f, NULL);
}

static int park_read(struct vcpu *v, void *arg)
{
	*(int *)arg = (int)v->id + 100;
	return 7;
}

/* A debugger steps one vCPU while the other stays parked. */
static void test_resume_some(void **state)
{
	struct fixture *f = *state;
	bool only0[NR_VCPUS] = { true, false };
	int got = 0;

	assert_int_equal(vcpu_call_parked(&f->vm.vcpus[1], park_read, &got), -EBUSY);
	assert_int_equal(vm_pause(&f->vm), 0);
	assert_int_equal(vcpu_call_parked(&f->vm.vcpus[1], park_read, &got), 7);
	assert_int_equal(got, 101);
	vm_resume_vcpus(&f->vm, only0);
	wait_moving(f, only0);
	assert_still(f, 1);
	assert_false(vm_paused(&f->vm));
	assert_int_equal(vcpu_call_parked(&f->vm.vcpus[0], park_read, &got), -EBUSY);
	assert_int_equal(vm_pause(&f->vm), 0);
	assert_still(f, 0);
	vm_resume(&f->vm);
	wait_moving(f, NULL);
}

/* A breakpoint in vCPU 0's exit hook parks every vCPU. */
static void test_pause_from_vcpu(void **state)
{
	struct fixture *f = *state;
	unsigned long at = atomic_load(&f->count[0]) + 50;

	atomic_store(&f->pause_at[0], at);
	assert_int_equal(vm_wait_paused(&f->vm), 0);
	assert_int_equal(atomic_load(&f->count[0]), at);
	assert_still(f, 0);
	assert_still(f, 1);
	vm_resume(&f->vm);
	wait_moving(f, NULL);
}

/* A stop wakes parked vCPUs, and a pause that waits returns -ECANCELED. */
static void test_stop_wins(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vm_pause(&f->vm), 0);
	vm_request_stop(&f->vm, EXIT_GUEST_OFF, "stop while paused");
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		pthread_join(f->vm.vcpus[i].thread, NULL);
		assert_int_equal(atomic_load(&f->vm.vcpus[i].state), VCPU_STOPPED);
	}
	assert_int_equal(vm_pause(&f->vm), -ECANCELED);
	assert_int_equal(vm_wait_paused(&f->vm), -ECANCELED);
	/* the stop's immediate_exit stays */
	for (unsigned i = 0; i < NR_VCPUS; i++)
		assert_int_equal(__atomic_load_n(&f->vm.vcpus[i].run->immediate_exit,
						 __ATOMIC_SEQ_CST), 1);
	/* joined: teardown must not join again */
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		assert_int_equal(pthread_create(&f->vm.vcpus[i].thread, NULL, fake_vcpu,
						&f->vm.vcpus[i]), 0);
	}
}

struct pauser {
	struct vm *vm;
	int result;
	atomic_bool done;
};

static void *pauser(void *arg)
{
	struct pauser *p = arg;

	p->result = vm_pause(p->vm);
	atomic_store(&p->done, true);
	return NULL;
}

/* A vCPU that does not park keeps vm_pause waiting, until a stop. */
static void test_stop_during_pause(void **state)
{
	struct fixture *f = *state;
	struct pauser p = { .vm = &f->vm };
	pthread_t t;

	atomic_store(&f->stuck[1], true);
	assert_int_equal(pthread_create(&t, NULL, pauser, &p), 0);
	sleep_ms(50);
	assert_false(atomic_load(&p.done));
	assert_int_equal(atomic_load(&f->vm.vcpus[0].state), VCPU_PARKED);
	vm_request_stop(&f->vm, EXIT_TERMINATED, "stop during a pause");
	pthread_join(t, NULL);
	assert_int_equal(p.result, -ECANCELED);
}

int main(void)
{
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pause_resume),
		T(test_resume_some),
		T(test_pause_from_vcpu),
		T(test_stop_wins),
		T(test_stop_during_pause),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
