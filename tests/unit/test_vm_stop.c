/*
 * vm_request_stop against the code that builds and starts the vCPUs, on a
 * VM made by hand (no /dev/kvm): its vCPUs have fd -1, so a vCPU thread's
 * first KVM_RUN fails with EBADF and that thread itself stops the VM, as a
 * real vCPU does on a KVM_RUN error. Their kvm_run pages are anonymous
 * memory, so vm_request_stop's immediate_exit stores land somewhere real
 * and vm_destroy can unmap them.
 *
 * What needs KVM (a vCPU spinning inside KVM_RUN when the stop comes; vCPUs
 * created after a stop) is in tests/guest/test_stop_race.c.
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

#define NR_VCPUS 8

struct fixture {
	struct vm_config cfg;
	struct vm vm;
};

static void fake_vm(struct fixture *f, unsigned ncpus)
{
	memset(f, 0, sizeof(*f));
	fake_vm_init(&f->vm, &f->cfg, ncpus);
}

static int setup(void **state)
{
	static struct fixture f;

	fake_vm(&f, NR_VCPUS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(&f->vm);
	return 0;
}

static bool all_immediate_exit(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (!__atomic_load_n(&vm->vcpus[i].run->immediate_exit, __ATOMIC_SEQ_CST))
			return false;
	return true;
}

/*
 * A vCPU may not be started once the VM is stopping: a thread started then
 * would be kicked by nobody (the stop has already gone round the vCPUs).
 */
static void test_no_start_after_stop(void **state)
{
	struct fixture *f = *state;
	struct vcpu *v = &f->vm.vcpus[0];
	bool started;
	int err;

	vm_request_stop(&f->vm, EXIT_TERMINATED, "test stop");
	assert_true(vm_stopping(&f->vm));
	assert_true(all_immediate_exit(&f->vm));
	err = vcpu_start(v);
	started = v->thread_started;
	if (started) { /* joined before asserting: never leave it running */
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
	assert_int_equal(err, -ECANCELED);
	assert_false(started);
	assert_int_equal(f->vm.stop.status, EXIT_TERMINATED);
	assert_string_equal(f->vm.stop.reason, "test stop");
}

/* vm_run on a VM stopped before it starts: no thread, the stop's status. */
static void test_run_after_stop(void **state)
{
	struct fixture *f = *state;

	vm_request_stop(&f->vm, EXIT_TERMINATED, "stopped before vm_run");
	assert_int_equal(vm_run(&f->vm), EXIT_TERMINATED);
	for (unsigned i = 0; i < f->vm.nr_vcpus; i++)
		assert_false(f->vm.vcpus[i].thread_started);
	assert_string_equal(f->vm.stop.reason, "stopped before vm_run");
}

/* The first stop wins, whoever makes it; the others change nothing. */
static void test_first_stop_wins(void **state)
{
	struct fixture *f = *state;

	vm_request_stop(&f->vm, EXIT_GUEST_OFF, "first");
	vm_request_stop(&f->vm, EXIT_TERMINATED, "second");
	assert_int_equal(f->vm.stop.status, EXIT_GUEST_OFF);
	assert_string_equal(f->vm.stop.reason, "first");
	assert_int_equal(vm_run(&f->vm), EXIT_GUEST_OFF);
}

struct stopper {
	struct vm *vm;
	unsigned spin; /* how long to wait before stopping */
};

static void *stopper(void *arg)
{
	struct stopper *s = arg;

	for (volatile unsigned i = 0; i < s->spin; i++)
		;
	vm_request_stop(s->vm, EXIT_TERMINATED, "console");
	return NULL;
}

/*
 * The I/O thread stopping the VM while vm_run starts the vCPUs, at
 * many different moments. Either stop may win (the console's, or a vCPU's
 * own on its failed KVM_RUN), vm_run must return, and no thread may be
 * left behind. Without KVM the vCPUs never block, so this cannot show a
 * lost kick (test_stop_race in the guest tier does); what it shows is the
 * interleavings of the writers (vcpu_start, vm_run's joins) with the
 * reader under a race detector: a ThreadSanitizer build reports the
 * unlocked thread_started/thread accesses at once.
 */
static void test_stop_while_starting(void **state)
{
	struct fixture *f = *state;

	for (unsigned round = 0; round < 200; round++) {
		struct stopper s = { &f->vm, (round * 7919u) % 20000 };
		pthread_t t;
		int status;

		if (round) {
			vm_destroy(&f->vm);
			fake_vm(f, NR_VCPUS);
		}
		assert_int_equal(pthread_create(&t, NULL, stopper, &s), 0);
		status = vm_run(&f->vm);
		pthread_join(t, NULL);
		assert_true(status == EXIT_TERMINATED || status == EXIT_VMM_ERROR);
		assert_true(all_immediate_exit(&f->vm));
		for (unsigned i = 0; i < f->vm.nr_vcpus; i++)
			assert_false(f->vm.vcpus[i].thread_started);
	}
}

int main(void)
{
	sigset_t kick;

	/* as petrel's main does: the kick signal is for vCPU threads only */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_no_start_after_stop),
		T(test_run_after_stop),
		T(test_first_stop_wins),
		T(test_stop_while_starting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
