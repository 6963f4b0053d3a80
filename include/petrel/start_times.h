/*
 * How long each step of petrel's own start took: --stats prints the time
 * since petrel started at which each step ended, then the boot marker, so
 * a slow start names its step (reading and decompressing the kernel, KVM's
 * VM creation, the devices, the first KVM_RUN).
 *
 * main owns one, puts it in vm_config.times (NULL: not timed, as in the
 * test kit and benchmarks) and the layers below mark their steps. Each
 * step is recorded once, the first time; any thread may mark (the first
 * KVM_RUN is marked on vCPU 0's thread).
 */
#ifndef PETREL_START_TIMES_H
#define PETREL_START_TIMES_H

#include <stdatomic.h>
#include <stdint.h>

enum start_step {
	START_PARSED,    /* the command line */
	START_PLANNED,   /* kernel read (decompressed), tables, initrd planned */
	START_KVM_VM,    /* /dev/kvm opened, the VM created, RAM registered */
	START_MACHINE,   /* irqchip, CPUID, I/O thread, devices */
	START_LOADED,    /* the plan written into guest RAM */
	START_VCPUS,     /* vCPUs created, the BSP's registers set */
	START_FIRST_RUN, /* vCPU 0 enters KVM_RUN for the first time */
	START_NR
};

struct start_times {
	uint64_t start_ns;           /* CLOCK_MONOTONIC at main's first line */
	_Atomic uint64_t at[START_NR]; /* ns after start_ns; 0: not reached */
};

void start_times_init(struct start_times *t, uint64_t start_ns);
/* Records step now, the first time; t may be NULL. */
void start_times_mark(struct start_times *t, enum start_step step);
/* One --stats line: "start: parsed 0.1 ms, planned 31.2 ms, ..." */
void start_times_print(const struct start_times *t);

#endif
