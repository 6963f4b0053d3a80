#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "petrel/bus_stats.h"
#include "petrel/start_times.h"
#include "petrel/boot_plan.h"
#include "petrel/boot_x86.h"
#include "petrel/cpuid.h"
#include "petrel/emul_assist.h"
#include "petrel/exitcode.h"
#include "petrel/irqchip_kvm.h"
#include "petrel/irqchip_split.h"
#include "petrel/kvm.h"
#include "petrel/sandbox.h"
#include "petrel/util.h"
#include "petrel/vm.h"

/*
 * KVM needs three pages for the real-mode TSS and one for the EPT identity
 * map on Intel hosts. They sit just below the 4 GiB BIOS area, where QEMU
 * puts them too, well away from RAM and our MMIO devices.
 */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR 0xfffbd000ULL

static void power_event(void *opaque, enum power_event ev, const char *source)
{
	struct vm *vm = opaque;

	vm_request_stop(vm, EXIT_GUEST_OFF, "guest %s (%s)",
			ev == POWER_OFF ? "powered off" : "reset", source);
}

static int register_memory(struct vm *vm)
{
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = (uint32_t)i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
		int res = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot);

		if (trace_on(&vm->tracer, TRACE_KVM))
			trace_kvm(&vm->tracer, "KVM_SET_USER_MEMORY_REGION", res,
				  "slot=%d gpa=0x%llx size=0x%llx hva=%p", i,
				  (unsigned long long)r->gpa, (unsigned long long)r->size,
				  (void *)r->hva);
		if (res < 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * The split irqchip's 8259 output rose: the BSP must look at it before it
 * next enters the guest (vcpu.c injects ExtINT). As in vm_request_stop,
 * immediate_exit covers a BSP between its check and KVM_RUN, the signal one
 * inside it. Called with the irqchip's lock held (a device lock), so it
 * takes only the stop lock, as vm_request_stop does. The BSP's own thread
 * needs no kick: it looks before re-entering.
 */
static void wake_bsp(void *opaque)
{
	struct vm *vm = opaque;
	struct vcpu *bsp;

	pthread_mutex_lock(&vm->stop.lock);
	bsp = vm->nr_vcpus ? &vm->vcpus[0] : NULL;
	if (bsp && !(bsp->thread_started && pthread_equal(bsp->thread, pthread_self()))) {
		__atomic_store_n(&bsp->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (bsp->thread_started)
			pthread_kill(bsp->thread, vm->kick_signal);
	}
	pthread_mutex_unlock(&vm->stop.lock);
}

static int irqchip_create(struct vm *vm)
{
	if (vm->cfg->irqchip == IRQCHIP_SPLIT)
		return irqchip_split_create(&vm->irqchip, &(struct irqchip_split_env){
			.vm_fd = vm->vm_fd,
			.pio = &vm->pio,
			.mmio = &vm->mmio,
			.io = &vm->io,
			/* the MADT and MP table number it after the CPUs */
			.ioapic_id = (uint8_t)vm->cfg->ncpus,
			.tr = &vm->tracer,
			.wake_bsp = wake_bsp,
			.opaque = vm,
		});
	return irqchip_kvm_create(&vm->irqchip, vm->vm_fd, &vm->tracer);
}

int vm_create_machine(struct vm *vm, const struct vm_config *cfg)
{
	int max_vcpus, err;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->kick_signal = SIGRTMIN;
	pthread_mutex_init(&vm->stop.lock, NULL);
	pthread_cond_init(&vm->stop.cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->power = (struct power_ctl){ power_event, vm };
	/* first: a trace file that cannot be opened is said before /dev/kvm */
	if ((err = tracer_open(&vm->tracer, cfg->trace_mask, cfg->trace_path)) < 0)
		return err;

	vm->kvm_fd = kvm_open("/dev/kvm");
	if (vm->kvm_fd < 0)
		return vm->kvm_fd;

	max_vcpus = kvm_check_cap(vm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = kvm_check_cap(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = 4; /* the documented minimum when the cap is absent */
	if (cfg->ncpus > (unsigned)max_vcpus) {
		pt_err("--cpus %u: this host's KVM allows at most %d vCPUs per VM",
		       cfg->ncpus, max_vcpus);
		return -EINVAL;
	}

	err = kvm_ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (err < 0)
		return err;
	vm->vm_fd = err;
	vm->run_size = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return -EINVAL;

	if ((err = kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
			     &(uint64_t){ KVM_IDENTITY_MAP_ADDR })) < 0)
		return err;
	if ((err = kvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR)) < 0)
		return err;

	err = guest_mem_init(&vm->mem, cfg->mem_size);
	if (err < 0) {
		pt_err("cannot map %llu MiB of guest RAM: %s",
		       (unsigned long long)(cfg->mem_size >> 20), strerror(-err));
		return err;
	}
	if ((err = register_memory(vm)) < 0)
		return err;
	start_times_mark(cfg->times, START_KVM_VM);

	/* before the irqchip: the split one's PIT runs on the I/O thread */
	if ((err = evloop_init(&vm->io)) < 0)
		return err;
	vm->io_inited = true;
	if ((err = irqchip_create(vm)) < 0)
		return err;

	if ((err = cpuid_init(vm)) < 0)
		return err;

	if ((err = vm_devices_create(vm)) < 0)
		return err;
	/*
	 * Everything is open now (/dev/kvm, images, taps, sockets, trace
	 * files) and no thread exists yet: the moment to give up root and
	 * capabilities (sandbox.h says why before the first thread).
	 */
	if ((err = sandbox_drop_privileges(cfg->sandbox)) < 0)
		return err;
	vm->io.sandbox = cfg->sandbox;
	/* after the devices registered their fds, before any vCPU runs */
	if ((err = evloop_start(&vm->io, "io")) < 0)
		return err;
	start_times_mark(cfg->times, START_MACHINE);
	return 0;
}

int vm_create_vcpus(struct vm *vm)
{
	struct vcpu *vcpus = calloc(vm->cfg->ncpus, sizeof(*vcpus));
	int err;

	if (!vcpus)
		return -ENOMEM;
	pthread_mutex_lock(&vm->stop.lock);
	vm->vcpus = vcpus;
	pthread_mutex_unlock(&vm->stop.lock);
	for (unsigned i = 0; i < vm->cfg->ncpus; i++) {
		if ((err = vcpu_create(vm, &vcpus[i], i)) < 0)
			return err;
		/*
		 * Published whole, under the lock vm_request_stop holds while it
		 * walks the vCPUs (the I/O thread may stop the VM now). One
		 * made after a stop gets the immediate_exit it missed, so it
		 * cannot enter the guest even if someone runs it by hand.
		 */
		pthread_mutex_lock(&vm->stop.lock);
		if (vm->stop.stopped)
			__atomic_store_n(&vcpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		vm->nr_vcpus++;
		pthread_mutex_unlock(&vm->stop.lock);
	}
	return 0;
}

/* The BSP starts where the plan says; the others wait for INIT/SIPI. */
static int set_boot_regs(struct vcpu *v, const struct boot_entry *e)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	int err;

	if ((err = kvm_ioctl(v->fd, KVM_GET_SREGS, &s)) < 0)
		return err;
	boot_x86_regs(e, &s, &r);
	if ((err = kvm_ioctl(v->fd, KVM_SET_SREGS, &s)) < 0)
		return err;
	return kvm_ioctl(v->fd, KVM_SET_REGS, &r);
}

int vm_create(struct vm *vm, const struct vm_config *cfg,
	      struct boot_plan *plan)
{
	int err;

	if ((err = vm_create_machine(vm, cfg)) < 0)
		return err;
	/* the plan was checked against this layout: a mismatch is a bug */
	if (plan->mem.ram_size != vm->mem.ram_size ||
	    (err = boot_plan_write(plan, &vm->mem)) < 0) {
		pt_err("the boot plan (for %llu MiB) does not fit this VM's %llu MiB",
		       (unsigned long long)(plan->mem.ram_size >> 20),
		       (unsigned long long)(vm->mem.ram_size >> 20));
		return -EINVAL;
	}
	start_times_mark(cfg->times, START_LOADED);
	if ((err = vm_create_vcpus(vm)) < 0 ||
	    (err = set_boot_regs(&vm->vcpus[0], &plan->entry)) < 0)
		return err;
	start_times_mark(cfg->times, START_VCPUS);
	return 0;
}

void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop.lock);
	if (vm->stop.stopped) {
		pthread_mutex_unlock(&vm->stop.lock);
		return;
	}
	atomic_store(&vm->stop.stopped, true);
	vm->stop.status = status;
	va_start(ap, fmt);
	vsnprintf(vm->stop.reason, sizeof(vm->stop.reason), fmt, ap);
	va_end(ap);
	/*
	 * immediate_exit covers a vCPU between its stop check and KVM_RUN;
	 * the signal covers one already inside KVM_RUN. The vCPU array, its
	 * count and thread_started change only under this lock (vm_create_vcpus,
	 * vcpu_start, vm_run, vm_destroy), so this walk sees every vCPU that
	 * exists and every thread that runs; vcpu_start refuses to start one
	 * once stopped is set, so no thread can begin after the walk unkicked.
	 * Nothing here takes another lock: callers may hold device locks.
	 */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->thread_started)
			pthread_kill(v->thread, vm->kick_signal);
	}
	pthread_cond_broadcast(&vm->stop.cond);
	pthread_mutex_unlock(&vm->stop.lock);
}

bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stop.stopped, memory_order_acquire);
}

/* "vcpu0 at the stop: rip ..., 64-bit, interrupts on, running" */
static void print_stop_state(const struct vcpu *v)
{
	static const char *const mp[] = {
		[KVM_MP_STATE_RUNNABLE] = "runnable",
		[KVM_MP_STATE_UNINITIALIZED] = "waiting for INIT/SIPI",
		[KVM_MP_STATE_INIT_RECEIVED] = "INIT received",
		[KVM_MP_STATE_HALTED] = "halted",
		[KVM_MP_STATE_SIPI_RECEIVED] = "SIPI received",
	};
	const char *mode = !(v->at_stop.cr0 & 1) ? "real mode"
			   : (v->at_stop.efer & (1u << 10)) ? "long mode" /* LMA */
			   : "protected mode";
	uint32_t m = v->at_stop.mp_state;

	if (!v->at_stop.valid)
		return;
	pt_info("stats: vcpu%u at the stop: rip %#llx cs %#x, %s, interrupts %s, %s",
		v->id, (unsigned long long)v->at_stop.rip, v->at_stop.cs, mode,
		(v->at_stop.rflags & (1u << 9)) ? "on" : "off",
		m < sizeof(mp) / sizeof(mp[0]) && mp[m] ? mp[m] : "other state");
}

static void print_stats(struct vm *vm)
{
	static const char *const names[STAT_NR] = {
		"exits", "io", "mmio", "intr", "hlt", "other",
	};

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		char line[256];
		int n = snprintf(line, sizeof(line), "stats: vcpu%u", i);
		for (int s = 0; s < STAT_NR && n < (int)sizeof(line); s++)
			n += snprintf(line + n, sizeof(line) - n, " %s=%llu", names[s],
				      (unsigned long long)vm->vcpus[i].stats[s]);
		pt_info("%s", line);
		print_stop_state(&vm->vcpus[i]);
		if (vm->cfg->emulation_assist) {
			const uint64_t *a = vm->vcpus[i].assists;
			char kinds[160] = "";
			uint64_t total = 0;
			for (int k = 0, n = 0; k < ASSIST_NR; k++) {
				total += a[k];
				n += snprintf(kinds + n, sizeof(kinds) - n, " %s=%llu",
					      assist_name(k), (unsigned long long)a[k]);
			}
			pt_info("stats: vcpu%u emulation assists %llu:%s", i,
				(unsigned long long)total, kinds);
		}
	}
	pt_info("stats: unclaimed pio reads=%llu writes=%llu, mmio reads=%llu writes=%llu",
		(unsigned long long)atomic_load(&vm->pio.unclaimed_reads),
		(unsigned long long)atomic_load(&vm->pio.unclaimed_writes),
		(unsigned long long)atomic_load(&vm->mmio.unclaimed_reads),
		(unsigned long long)atomic_load(&vm->mmio.unclaimed_writes));
	pt_info("stats: guest RAM resident %llu KiB of %llu MiB",
		(unsigned long long)(guest_mem_resident(&vm->mem) >> 10),
		(unsigned long long)(vm->mem.ram_size >> 20));
	if (vm->cfg->times)
		start_times_print(vm->cfg->times);
	bus_stats_print(&vm->pio, 12);
	bus_stats_print(&vm->mmio, 12);
	vm_devices_print_stats(vm);
	if (vm->irqchip.ops && vm->irqchip.ops->print_stats)
		vm->irqchip.ops->print_stats(vm->irqchip.opaque);
}

int vm_run(struct vm *vm)
{
	int err = 0;

	for (unsigned i = 0; i < vm->nr_vcpus && !err; i++)
		err = vcpu_start(&vm->vcpus[i]);
	if (err && err != -ECANCELED) /* -ECANCELED: already stopping */
		vm_request_stop(vm, EXIT_VMM_ERROR, "cannot start vCPU threads: %s",
				strerror(-err));
	/*
	 * main's filter, last: every thread it creates exists now (the I/O,
	 * API and GDB threads, the vCPUs), each under its own kind's filter,
	 * so none inherits this one. What main does from here: wait, join,
	 * flush, print, tear down.
	 */
	if ((err = sandbox_enter(vm->cfg->sandbox, SANDBOX_MAIN, "petrel")) < 0)
		vm_request_stop(vm, EXIT_VMM_ERROR, "seccomp: main's filter: %s", strerror(-err));

	pthread_mutex_lock(&vm->stop.lock);
	while (!vm->stop.stopped)
		pthread_cond_wait(&vm->stop.cond, &vm->stop.lock);
	pthread_mutex_unlock(&vm->stop.lock);

	/*
	 * Joined without the lock (a vCPU thread may be in vm_request_stop,
	 * waiting for it); the flag is cleared under it. This thread is the
	 * only writer, so its own unlocked read is safe.
	 */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->thread_started)
			continue;
		pthread_join(v->thread, NULL);
		pthread_mutex_lock(&vm->stop.lock);
		v->thread_started = false;
		pthread_mutex_unlock(&vm->stop.lock);
	}
	/* the guest's last words: its console output still buffered */
	vm_devices_flush(vm);
	if (vm->cfg->stats)
		print_stats(vm);
	return vm->stop.status;
}

void vm_destroy(struct vm *vm)
{
	struct vcpu *vcpus;
	unsigned nr;

	/*
	 * The I/O thread goes first: its callbacks reach the devices (and may
	 * stop the VM), and nothing may call them once teardown begins. The
	 * unpublishing below keeps any other thread that may still stop the
	 * VM (a test's watchdog) away from freed vCPUs.
	 */
	if (vm->io_inited)
		evloop_stop(&vm->io);
	pthread_mutex_lock(&vm->stop.lock);
	vcpus = vm->vcpus;
	nr = vm->nr_vcpus;
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	pthread_mutex_unlock(&vm->stop.lock);
	for (unsigned i = 0; i < nr; i++)
		vcpu_destroy(&vcpus[i]);
	free(vcpus);
	vm_devices_destroy(vm);
	irqchip_kvm_destroy(&vm->irqchip);
	irqchip_split_destroy(&vm->irqchip);
	if (vm->io_inited) {
		evloop_destroy(&vm->io);
		vm->io_inited = false;
	}
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	guest_mem_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_cond_destroy(&vm->stop.cond);
	pthread_mutex_destroy(&vm->stop.lock);
	tracer_close(&vm->tracer);
}
