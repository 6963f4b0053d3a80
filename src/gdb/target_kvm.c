/*
 * The GDB stub's target for a petrel VM (gdb_server.h): each operation is
 * a vCPU ioctl made from the stub's thread while that vCPU is parked.
 */
#include <errno.h>
#include <string.h>

#include "petrel/exitcode.h"
#include "petrel/gdb_server.h"
#include "petrel/kvm.h"
#include "petrel/vcpu_mem.h"
#include "petrel/vm.h"

/*
 * vcpu_call_parked, once more after waiting: a vCPU that --gdb-wait's pause
 * found without a thread may just have started and be on its way to park.
 */
static int call_parked(struct vm *vm, unsigned cpu, int (*fn)(struct vcpu *, void *), void *arg)
{
	int r;

	if (cpu >= vm->nr_vcpus)
		return -EINVAL;
	r = vcpu_call_parked(&vm->vcpus[cpu], fn, arg);
	if (r == -EBUSY && vm_wait_paused(vm) == 0)
		r = vcpu_call_parked(&vm->vcpus[cpu], fn, arg);
	return r;
}

static int get_state_fn(struct vcpu *v, void *arg)
{
	struct gdb_cpu_state *s = arg;
	int err;

	if ((err = kvm_ioctl(v->fd, KVM_GET_REGS, &s->regs)) < 0 ||
	    (err = kvm_ioctl(v->fd, KVM_GET_SREGS, &s->sregs)) < 0 ||
	    (err = kvm_ioctl(v->fd, KVM_GET_FPU, &s->fpu)) < 0)
		return err;
	return 0;
}

static int k_get_state(void *t, unsigned cpu, struct gdb_cpu_state *s)
{
	return call_parked(((struct gdb_kvm_target *)t)->vm, cpu, get_state_fn, s);
}

/* Only what changed goes back: a needless KVM_SET_SREGS is not free of effects. */
static int set_state_fn(struct vcpu *v, void *arg)
{
	const struct gdb_cpu_state *s = arg;
	struct gdb_cpu_state now;
	int err;

	if ((err = get_state_fn(v, &now)) < 0)
		return err;
	if (memcmp(&now.regs, &s->regs, sizeof(s->regs)) &&
	    (err = kvm_ioctl(v->fd, KVM_SET_REGS, &s->regs)) < 0)
		return err;
	if (memcmp(&now.sregs, &s->sregs, sizeof(s->sregs)) &&
	    (err = kvm_ioctl(v->fd, KVM_SET_SREGS, &s->sregs)) < 0)
		return err;
	if (memcmp(&now.fpu, &s->fpu, sizeof(s->fpu)) &&
	    (err = kvm_ioctl(v->fd, KVM_SET_FPU, &s->fpu)) < 0)
		return err;
	return 0;
}

static int k_set_state(void *t, unsigned cpu, const struct gdb_cpu_state *s)
{
	return call_parked(((struct gdb_kvm_target *)t)->vm, cpu, set_state_fn, (void *)s);
}

struct mem_op {
	uint64_t gva;
	void *buf;
	size_t len;
	bool write;
};

static int mem_fn(struct vcpu *v, void *arg)
{
	struct mem_op *m = arg;

	return m->write ? vcpu_write_virt(v, m->gva, m->buf, m->len)
			: vcpu_read_virt(v, m->gva, m->buf, m->len);
}

static int k_read_mem(void *t, unsigned cpu, uint64_t gva, void *buf, size_t len)
{
	struct mem_op m = { gva, buf, len, false };
	return call_parked(((struct gdb_kvm_target *)t)->vm, cpu, mem_fn, &m);
}

static int k_write_mem(void *t, unsigned cpu, uint64_t gva, const void *buf, size_t len)
{
	struct mem_op m = { gva, (void *)buf, len, true };
	return call_parked(((struct gdb_kvm_target *)t)->vm, cpu, mem_fn, &m);
}

/* 0 when the vCPU runs instructions, 1 when it waits in HLT, or -errno */
static int halted_fn(struct vcpu *v, void *arg)
{
	struct kvm_mp_state mp;
	int err = kvm_ioctl(v->fd, KVM_GET_MP_STATE, &mp);

	(void)arg;
	return err < 0 ? err : mp.mp_state == KVM_MP_STATE_HALTED;
}

static int set_debug_fn(struct vcpu *v, void *arg)
{
	return kvm_ioctl(v->fd, KVM_SET_GUEST_DEBUG, arg);
}

static int k_resume(void *t, const enum gdb_run *run, const struct gdb_debug *d)
{
	struct gdb_kvm_target *k = t;
	struct vm *vm = k->vm;
	bool which[GDB_MAX_CPUS];
	int err;

	for (unsigned i = 0; i < vm->nr_vcpus && i < GDB_MAX_CPUS; i++) {
		struct kvm_guest_debug dbg = { 0 };

		if (d->sw_bp)
			dbg.control |= KVM_GUESTDBG_USE_SW_BP;
		if (d->hw_bp) {
			dbg.control |= KVM_GUESTDBG_USE_HW_BP;
			memcpy(dbg.arch.debugreg, d->dr, sizeof(d->dr));
			dbg.arch.debugreg[7] = d->dr7;
		}
		if (run[i] == GDB_RUN_STEP) {
			dbg.control |= KVM_GUESTDBG_SINGLESTEP;
			/*
			 * A step that lands in an interrupt handler surprises
			 * everyone: where KVM can, it holds interrupts off.
			 * Not for a halted vCPU: only an interrupt brings it to
			 * its next instruction, and the step would never end.
			 */
			if ((k->guest_debug_caps & KVM_GUESTDBG_BLOCKIRQ) &&
			    call_parked(vm, i, halted_fn, NULL) == 0)
				dbg.control |= KVM_GUESTDBG_BLOCKIRQ;
		}
		if (dbg.control)
			dbg.control |= KVM_GUESTDBG_ENABLE;
		if ((err = call_parked(vm, i, set_debug_fn, &dbg)) < 0)
			return err;
		which[i] = run[i] != GDB_RUN_STOPPED;
	}
	pthread_mutex_lock(&k->lock);
	k->nr_sw = d->nr_sw;
	memcpy(k->sw_addr, d->sw_addr, sizeof(d->sw_addr[0]) * d->nr_sw);
	pthread_mutex_unlock(&k->lock);
	vm_resume_vcpus(vm, which);
	return 0;
}

bool gdb_kvm_reinject_int3(struct gdb_kvm_target *t, struct vcpu *v, uint64_t pc)
{
	struct kvm_vcpu_events ev;
	bool ours = false;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->nr_sw && !ours; i++)
		ours = t->sw_addr[i] == pc;
	pthread_mutex_unlock(&t->lock);
	if (ours)
		return false;
	/*
	 * RIP is at the int3; KVM injects #BP as the software exception it
	 * is, stepping over the instruction as the CPU would have (the
	 * length comes from this exit).
	 */
	if (kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	ev.flags = 0; /* leave NMI, SIPI and SMM state as they are */
	ev.exception.injected = 1;
	ev.exception.nr = 3;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	return kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) == 0;
}

static void k_kill(void *t)
{
	vm_request_stop(((struct gdb_kvm_target *)t)->vm, EXIT_TERMINATED, "killed by gdb");
}

const struct gdb_target_ops gdb_kvm_ops = {
	.get_state = k_get_state,
	.set_state = k_set_state,
	.read_mem = k_read_mem,
	.write_mem = k_write_mem,
	.resume = k_resume,
	.kill = k_kill,
};
