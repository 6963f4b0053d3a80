/*
 * The host side of petrel's guest test kit (the KVM-selftests idea): a test
 * is one C file whose guest half (#ifdef GUEST) is built freestanding
 * against kit/guest.h and whose host half builds a VM with petrel's own
 * library, runs the guest and checks what it reports. Benchmarks use the
 * same API (nothing here is test-only, and there is no global state: two
 * kit VMs may live in one process, one after the other or side by side).
 *
 * What kit_vm_create() builds, and why on the host: on our machines CPL0
 * guest code is emulated (~5000x slower, see shared/PLATFORM.md), so the
 * host writes the GDT, the IDT (gates -> the guest's stubs), one TSS per
 * vCPU and identity page tables into guest memory (layout: kit_abi.h) and
 * enters vCPU 0 directly in 64-bit mode, at CPL3 (native speed here) or,
 * with cpl0, at CPL0. CPL3 code may use every I/O port (the TSS I/O bitmap
 * allows all) and sti/cli (IOPL 3 is set, and where the platform ignores it
 * the kit emulates the faulting sti/cli from the #GP it reports). Other vCPUs wait
 * in the in-kernel LAPIC for INIT-SIPI-SIPI from the guest; their real-mode
 * trampoline reports to the host, which then puts them in long mode at the
 * same entry (RDI = their cpu index).
 *
 * Typical use:
 *     struct kit_vm k;
 *     struct kit_opts o = { KIT_EMBEDDED_GUEST, .on_ucall = my_sync };
 *     int r = kit_vm_create(&k, &o);
 *     if (r) return r == KIT_SKIP ? KIT_SKIP : 1;
 *     bus_insert(&k.vm.pio, ...);           // optional test devices
 *     int status = kit_run(&k);             // petrel exit status, 0 = GUEST_DONE
 *     KIT_CHECK_EQ(&k, status, 0);
 *     return kit_finish(&k);                // kit_destroy + 0/1
 *
 * Guest reports (kit_abi.h): a guest "ucall" is an outl of the address of a
 * struct kit_ucall to KIT_PORT_UCALL; an exception or interrupt reaches the
 * guest's IDT stub (CPL0), which reports its struct kit_trap_frame to
 * KIT_PORT_TRAP. Both are handled in petrel's exit hook on the vCPU's
 * thread, so callbacks of different vCPUs may run concurrently.
 */
#ifndef KIT_H
#define KIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kit_abi.h"
#include "petrel/elf_load.h"
#include "petrel/vm.h"

/* A test binary's exit status when it cannot run here (automake's 77). */
#define KIT_SKIP 77

/* Exit statuses kit_run() may return besides petrel's (exitcode.h). */
#define KIT_STATUS_FAILED 0x40  /* a GUEST_ASSERT failed, or a callback said stop */
#define KIT_STATUS_TIMEOUT 0x41 /* the watchdog fired (opts.timeout_ms) */

/* What a callback asks the kit to do next. */
enum kit_action {
	KIT_CONTINUE, /* re-enter the guest (a trap: resume the interrupted code) */
	KIT_STOP,     /* stop the VM (status KIT_STATUS_FAILED unless already stopping) */
	KIT_DEFAULT,  /* on_trap only: the kit's policy (fail on vectors < 32, resume others) */
};

/* An exception or interrupt as the guest's IDT stub reported it. */
struct kit_trap {
	unsigned vector;
	uint64_t error_code;
	unsigned cpl; /* of the interrupted code: frame.cs & 3 */
	uint64_t frame_gpa;
	struct kit_trap_frame frame; /* the interrupted registers */
};

struct kit_vm;

struct kit_opts {
	/* The guest: an ELF64 file, or an image in memory (KIT_EMBEDDED_GUEST). */
	const char *guest_path;
	const void *guest_image;
	size_t guest_len;

	unsigned ncpus;       /* default 1, at most KIT_MAX_CPUS */
	uint64_t mem_size;    /* default 64 MiB */
	bool cpl0;            /* enter at CPL0 (emulated here) instead of CPL3 */
	uint64_t args[4];     /* guest_main(a0, a1, a2, a3): RSI, RDX, RCX, R8 */
	unsigned timeout_ms;  /* watchdog for kit_run; default 30000 */

	/*
	 * COM1: by default its output is dropped (CONSOLE_NONE). console sends
	 * it to stdout like `petrel run`; capture_console collects it into
	 * kit_vm.console_out instead (fd 1 is a memfd from kit_vm_create to
	 * kit_destroy, because the console decides how to write stdout when
	 * the VM is made; kit_run reads it once the VM stopped). fd 0 is
	 * /dev/null while the VM exists, so petrel's console neither reads the
	 * terminal nor puts it in raw mode.
	 */
	bool console;
	bool capture_console;
	/* Collects stderr during kit_run (petrel's register dumps) into
	 * kit_vm.stderr_out; it is echoed to the real stderr afterwards. */
	bool capture_stderr;
	uint16_t debug_exit_port; /* 0: none */
	/*
	 * "kernel" or "split" (--irqchip); NULL: the environment's
	 * KIT_IRQCHIP (tests/guest/run.sh runs every test in both), else
	 * kernel. Anything else fails kit_vm_create.
	 */
	const char *irqchip;
	bool quiet;               /* do not echo GUEST_PRINT text to stderr */
	/*
	 * Optional: edits the VM's config before the machine is built, for
	 * what the kit has no option of its own for (virtio devices: --disk,
	 * --rng and their transports). k->cfg is already filled from opts.
	 */
	void (*configure)(struct kit_vm *k, struct vm_config *cfg);

	/*
	 * Callbacks, on the reporting vCPU's thread. on_ucall sees SYNC and
	 * PRINT; it may write replies into uc->args (copied back to the guest).
	 * on_trap sees every exception/interrupt report. on_exit sees every exit
	 * first (return EXIT_HOOK_PASS for the kit's and petrel's handling).
	 */
	enum kit_action (*on_ucall)(struct kit_vm *k, struct vcpu *v,
				    struct kit_ucall *uc);
	enum kit_action (*on_trap)(struct kit_vm *k, struct vcpu *v,
				   const struct kit_trap *t);
	enum exit_hook_result (*on_exit)(struct kit_vm *k, struct vcpu *v);
	void *opaque; /* for the callbacks */
};

/* A memfd standing in for an fd (private to kit.c). */
struct kit_capture {
	int fd, saved, mem;
};

/* What the kit saw of one vCPU. */
struct kit_cpu {
	bool entered;          /* put in long mode by the kit */
	uint16_t sipi_cs;      /* CS the AP trampoline reported (0 for the BSP) */
	char thread_name[16];  /* of the thread that ran its first ucall */
	uint64_t ucalls, traps;
	uint64_t sti_cli;      /* CPL3 sti/cli the kit emulated (see kit.c) */
};

struct kit_vm {
	struct vm vm;           /* petrel's VM: buses, memory, irqchip, vCPUs */
	struct vm_config cfg;
	struct kit_opts opts;
	struct elf_info elf;
	struct kit_cpu cpu[KIT_MAX_CPUS];

	pthread_mutex_t lock;   /* guards failures, first_failure, run_done */
	pthread_cond_t run_cond;
	bool run_done;
	unsigned failures;
	char first_failure[256];

	char *console_out;      /* NUL-terminated, with capture_console */
	size_t console_len;
	char *stderr_out;       /* NUL-terminated, with capture_stderr */
	size_t stderr_len;

	/* private */
	bool vm_inited, lock_inited;
	uint8_t *file_image;
	int saved_stdin;
	struct kit_capture console_cap;
	sigset_t saved_sigmask;
	bool sigmask_saved;
};

/* The guest the test's Makefile rule embedded (tests/guest/kit/embed.S). */
extern const uint8_t kit_guest_image[], kit_guest_image_end[];
#define KIT_EMBEDDED_GUEST                                                     \
	.guest_image = kit_guest_image,                                        \
	.guest_len = (size_t)(kit_guest_image_end - kit_guest_image)

/*
 * Builds the VM: 0, KIT_SKIP (printed "SKIP: /dev/kvm not available: ...")
 * or -errno (printed). Call kit_destroy() in every case.
 */
int kit_vm_create(struct kit_vm *k, const struct kit_opts *o);
/* Runs until the guest is DONE, fails, crashes or times out: petrel's status. */
int kit_run(struct kit_vm *k);
void kit_destroy(struct kit_vm *k);
/* kit_destroy(), then 0 if nothing failed, else 1: a test's return value. */
int kit_finish(struct kit_vm *k);

/* Records a failure (thread-safe; printed at once as "FAIL: ..."). */
void kit_fail(struct kit_vm *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
unsigned kit_failures(struct kit_vm *k);
/* Stops the VM from a callback, recording why as a failure. */
enum kit_action kit_fail_stop(struct kit_vm *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define KIT_CHECK(k, cond)                                                     \
	((cond) ? true                                                         \
		: (kit_fail((k), "%s:%d: check failed: %s", __FILE__,         \
			    __LINE__, #cond), false))
#define KIT_CHECK_EQ(k, a, b)                                                  \
	kit_check_eq((k), (uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__,    \
		     #a " == " #b)
bool kit_check_eq(struct kit_vm *k, uint64_t a, uint64_t b, const char *file,
		  int line, const char *expr);

/*
 * The long-mode state the kit gives a vCPU (used for the BSP and started
 * APs; exposed for tests that want to re-enter a vCPU elsewhere).
 */
int kit_enter_long_mode(struct kit_vm *k, struct vcpu *v, unsigned cpu,
			uint64_t rip);

/*
 * What the host process holds, for leak checks around a VM's life: open
 * file descriptors (/proc/self/fd) and heap bytes in use (mallinfo2; under
 * ASan this is the sanitizer's allocator, whose leaks LeakSanitizer reports
 * at exit instead). Take one before kit_vm_create and one after
 * kit_finish; kit_check_usage prints "FAIL: ..." and returns false when
 * fds grew at all or the heap grew by more than heap_slack bytes.
 */
struct kit_usage {
	int fds;
	size_t heap;
};
void kit_usage_now(struct kit_usage *u);
bool kit_check_usage(const struct kit_usage *before, const struct kit_usage *after,
		     size_t heap_slack);
/* kit_finish, then the usage check against before: the test's exit status. */
int kit_finish_usage(struct kit_vm *k, const struct kit_usage *before, size_t heap_slack);

/*
 * A sparse scratch disk image of `size` bytes for a virtio-blk: path is a
 * mkstemp template ("/tmp/...-XXXXXX") and becomes the file's name. 0, or
 * -1 with the reason printed. The caller unlinks it (once the VM has it open).
 */
int kit_scratch_disk(char *path, long size);

/* The kvm_segment for one of the kit's GDT selectors. */
struct kvm_segment;
void kit_segment(uint16_t selector, struct kvm_segment *s);

#endif
