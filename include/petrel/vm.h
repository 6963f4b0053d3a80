/*
 * One virtual machine: the KVM fds, guest RAM, the two buses, the irqchip,
 * the devices and the vCPUs. Everything a device or a vCPU needs hangs off
 * struct vm, so a test can build two of them in one process.
 *
 * Life cycle: vm_create() (KVM, memory, irqchip, devices, then the boot
 * plan main built before any of it: segments copied into RAM, vCPUs, the
 * BSP's registers from the plan's entry) -> vm_run() (starts one thread per
 * vCPU, waits until the guest or the user stops the VM, returns the exit
 * status once console output is flushed) -> vm_destroy() (the I/O thread
 * first, then reverse order; safe on a half-built VM).
 */
#ifndef PETREL_VM_H
#define PETREL_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/config.h"
#include "petrel/evloop.h"
#include "petrel/irq.h"
#include "petrel/memory.h"
#include "petrel/power.h"

struct kvm_run;
struct kvm_cpuid2;
struct vm;
struct console;
struct boot_plan;

/* KVM exit reasons we count individually; the rest land in "other". */
enum vcpu_stat {
	STAT_EXITS,
	STAT_IO,
	STAT_MMIO,
	STAT_INTR,
	STAT_HLT,
	STAT_OTHER,
	STAT_NR,
};

#define VCPU_ASSIST_KINDS 12 /* at least ASSIST_NR (emul_assist.h) */

/* What a vCPU's thread is doing, for the control API (vm_pause.c). */
enum vcpu_state {
	VCPU_NOT_STARTED, /* no thread yet */
	VCPU_RUNNING,     /* in or around KVM_RUN */
	VCPU_PARKED,      /* out of KVM_RUN, waiting for vm_resume */
	VCPU_STOPPED,     /* its loop ended: the VM is stopping */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started; /* written under vm->stop.lock (see vm_stop) */
	atomic_bool in_guest_loop;
	/*
	 * Pause (vm_pause.c): the "may run" flag of the design, stored
	 * inverted so that a zeroed vcpu may run. Written under
	 * vm->stop.lock, read lock-free before every KVM_RUN.
	 */
	atomic_bool pause_req;
	atomic_int state;   /* enum vcpu_state; changed under vm->stop.lock */
	atomic_int tid;     /* the thread's kernel id (gettid), 0 before it runs */
	/* the last exit was PIO/MMIO, not yet completed by a KVM_RUN (own thread) */
	bool io_pending;
	uint64_t stats[STAT_NR]; /* written only by this vCPU's thread */
	uint64_t assists[VCPU_ASSIST_KINDS]; /* by enum assist_kind */
	/*
	 * Where the guest was when this vCPU's loop ended, read by its own
	 * thread then (--stats prints it: for a guest stopped because it hung,
	 * it says where). valid is false if the registers could not be read.
	 */
	struct {
		bool valid;
		uint64_t rip, rflags, cr0, efer;
		uint16_t cs;
		uint32_t mp_state;
	} at_stop;
};

/*
 * Why the VM stopped: set once, by whoever stops it first. The lock also
 * guards what vm_request_stop walks to reach the vCPUs: vm->vcpus,
 * vm->nr_vcpus and each vcpu's thread and thread_started. Their writers
 * (vm_create_vcpus, vcpu_start, vm_run, vm_destroy) all run on one thread
 * and take it to write; the I/O thread and vCPU threads read under it.
 */
struct vm_stop {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopped; /* read lock-free on every exit; written under lock */
	int status;
	char reason[256];
};

struct vm_devices; /* private to vm_devices.c */

/*
 * An optional hook that sees every exit before petrel's own dispatch: the
 * guest test kit uses it for its ucall port, and it is where a debugger stub
 * hooks in. It runs on the vCPU's thread.
 */
enum exit_hook_result {
	EXIT_HOOK_PASS,    /* not mine: dispatch as usual */
	EXIT_HOOK_HANDLED, /* handled: re-enter the guest */
	EXIT_HOOK_STOP,    /* handled, and this vCPU must stop (vm_request_stop called) */
	/*
	 * There is no separate "park" result: a hook that called
	 * vm_pause_from_vcpu returns EXIT_HOOK_HANDLED, and the loop parks
	 * this vCPU because its pause flag is set before the next KVM_RUN.
	 */
};
typedef enum exit_hook_result (*vm_exit_hook)(struct vcpu *v, void *opaque);

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	int run_size;      /* mmap size of struct kvm_run */
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct irqchip irqchip;
	struct power_ctl power;
	struct kvm_cpuid2 *cpuid; /* what KVM supports, edited by --cpu-features */
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	struct vm_devices *dev;
	struct console *console;
	/*
	 * The I/O thread: devices that wait on the host (the console, later
	 * virtio backends) get &vm->io injected. Started before the vCPUs,
	 * stopped first in vm_destroy.
	 */
	struct evloop io;
	bool io_inited;
	struct vm_stop stop;
	int kick_signal;   /* real-time signal that knocks a vCPU out of KVM_RUN */
	vm_exit_hook exit_hook;
	void *exit_hook_opaque;
};

/*
 * Builds the machine for cfg and boots it as plan says (boot_plan.h: built
 * from the same cfg, before this opens /dev/kvm). The plan is written into
 * guest RAM once (boot_plan_write may move its pages there): the caller
 * frees it as soon as this returns.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg,
	      struct boot_plan *plan);
/*
 * The stages of vm_create, for callers that load their own guest (the guest
 * test kit, benchmarks): the machine (KVM, RAM, irqchip, CPUID, devices),
 * then cfg->ncpus vCPUs. The BSP's registers are the caller's to set.
 */
int vm_create_machine(struct vm *vm, const struct vm_config *cfg);
int vm_create_vcpus(struct vm *vm);
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/*
 * Stops the VM with an exit status and a reason; the first caller wins.
 * Safe from any thread; kicks every vCPU out of KVM_RUN.
 */
void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_stopping(struct vm *vm);

/*
 * Pause and resume (vm_pause.c). A paused vCPU is out of KVM_RUN, with any
 * PIO/MMIO exit completed, waiting on vm->stop.cond: its registers and guest
 * memory are stable and any thread may use its vCPU ioctls. A stop always
 * wins: it wakes parked vCPUs (they leave their loops) and makes the waits
 * below return -ECANCELED.
 *
 * vm_pause: parks every vCPU and returns once every started one is parked:
 * 0, or -ECANCELED if the VM is stopping. Idempotent. Never from a vCPU
 * thread (it would wait for itself): use vm_pause_from_vcpu there.
 * vm_resume: every vCPU may run again. vm_resume_vcpus: only those with
 * which[id] set (a debugger steps one while the others stay parked).
 * vm_pause_from_vcpu: from v's own thread (an exit hook): asks every vCPU to
 * park, v itself before its next KVM_RUN (the hook returns
 * EXIT_HOOK_HANDLED); vm_wait_paused, on another thread, learns when all are.
 * vm_paused: whether every vCPU is asked to park and every started one is.
 */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
void vm_resume_vcpus(struct vm *vm, const bool *which);
void vm_pause_from_vcpu(struct vcpu *v);
int vm_wait_paused(struct vm *vm);
bool vm_paused(struct vm *vm);
const char *vcpu_state_name(enum vcpu_state s);
/*
 * Calls fn(v, arg) while v is parked and cannot leave (it holds the lock a
 * parked vCPU needs to wake): fn's vCPU ioctls never meet a running vCPU.
 * fn's result, or -EBUSY if v is not parked (-ECANCELED: stopping).
 */
int vcpu_call_parked(struct vcpu *v, int (*fn)(struct vcpu *v, void *arg),
		     void *arg);

/*
 * For a vCPU loop (vcpu.c, and tests' fake vCPU threads): vcpu_loop_begin
 * and vcpu_loop_end bracket the thread's loop (thread id, state);
 * vcpu_park is called before KVM_RUN when v->pause_req is set and after a
 * KVM_RUN that returned EINTR with immediate_exit set. It completes a
 * pending PIO/MMIO exit, waits while v is asked to park (unless the VM
 * stops), and clears the immediate_exit a pause set. vcpu_wants_park says
 * whether that call is due after an EINTR.
 */
void vcpu_loop_begin(struct vcpu *v);
void vcpu_loop_end(struct vcpu *v);
void vcpu_park(struct vcpu *v);
bool vcpu_wants_park(struct vcpu *v);

/* Devices: built by vm_devices.c. */
int vm_devices_create(struct vm *vm);
void vm_devices_destroy(struct vm *vm);
/* After the vCPUs stopped: waits (bounded) until console output is out. */
void vm_devices_flush(struct vm *vm);
void vm_devices_print_stats(struct vm *vm);

/* vCPUs: vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id);
void vcpu_destroy(struct vcpu *v);
/* Starts the vCPU's thread: 0, -ECANCELED once the VM is stopping, or -errno. */
int vcpu_start(struct vcpu *v);
/* Handles one exit; returns 0 to re-enter the guest, >0 when stopping. */
int vcpu_handle_exit(struct vcpu *v);
/* Register dump + instruction bytes at RIP, to stderr. */
void vcpu_dump(struct vcpu *v, const char *why);
/*
 * Completes a PIO/MMIO exit inside KVM (KVM_RUN with immediate_exit) so
 * that the vCPU's registers may be changed from an exit hook. 0 or -errno.
 */
int vcpu_complete_io(struct vcpu *v);

#endif
