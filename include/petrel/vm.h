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
#include "petrel/trace.h"

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

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started; /* written under vm->stop.lock (see vm_stop) */
	atomic_bool in_guest_loop;
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
	/*
	 * --trace: opened first in vm_create_machine, closed last in
	 * vm_destroy; the vCPUs, the irqchip and the devices get &tracer.
	 */
	struct tracer tracer;
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
