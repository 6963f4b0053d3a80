/*
 * A stop request reaches every vCPU, whatever part of their creation and
 * start it races with (the I/O thread may see SIGTERM or Ctrl-A x at
 * any moment, also while vm_create_vcpus and vm_run are still running):
 *
 * 1. kick: the stop comes while vcpu_start is starting a vCPU whose thread
 *    is already inside KVM_RUN, running guest code that never exits (CPL3,
 *    native here). KVM reads immediate_exit only on entry to KVM_RUN, so
 *    only the kick signal can get that vCPU out. If vm_request_stop sees a
 *    vCPU whose thread runs but is not yet marked started, it sends no kick
 *    and vm_run waits for that thread forever. That window is a few
 *    instructions wide; the test holds it open by wrapping pthread_create:
 *    for the vCPU's thread the wrapper returns only once the stop request
 *    has returned, or after HOLD_MS (with vcpu_start and vm_request_stop
 *    serialised, the stop waits for vcpu_start, and the wrapper gives up).
 * 2. late: vCPUs created after a stop request (the request came while
 *    vm_create_vcpus ran) get immediate_exit too, vm_run starts no thread
 *    for them and returns the stop's status.
 */
#ifdef GUEST
#include "guest.h"

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	GUEST_SYNC(1);
	for (;;) /* no exit: only a signal gets this vCPU out of KVM_RUN */
		cpu_relax();
}

#else
#include <dlfcn.h>
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"
#include "petrel/exitcode.h"

#define HOLD_MS 1000      /* how long the wrapper holds vcpu_start back */
#define SETTLE_MS 100     /* after the guest's SYNC: it is back in KVM_RUN */
#define HANG_MS 10000     /* no vm_run return by then: the kick was lost */

struct race {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kit_vm *k;
	const void *hold;   /* the pthread_create argument to hold back */
	bool synced;        /* the guest is in its endless loop */
	bool stop_returned; /* vm_request_stop came back */
	bool run_returned;  /* kit_run came back */
};

/*
 * The test's one piece of process-wide state: a pthread_create wrapper
 * cannot be handed a pointer. Set before kit_run, cleared after it.
 */
static struct race *armed;

static void set_flag(struct race *r, bool *flag)
{
	pthread_mutex_lock(&r->lock);
	*flag = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Waits up to ms for *flag; returns it. */
static bool wait_flag(struct race *r, const bool *flag, unsigned ms)
{
	struct timespec until;
	bool v;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (!*flag && pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
		;
	v = *flag;
	pthread_mutex_unlock(&r->lock);
	return v;
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/*
 * Every pthread_create of this process (petrel's library included) comes
 * here; only the one starting the held-back vCPU waits after creating it.
 */
int pthread_create(pthread_t *restrict t, const pthread_attr_t *restrict attr,
		   void *(*fn)(void *), void *restrict arg)
{
	create_fn real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
	struct race *r = __atomic_load_n(&armed, __ATOMIC_ACQUIRE);
	int err;

	if (!real)
		return EAGAIN;
	err = real(t, attr, fn, arg);
	if (!err && r && arg == r->hold)
		wait_flag(r, &r->stop_returned, HOLD_MS);
	return err;
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct race *r = k->opts.opaque;

	(void)v;
	if (uc->cmd == KIT_UCALL_SYNC && uc->args[0] == 1)
		set_flag(r, &r->synced);
	return KIT_CONTINUE;
}

static void *stopper(void *arg)
{
	struct race *r = arg;

	if (!wait_flag(r, &r->synced, HANG_MS))
		kit_fail(r->k, "the guest never reached its loop");
	nanosleep(&(struct timespec){ 0, SETTLE_MS * 1000000L }, NULL);
	vm_request_stop(&r->k->vm, EXIT_TERMINATED, "stop while vcpu_start runs");
	set_flag(r, &r->stop_returned);
	if (!wait_flag(r, &r->run_returned, HANG_MS)) {
		/* the vCPU spins in the guest for ever: nothing to clean up */
		printf("FAIL: vm_run did not return within %u ms of the stop: the "
		       "vCPU started during the stop request was never kicked\n", HANG_MS);
		fflush(stdout);
		_exit(1);
	}
	return NULL;
}

static int test_kick(void)
{
	struct race r = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct kit_vm k;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .on_ucall = on_ucall, .opaque = &r,
			      .timeout_ms = 2 * HANG_MS };
	pthread_t t;
	int err = kit_vm_create(&k, &o), status;

	if (err) {
		kit_finish(&k);
		return err == KIT_SKIP ? KIT_SKIP : 1;
	}
	r.k = &k;
	r.hold = &k.vm.vcpus[0];
	__atomic_store_n(&armed, &r, __ATOMIC_RELEASE);
	KIT_CHECK_EQ(&k, pthread_create(&t, NULL, stopper, &r), 0);
	status = kit_run(&k);
	set_flag(&r, &r.run_returned);
	pthread_join(t, NULL);
	__atomic_store_n(&armed, NULL, __ATOMIC_RELEASE);
	KIT_CHECK_EQ(&k, status, EXIT_TERMINATED);
	KIT_CHECK(&k, r.synced && r.stop_returned);
	KIT_CHECK(&k, !strcmp(k.vm.stop.reason, "stop while vcpu_start runs"));
	printf("kick: the stop reached the vCPU started during it (status %d)\n", status);
	return kit_finish(&k);
}

static int test_late(void)
{
	struct vm_config cfg = { .mem_size = 64ULL << 20, .ncpus = 2, .console = CONSOLE_NONE };
	struct vm vm;
	sigset_t kick, saved;
	int fails = 0, err, status;

	/* as petrel's main does: the kick signal is for vCPU threads only */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, &saved);
	if ((err = vm_create_machine(&vm, &cfg)) < 0) {
		printf("FAIL: vm_create_machine: %s\n", strerror(-err));
		vm_destroy(&vm);
		return 1;
	}
	vm_request_stop(&vm, EXIT_TERMINATED, "stop before the vCPUs exist");
	if ((err = vm_create_vcpus(&vm)) < 0) {
		printf("FAIL: vm_create_vcpus: %s\n", strerror(-err));
		fails++;
	}
	if (vm.nr_vcpus != cfg.ncpus) {
		printf("FAIL: %u vCPUs created, want %u\n", vm.nr_vcpus, cfg.ncpus);
		fails++;
	}
	for (unsigned i = 0; i < vm.nr_vcpus; i++) {
		if (!vm.vcpus[i].run->immediate_exit) {
			printf("FAIL: vcpu%u, created after the stop, has no immediate_exit\n", i);
			fails++;
		}
	}
	status = vm_run(&vm);
	if (status != EXIT_TERMINATED) {
		printf("FAIL: vm_run returned %d, want %d\n", status, EXIT_TERMINATED);
		fails++;
	}
	vm_destroy(&vm);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (!fails)
		printf("late: vCPUs created after the stop never ran (status %d)\n", status);
	return fails ? 1 : 0;
}

int main(void)
{
	int r = test_kick();

	if (r == KIT_SKIP)
		return KIT_SKIP;
	return test_late() || r ? 1 : 0;
}
#endif
