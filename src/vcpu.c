#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "petrel/cpuid.h"
#include "petrel/emul_assist.h"
#include "petrel/exitcode.h"
#include "petrel/irqchip_kvm.h"
#include "petrel/kvm.h"
#include "petrel/pic_watch.h"
#include "petrel/start_times.h"
#include "petrel/trace.h"
#include "petrel/sandbox.h"
#include "petrel/util.h"
#include "petrel/vm.h"

/* Local APIC register offsets and LVT delivery modes (Intel SDM vol. 3). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static uint32_t lapic_get(const struct kvm_lapic_state *s, int reg)
{
	uint32_t v;
	memcpy(&v, &s->regs[reg], 4);
	return v;
}

static void lapic_set(struct kvm_lapic_state *s, int reg, uint32_t v)
{
	memcpy(&s->regs[reg], &v, 4);
}

/*
 * Wire LINT0 to the 8259 (ExtINT) and LINT1 to NMI, as PC firmware does:
 * the "virtual wire" mode Linux relies on until it switches to the IOAPIC.
 */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state s;
	int err = kvm_ioctl(v->fd, KVM_GET_LAPIC, &s);

	if (err < 0)
		return err;
	lapic_set(&s, APIC_LVT_LINT0,
		  (lapic_get(&s, APIC_LVT_LINT0) & ~0x700u) | APIC_MODE_EXTINT << 8);
	lapic_set(&s, APIC_LVT_LINT1,
		  (lapic_get(&s, APIC_LVT_LINT1) & ~0x700u) | APIC_MODE_NMI << 8);
	return kvm_ioctl(v->fd, KVM_SET_LAPIC, &s);
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = kvm_ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return v->fd;
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		err = -errno;
		v->run = NULL;
		pt_err("mmap of vcpu%u's kvm_run: %s", id, strerror(-err));
		return err;
	}
	if ((err = cpuid_apply(vm, v)) < 0)
		return err;
	return setup_lapic(v);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static int handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	/* a "rep ins/outs" arrives as count consecutive items in the buffer */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		bool out = run->io.direction == KVM_EXIT_IO_OUT;

		if (out)
			bus_write(&v->vm->pio, run->io.port, data, size);
		else
			bus_read(&v->vm->pio, run->io.port, data, size);
		/* after the device: a read shows what it returned */
		if (trace_on(&v->vm->tracer, TRACE_PIO))
			trace_access(&v->vm->tracer, v->id, &v->vm->pio, false,
				     run->io.port, out, size, data);
	}
	return 0;
}

static int handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->mmio.is_write)
		bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			  run->mmio.len);
	else
		bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			 run->mmio.len);
	if (trace_on(&v->vm->tracer, TRACE_MMIO))
		trace_access(&v->vm->tracer, v->id, &v->vm->mmio, true,
			     run->mmio.phys_addr, run->mmio.is_write, run->mmio.len,
			     run->mmio.data);
	return 0;
}

static int stop_with_dump(struct vcpu *v, int status, const char *why)
{
	vcpu_dump(v, why);
	vm_request_stop(v->vm, status, "vcpu%u: %s", v->id, why);
	return 1;
}

int vcpu_complete_io(struct vcpu *v)
{
	int r;

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	r = ioctl(v->fd, KVM_RUN, 0);
	v->io_pending = false;
	/*
	 * Safe to clear even if a stop or a pause raced with us: each sets
	 * its flag (stopped, pause_req) before immediate_exit, and the loop
	 * checks both before KVM_RUN.
	 */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (r < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char why[128];

	if (v->vm->exit_hook) {
		switch (v->vm->exit_hook(v, v->vm->exit_hook_opaque)) {
		case EXIT_HOOK_HANDLED:
			return 0;
		case EXIT_HOOK_STOP:
			return 1;
		case EXIT_HOOK_PASS:
			break;
		}
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->stats[STAT_IO]++;
		return handle_io(v);
	case KVM_EXIT_MMIO:
		v->stats[STAT_MMIO]++;
		return handle_mmio(v);
	case KVM_EXIT_SHUTDOWN:
		/* KVM reports a triple fault this way */
		return stop_with_dump(v, EXIT_GUEST_CRASH, "triple fault (KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_INTERNAL_ERROR:
		if (v->vm->cfg->emulation_assist &&
		    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
			int r = emul_assist(v);
			if (r > 0)
				return 0;
			if (r < 0) {
				vm_request_stop(v->vm, EXIT_VMM_ERROR,
						"vcpu%u: emulation assist failed: %s", v->id,
						strerror(-r));
				return 1;
			}
		}
		snprintf(why, sizeof(why), "KVM internal error, suberror %u%s",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				 ? " (instruction emulation failed)" : "");
		return stop_with_dump(v, EXIT_EMULATION, why);
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return stop_with_dump(v, EXIT_GUEST_CRASH, why);
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(v->vm, EXIT_GUEST_OFF, "guest powered off (system event)");
			return 1;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(v->vm, EXIT_GUEST_OFF, "guest reset (system event)");
			return 1;
		default:
			snprintf(why, sizeof(why), "system event %u", run->system_event.type);
			return stop_with_dump(v, EXIT_GUEST_CRASH, why);
		}
	case KVM_EXIT_IOAPIC_EOI:
		/* split irqchip: a level-triggered vector of petrel's IOAPIC */
		if (v->vm->irqchip.ops && v->vm->irqchip.ops->eoi)
			v->vm->irqchip.ops->eoi(v->vm->irqchip.opaque, run->eoi.vector);
		return 0;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		/* the BSP can take the ExtINT it asked for: vcpu_extint, next */
		return 0;
	case KVM_EXIT_HLT:
		/* only without an in-kernel LAPIC; petrel always has one */
		v->stats[STAT_HLT]++;
		return stop_with_dump(v, EXIT_GUEST_CRASH, "unexpected HLT exit");
	case KVM_EXIT_UNKNOWN:
		/* KVM stopped for a reason it has no exit code for; what the
		 * CPU reported (an SVM exit code, a VMX basic exit reason) is
		 * the only clue */
		v->stats[STAT_OTHER]++;
		snprintf(why, sizeof(why),
			 "KVM_EXIT_UNKNOWN (hardware exit reason %#llx)",
			 (unsigned long long)run->hw.hardware_exit_reason);
		return stop_with_dump(v, EXIT_GUEST_CRASH, why);
	default:
		v->stats[STAT_OTHER]++;
		snprintf(why, sizeof(why), "unhandled KVM exit reason %u", run->exit_reason);
		return stop_with_dump(v, EXIT_GUEST_CRASH, why);
	}
}

/*
 * The BSP's 8259 watchdog (see pic_watch.h for the KVM behaviour it works
 * around). A thread samples the in-kernel PIC without disturbing the vCPU;
 * when an interrupt sits asserted and unacknowledged, it flags the BSP and
 * kicks it out of KVM_RUN, and the BSP's own thread makes KVM re-evaluate
 * its pending interrupts. It lives and dies inside the BSP's thread, which
 * joins it before returning, so the thread it kicks always exists.
 */
struct pic_watchdog {
	struct vm *vm;
	pthread_t bsp;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	bool quit;
	bool running;
	atomic_bool nudge;
};

static void *pic_watchdog_thread(void *arg)
{
	struct pic_watchdog *w = arg;
	struct pic_watch pw;

	pthread_setname_np(pthread_self(), "pic-watch");
	if (sandbox_enter(w->vm->cfg->sandbox, SANDBOX_WATCHDOG, "pic-watch") < 0) {
		vm_request_stop(w->vm, EXIT_VMM_ERROR, "pic-watch: cannot install its seccomp filter");
		return NULL;
	}
	pic_watch_init(&pw);
	pthread_mutex_lock(&w->lock);
	while (!w->quit) {
		struct kvm_pic_state master, slave;
		struct timespec t;

		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += (long)(pw.interval_ms % 1000) * 1000000L;
		t.tv_sec += pw.interval_ms / 1000 + t.tv_nsec / 1000000000L;
		t.tv_nsec %= 1000000000L;
		while (!w->quit && pthread_cond_timedwait(&w->cond, &w->lock, &t) != ETIMEDOUT)
			;
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->lock);
		/* no PIC to read (not KVM's irqchip): nothing to watch */
		if (irqchip_kvm_get_pic(w->vm->vm_fd, &master, &slave) < 0) {
			pthread_mutex_lock(&w->lock);
			break;
		}
		if (pic_watch_sample(&pw, &master, &slave)) {
			atomic_store(&w->nudge, true);
			pthread_kill(w->bsp, w->vm->kick_signal);
		}
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Called on the BSP's thread before it unblocks the kick signal. */
static void pic_watchdog_start(struct pic_watchdog *w, struct vm *vm)
{
	pthread_condattr_t attr;
	int err;

	memset(w, 0, sizeof(*w));
	w->vm = vm;
	w->bsp = pthread_self();
	atomic_init(&w->nudge, false);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	/* created with the kick signal still blocked: only vCPUs take it */
	err = pthread_create(&w->thread, NULL, pic_watchdog_thread, w);
	if (err)
		pt_warn("vcpu0: cannot start the 8259 watchdog: %s", strerror(err));
	w->running = !err;
}

static void pic_watchdog_stop(struct pic_watchdog *w)
{
	if (w->running) {
		pthread_mutex_lock(&w->lock);
		w->quit = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

/*
 * KVM_SET_MP_STATE makes KVM re-evaluate the vCPU's pending interrupts on
 * its next entry (KVM_REQ_EVENT), as the PIC's missing kick would have;
 * writing back the state KVM just reported changes nothing else. Only the
 * plain running and halted states are written back: an INIT or SIPI in
 * flight is left alone.
 */
static void vcpu_reevaluate_interrupts(struct vcpu *v)
{
	struct kvm_mp_state mp;

	if (kvm_ioctl_quiet(v->fd, KVM_GET_MP_STATE, &mp) < 0)
		return;
	if (mp.mp_state == KVM_MP_STATE_RUNNABLE || mp.mp_state == KVM_MP_STATE_HALTED) {
		int r = kvm_ioctl_quiet(v->fd, KVM_SET_MP_STATE, &mp);

		if (trace_on(&v->vm->tracer, TRACE_KVM))
			trace_kvm(&v->vm->tracer, "KVM_SET_MP_STATE", r,
				  "mp_state=%u (the 8259 watchdog's nudge)", mp.mp_state);
	}
}

/*
 * The split irqchip's ExtINT, on the BSP before each KVM_RUN: when the
 * 8259's output is high, inject its vector if the last exit said the vCPU
 * can take one (interrupts on, LINT0 accepting ExtINT, nothing else being
 * injected), else ask KVM to exit as soon as it can
 * (KVM_EXIT_IRQ_WINDOW_OPEN). KVM holds the vector until it delivers it.
 */
static void vcpu_extint(struct vcpu *v, const struct irqchip *chip)
{
	struct kvm_run *run = v->run;

	if (!chip->ops->extint_pending(chip->opaque)) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection) {
		int vector = chip->ops->extint_ack(chip->opaque);

		if (vector >= 0) {
			struct kvm_interrupt irq = { .irq = (uint32_t)vector };
			int r = kvm_ioctl(v->fd, KVM_INTERRUPT, &irq);

			if (trace_on(&v->vm->tracer, TRACE_KVM))
				trace_kvm(&v->vm->tracer, "KVM_INTERRUPT", r, "vcpu=%u vector=0x%x",
					  v->id, (unsigned)vector);
			if (r < 0)
				vm_request_stop(v->vm, EXIT_VMM_ERROR,
						"vcpu%u: cannot inject the 8259's vector %d", v->id,
						vector);
		}
		/* ready again only after this one is in: a window for the next */
		run->request_interrupt_window = chip->ops->extint_pending(chip->opaque);
		return;
	}
	run->request_interrupt_window = 1;
}

/* Where the guest was when the loop ended (see struct vcpu's at_stop). */
static void record_stop_state(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp = { 0 };

	if (kvm_ioctl_quiet(v->fd, KVM_GET_REGS, &r) < 0 ||
	    kvm_ioctl_quiet(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	(void)kvm_ioctl_quiet(v->fd, KVM_GET_MP_STATE, &mp);
	v->at_stop.rip = r.rip;
	v->at_stop.rflags = r.rflags;
	v->at_stop.cr0 = s.cr0;
	v->at_stop.efer = s.efer;
	v->at_stop.cs = s.cs.selector;
	v->at_stop.mp_state = mp.mp_state;
	v->at_stop.valid = true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct pic_watchdog watchdog, *w = NULL;
	/* the split irqchip's ExtINT reaches the BSP only (see setup_lapic) */
	const struct irqchip *extint =
		v->id == 0 && vm->irqchip.ops && vm->irqchip.ops->extint_pending
			? &vm->irqchip : NULL;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	/*
	 * The BSP is where ExtINT lands: KVM resets its LINT0 to ExtINT,
	 * setup_lapic keeps it there, and Linux uses no other vCPU for it.
	 * Only KVM's 8259 needs the watchdog.
	 */
	if (v->id == 0 && irqchip_is_kvm(&vm->irqchip)) {
		w = &watchdog;
		pic_watchdog_start(w, vm);
	}
	/* after the watchdog exists (it installs its own), before KVM_RUN */
	if (sandbox_enter(vm->cfg->sandbox, SANDBOX_VCPU, name) < 0) {
		vm_request_stop(vm, EXIT_VMM_ERROR, "%s: cannot install its seccomp filter", name);
		if (w)
			pic_watchdog_stop(w);
		return NULL;
	}
	/* the kick signal is blocked everywhere but here */
	sigemptyset(&set);
	sigaddset(&set, vm->kick_signal);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (v->id == 0)
		start_times_mark(vm->cfg->times, START_FIRST_RUN);

	vcpu_loop_begin(v);
	for (;;) {
		int r;

		/*
		 * A kick for the 8259 (wake_bsp in vm.c) sets immediate_exit;
		 * clear it before looking at the PIC, the stop flag and a
		 * pause, which were set before it: nothing set before the clear
		 * is missed, and anything after it makes this KVM_RUN return at
		 * once.
		 */
		if (extint)
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (vm_stopping(vm))
			break;
		/* a pause (vm_pause.c): park here, outside KVM_RUN */
		if (atomic_load_explicit(&v->pause_req, memory_order_acquire)) {
			vcpu_park(v);
			continue;
		}
		if (w && atomic_exchange(&w->nudge, false))
			vcpu_reevaluate_interrupts(v);
		if (extint)
			vcpu_extint(v, extint);
		r = ioctl(v->fd, KVM_RUN, 0);
		v->io_pending = false;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->stats[STAT_INTR]++;
				if (trace_on(&vm->tracer, TRACE_EXITS))
					trace_exit_intr(&vm->tracer, v->id, errno);
				/* a pause's immediate_exit, maybe already resumed */
				if (vcpu_wants_park(v))
					vcpu_park(v);
				continue;
			}
			vm_request_stop(vm, EXIT_VMM_ERROR, "vcpu%u: KVM_RUN: %s", v->id,
					strerror(errno));
			break;
		}
		v->stats[STAT_EXITS]++;
		if (trace_on(&vm->tracer, TRACE_EXITS))
			trace_exit(&vm->tracer, v->id, v->run);
		v->io_pending = v->run->exit_reason == KVM_EXIT_IO ||
				v->run->exit_reason == KVM_EXIT_MMIO;
		if (vcpu_handle_exit(v))
			break;
	}
	vcpu_loop_end(v);
	record_stop_state(v);
	if (w)
		pic_watchdog_stop(w);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig; /* its only job is to interrupt KVM_RUN */
}

int vcpu_start(struct vcpu *v)
{
	struct vm *vm = v->vm;
	/*
	 * SA_RESTART: the BSP's 8259 watchdog may kick it while it emulates a
	 * device, not only at stop; a syscall there restarts instead of
	 * failing with EINTR. KVM_RUN still returns EINTR (KVM never restarts
	 * it), which is all a kick needs.
	 */
	struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(vm->kick_signal, &sa, NULL);
	/*
	 * Under the stop lock, so that vm_request_stop sees the thread either
	 * not yet created (and then we see stopped and do not create it) or
	 * created and marked started (and kicks it). Marked only after
	 * pthread_create returns, the thread could already be inside KVM_RUN,
	 * past immediate_exit, when a stop found it unmarked: no kick, and a
	 * guest that never exits would keep it there. pthread_create does not
	 * wait for the new thread, so holding the lock cannot deadlock with a
	 * thread that calls vm_request_stop at once.
	 */
	pthread_mutex_lock(&vm->stop.lock);
	if (vm->stop.stopped)
		err = ECANCELED;
	else
		err = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (!err)
		v->thread_started = true;
	pthread_mutex_unlock(&vm->stop.lock);
	return -err;
}
