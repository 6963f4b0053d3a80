/*
 * Pause and resume: every vCPU leaves KVM_RUN and waits, so that its
 * registers and guest memory are stable (the control API, the GDB stub).
 *
 * All of it runs under vm->stop.lock and waits on vm->stop.cond, the lock
 * and condition a stop already uses: a stop then wakes parked vCPUs and
 * pausers with the broadcast it makes anyway, and there is no second lock
 * to order against it. The vCPU's fast path reads only v->pause_req (and
 * immediate_exit after an EINTR), without the lock.
 *
 * How a running vCPU is reached: a pause sets pause_req, then
 * immediate_exit, then kicks the thread, all under the lock. A vCPU about
 * to enter KVM_RUN either sees pause_req, or enters with immediate_exit
 * set (KVM returns EINTR at once), or is inside and is knocked out by the
 * signal. immediate_exit also makes KVM complete a pending PIO/MMIO exit
 * before it returns, so the registers a parked vCPU shows are final.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "petrel/exitcode.h"
#include "petrel/util.h"
#include "petrel/vm.h"

#include <linux/kvm.h>

const char *vcpu_state_name(enum vcpu_state s)
{
	switch (s) {
	case VCPU_NOT_STARTED: return "not started";
	case VCPU_RUNNING: return "running";
	case VCPU_PARKED: return "paused";
	case VCPU_STOPPED: return "stopped";
	}
	return "unknown";
}

static void set_state(struct vcpu *v, enum vcpu_state s)
{
	atomic_store(&v->state, (int)s);
	pthread_cond_broadcast(&v->vm->stop.cond);
}

void vcpu_loop_begin(struct vcpu *v)
{
	pthread_mutex_lock(&v->vm->stop.lock);
	atomic_store(&v->tid, (int)gettid());
	set_state(v, VCPU_RUNNING);
	pthread_mutex_unlock(&v->vm->stop.lock);
}

void vcpu_loop_end(struct vcpu *v)
{
	pthread_mutex_lock(&v->vm->stop.lock);
	set_state(v, VCPU_STOPPED);
	pthread_mutex_unlock(&v->vm->stop.lock);
}

bool vcpu_wants_park(struct vcpu *v)
{
	return atomic_load(&v->pause_req) ||
	       (v->run && __atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST));
}

void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	/*
	 * An IN's data or an MMIO read's value reaches the registers only on
	 * the next KVM_RUN: complete it now, or a paused vCPU would show (and
	 * a debugger could change) registers from before the access.
	 */
	if (v->io_pending && atomic_load(&v->pause_req)) {
		int err = vcpu_complete_io(v);
		v->io_pending = false;
		if (err < 0)
			vm_request_stop(vm, EXIT_VMM_ERROR,
					"vcpu%u: completing an exit before a pause: %s",
					v->id, strerror(-err));
	}
	pthread_mutex_lock(&vm->stop.lock);
	while (atomic_load(&v->pause_req) && !vm->stop.stopped) {
		if (atomic_load(&v->state) != VCPU_PARKED)
			set_state(v, VCPU_PARKED);
		pthread_cond_wait(&vm->stop.cond, &vm->stop.lock);
	}
	/*
	 * pause_req is clear and read under the lock every pause sets it
	 * under: no pause is pending, so its immediate_exit may go. A stop's
	 * stays.
	 */
	if (!vm->stop.stopped && v->run)
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (atomic_load(&v->state) == VCPU_PARKED)
		set_state(v, VCPU_RUNNING);
	pthread_mutex_unlock(&vm->stop.lock);
}

/* Under the stop lock: asks every vCPU but skip to park, and kicks them. */
static void request_park(struct vm *vm, const struct vcpu *skip)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		atomic_store(&v->pause_req, true);
		if (v == skip)
			continue;
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->thread_started && atomic_load(&v->state) != VCPU_PARKED)
			pthread_kill(v->thread, vm->kick_signal);
	}
}

/* Under the stop lock: every started vCPU is parked (or already gone). */
static bool all_parked(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		int s = atomic_load(&v->state);

		if (!atomic_load(&v->pause_req))
			return false;
		if (v->thread_started && s != VCPU_PARKED && s != VCPU_STOPPED)
			return false;
	}
	return true;
}

/* Under the stop lock. */
static int wait_parked(struct vm *vm)
{
	while (!vm->stop.stopped && !all_parked(vm))
		pthread_cond_wait(&vm->stop.cond, &vm->stop.lock);
	return vm->stop.stopped ? -ECANCELED : 0;
}

int vm_pause(struct vm *vm)
{
	int r;

	pthread_mutex_lock(&vm->stop.lock);
	if (vm->stop.stopped) {
		r = -ECANCELED;
	} else {
		request_park(vm, NULL);
		r = wait_parked(vm);
	}
	pthread_mutex_unlock(&vm->stop.lock);
	return r;
}

int vm_wait_paused(struct vm *vm)
{
	int r;

	pthread_mutex_lock(&vm->stop.lock);
	r = wait_parked(vm);
	pthread_mutex_unlock(&vm->stop.lock);
	return r;
}

void vm_pause_from_vcpu(struct vcpu *v)
{
	pthread_mutex_lock(&v->vm->stop.lock);
	if (!v->vm->stop.stopped)
		request_park(v->vm, v);
	pthread_mutex_unlock(&v->vm->stop.lock);
}

void vm_resume_vcpus(struct vm *vm, const bool *which)
{
	pthread_mutex_lock(&vm->stop.lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (!which || which[i])
			atomic_store(&vm->vcpus[i].pause_req, false);
	pthread_cond_broadcast(&vm->stop.cond);
	pthread_mutex_unlock(&vm->stop.lock);
}

void vm_resume(struct vm *vm)
{
	vm_resume_vcpus(vm, NULL);
}

bool vm_paused(struct vm *vm)
{
	bool r;

	pthread_mutex_lock(&vm->stop.lock);
	r = vm->nr_vcpus > 0 && !vm->stop.stopped && all_parked(vm);
	pthread_mutex_unlock(&vm->stop.lock);
	return r;
}

int vcpu_call_parked(struct vcpu *v, int (*fn)(struct vcpu *v, void *arg),
		     void *arg)
{
	struct vm *vm = v->vm;
	int r;

	pthread_mutex_lock(&vm->stop.lock);
	if (vm->stop.stopped)
		r = -ECANCELED;
	/* a vCPU without a thread cannot start while we hold the lock */
	else if (!atomic_load(&v->pause_req) ||
		 (v->thread_started && atomic_load(&v->state) != VCPU_PARKED))
		r = -EBUSY;
	else
		r = fn(v, arg);
	pthread_mutex_unlock(&vm->stop.lock);
	return r;
}
