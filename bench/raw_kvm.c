/*
 * The baseline the exit benchmarks divide by: the least a VMM can do. One
 * memslot, one vCPU put straight into 64-bit CPL3 (cpl3.c), no irqchip, no
 * devices, no threads, and a KVM_RUN loop that ignores every port and MMIO
 * write. Whatever petrel costs above this is petrel's own overhead.
 *
 *   raw_kvm pio N [irqchip]   N port writes; prints "ns_per_exit F exits N"
 *   raw_kvm mmio N [irqchip]  N MMIO writes to BENCH_MMIO (no memslot there)
 *                     "irqchip" adds KVM's in-kernel PIC/IOAPIC/LAPIC, as
 *                     petrel has: it splits petrel's extra cost per exit
 *                     into KVM's share and petrel's own
 *   raw_kvm startup   the guest's first instruction writes 'X' to COM1; the
 *                     byte goes to stdout, and the process exits at the
 *                     guest's next write (the startup benchmark times this)
 *   raw_kvm hold      as startup, but then stays alive (memory benchmark)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cpl3.h"

/* The same size petrel and QEMU get in the memory benchmark. */
#define RAM_SIZE (64ULL << 20)

static void die(const char *what)
{
	fprintf(stderr, "raw_kvm: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	enum { PIO, MMIO, STARTUP, HOLD } mode;
	struct cpl3_args args = { .rax = 0, .rbx = BENCH_MMIO, .rdx = BENCH_PORT };
	const uint8_t *code = bench_guest_pio, *code_end = bench_guest_pio_end;
	unsigned long long n = 1, exits = 0;
	int kvm, vm, vcpu, run_size;
	struct kvm_run *run;
	uint8_t *ram;
	double t0, t1;

	if (argc >= 3 && !strcmp(argv[1], "pio"))
		mode = PIO;
	else if (argc >= 3 && !strcmp(argv[1], "mmio"))
		mode = MMIO;
	else if (argc >= 2 && !strcmp(argv[1], "startup"))
		mode = STARTUP;
	else if (argc >= 2 && !strcmp(argv[1], "hold"))
		mode = HOLD;
	else {
		fprintf(stderr, "usage: raw_kvm pio|mmio N [irqchip] | startup | hold\n");
		return 2;
	}
	if (mode == PIO || mode == MMIO)
		n = strtoull(argv[2], NULL, 0);
	if (mode == MMIO) {
		code = bench_guest_mmio;
		code_end = bench_guest_mmio_end;
	}
	if (mode == STARTUP || mode == HOLD)
		args = (struct cpl3_args){ .rax = 'X', .rdx = BENCH_COM1 };
	args.rcx = n;

	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		die("/dev/kvm");
	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		die("KVM_CREATE_VM");
	if (argc >= 4 && !strcmp(argv[3], "irqchip") && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	/* the same lazy, untouched-until-used RAM petrel maps */
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	struct kvm_userspace_memory_region slot = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		die("KVM_CREATE_VCPU");
	if ((run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) < 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	/* CPUID as KVM supports it, as any real VMM would set it */
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[256]; } cpuid = {
		.c.nent = 256 };
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0)
		die("CPUID");
	errno = -cpl3_setup(vcpu, ram, RAM_SIZE, code, (size_t)(code_end - code), &args);
	if (errno)
		die("guest setup");

	t0 = now_ns();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			if (run->io.port == BENCH_DONE_PORT)
				break;
			if (run->io.port == BENCH_FAULT_PORT) {
				uint32_t vector;
				char what[160];

				memcpy(&vector, (uint8_t *)run + run->io.data_offset, 4);
				cpl3_fault_describe(ram, vector, what, sizeof(what));
				fprintf(stderr, "raw_kvm: guest exception %s\n", what);
				return 1;
			}
			if (run->io.port == BENCH_COM1) {
				/* the guest's first act: make it visible, as a UART would */
				if (write(1, (uint8_t *)run + run->io.data_offset, 1) != 1)
					die("write");
				if (mode == HOLD)
					for (;;)
						pause();
			}
			exits++;
		} else if (run->exit_reason == KVM_EXIT_MMIO) {
			exits++; /* the do-nothing device */
		} else {
			/* 8 = KVM_EXIT_SHUTDOWN: a triple fault, which the IDT should prevent */
			fprintf(stderr, "raw_kvm: unexpected exit reason %u\n", run->exit_reason);
			return 1;
		}
	}
	t1 = now_ns();
	if (exits != n) {
		fprintf(stderr, "raw_kvm: %llu exits, expected %llu\n", exits, n);
		return 1;
	}
	if (mode == PIO || mode == MMIO)
		printf("ns_per_exit %.1f exits %llu\n", (t1 - t0) / (double)n, n);
	return 0;
}
