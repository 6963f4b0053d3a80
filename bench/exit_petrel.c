/*
 * The petrel side of the exit benchmarks: the same CPL3 guest as raw_kvm.c,
 * but run by petrel's own vCPU loop (vm_create_machine, vm_create_vcpus,
 * vm_run) with a do-nothing device on the PIO bus and one on the MMIO bus,
 * so every exit takes petrel's real path: KVM_RUN in the vCPU thread, the
 * stop check, exit statistics, bus lookup, the device's write op. The loop
 * ends at the guest's write to petrel's debug-exit device.
 *
 *   exit_petrel pio|mmio N [TRACE]   prints "ns_per_exit F exits N"
 *
 * TRACE, a --trace spec ("exits:/dev/null"), turns tracing on for the run:
 * what a trace costs per exit (bench/trace_cost.sh).
 * BENCH_SECCOMP=1 in the environment runs it under petrel's seccomp filters
 * (the vCPU's, the I/O thread's, main's), as `petrel run` does by default:
 * what the filters cost per exit (bench/run.sh exit).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpl3.h"
#include "petrel/console.h"
#include "petrel/sandbox.h"
#include "petrel/trace.h"
#include "petrel/vm.h"

#define RAM_SIZE (64ULL << 20)

static uint64_t null_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque, (void)off, (void)size;
	return 0;
}

static void null_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	(void)opaque, (void)off, (void)v, (void)size;
}

static const struct bus_dev_ops null_ops = { null_read, null_write };

/* BENCH_FAULT_PORT: the guest took an exception (cpl3.h); stop and say which */
static void fault_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct vm *vm = opaque;
	char what[160];

	(void)off, (void)size;
	cpl3_fault_describe(gpa_ptr(&vm->mem, 0, CPL3_MIN_RAM), (uint32_t)v, what,
			    sizeof(what));
	vm_request_stop(vm, 3, "guest exception %s", what);
}

static const struct bus_dev_ops fault_ops = { null_read, fault_write };

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct vm_config cfg = {
		.kernel = NULL, .cmdline = "", .mem_size = RAM_SIZE, .ncpus = 1,
		.console = CONSOLE_NONE, .debug_exit_port = BENCH_DONE_PORT,
	};
	struct cpl3_args args = { .rbx = BENCH_MMIO, .rdx = BENCH_PORT };
	const uint8_t *code = bench_guest_pio, *code_end = bench_guest_pio_end;
	struct vm vm;
	struct sandbox sb;
	const char *sc = getenv("BENCH_SECCOMP");
	sigset_t kick;
	bool mmio;
	uint64_t got;
	double t0, t1;
	int status, err;

	if ((argc != 3 && argc != 4) || (strcmp(argv[1], "pio") && strcmp(argv[1], "mmio"))) {
		fprintf(stderr, "usage: exit_petrel pio|mmio N [TRACE-SPEC]\n");
		return 2;
	}
	if (argc == 4) {
		char why[256] = "TRACE-SPEC: classes, not help";

		if (trace_parse(argv[3], &cfg.trace_mask, &cfg.trace_path, why, sizeof(why))) {
			fprintf(stderr, "exit_petrel: %s\n", why);
			return 2;
		}
	}
	mmio = !strcmp(argv[1], "mmio");
	args.rcx = strtoull(argv[2], NULL, 0);
	if (mmio) {
		code = bench_guest_mmio;
		code_end = bench_guest_mmio_end;
	}

	if (sc && !strcmp(sc, "1")) {
		if (sandbox_init(&sb, &cfg) < 0)
			return 2;
		cfg.sandbox = &sb;
	}
	/* the signal set-up petrel's main() does before any thread exists */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	console_block_signals();

	if ((err = vm_create_machine(&vm, &cfg)) < 0 ||
	    (err = bus_insert(&vm.pio, BENCH_PORT, 1, &null_ops, NULL, "bench-null")) < 0 ||
	    (err = bus_insert(&vm.mmio, BENCH_MMIO, 0x1000, &null_ops, NULL, "bench-null")) < 0 ||
	    (err = bus_insert(&vm.pio, BENCH_FAULT_PORT, 4, &fault_ops, &vm, "bench-fault")) < 0 ||
	    (err = vm_create_vcpus(&vm)) < 0 ||
	    (err = cpl3_setup(vm.vcpus[0].fd, gpa_ptr(&vm.mem, 0, CPL3_MIN_RAM),
			      CPL3_MIN_RAM, code, (size_t)(code_end - code), &args)) < 0) {
		fprintf(stderr, "exit_petrel: VM setup failed: %s\n", strerror(-err));
		vm_destroy(&vm);
		return 2;
	}
	/* vm_run includes starting the vCPU thread: ~0.1 ms against ~1 s of exits */
	t0 = now_ns();
	status = vm_run(&vm);
	t1 = now_ns();
	got = vm.vcpus[0].stats[mmio ? STAT_MMIO : STAT_IO];
	vm_destroy(&vm);
	/* debug-exit value 0 -> status 1; the done write itself is one more IO exit */
	if (status != 1 || got != args.rcx + (mmio ? 0 : 1)) {
		fprintf(stderr, "exit_petrel: status %d, %llu exits (expected %llu): %s\n",
			status, (unsigned long long)got, (unsigned long long)args.rcx,
			vm.stop.reason);
		return 1;
	}
	printf("ns_per_exit %.1f exits %llu\n", (t1 - t0) / (double)args.rcx,
	       (unsigned long long)args.rcx);
	return 0;
}
