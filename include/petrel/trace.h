/*
 * Tracing (--trace EVENTS[:FILE]): one line per event, written where the
 * event happens, on that thread.
 *
 * A line is "SECONDS WHO CLASS WHAT key=value ...": SECONDS since the tracer
 * was opened (CLOCK_MONOTONIC, nanoseconds), WHO the vCPU ("vcpu0") or the
 * thread's name ("io", "petrel" for the main thread, ...), CLASS one of the
 * names below. Example:
 *   0.812034511 vcpu0 pio write port=0x3f8 size=1 data=0x41 dev=com1 offset=0x0
 *
 * Contract:
 * - No global state: the VM owns a struct tracer and hands a pointer to
 *   whoever has events (the vCPU loop, the irqchip, virtio devices). A NULL
 *   pointer is a tracer that is off.
 * - Off costs one predictable branch: trace_on() is an inline test of a bit
 *   mask (a relaxed atomic load, a plain load on x86); the formatting lives
 *   out of line and runs only when the class is on.
 * - Each line is formatted into a buffer on the stack and leaves with one
 *   write(2) (the file is opened O_APPEND), so lines of several threads
 *   never interleave. Lines longer than TRACE_LINE_MAX are cut, ending "...".
 * - A failed or short write turns tracing off (the mask becomes 0) and
 *   prints one message; the VM goes on.
 */
#ifndef PETREL_TRACE_H
#define PETREL_TRACE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum trace_class {
	TRACE_PIO = 1u << 0,    /* port I/O accesses as the device saw them */
	TRACE_MMIO = 1u << 1,   /* MMIO accesses as the device saw them */
	TRACE_IRQ = 1u << 2,    /* interrupt lines, MSIs, MSI routes */
	TRACE_VIRTIO = 1u << 3, /* queue kicks, used-ring pushes, interrupts */
	TRACE_EXITS = 1u << 4,  /* every KVM exit of every vCPU */
	TRACE_KVM = 1u << 5,    /* KVM ioctls after set-up, with their result */
	TRACE_ALL = (1u << 6) - 1,
};

#define TRACE_LINE_MAX 512

struct tracer {
	_Atomic unsigned mask; /* enum trace_class bits that are on */
	int fd;                /* -1 when closed */
	bool own_fd;           /* opened by tracer_open: closed by tracer_close */
	uint64_t t0_ns;        /* CLOCK_MONOTONIC at open: line times count from it */
	const char *where;     /* the file's name or "stderr", for the message */
	bool crlf;             /* a terminal, maybe in raw mode: lines end "\r\n" */
};

static inline bool trace_on(const struct tracer *t, unsigned cls)
{
	return __builtin_expect(
		t && (atomic_load_explicit(&t->mask, memory_order_relaxed) & cls), 0);
}

/*
 * Parses "CLASS[,CLASS...][:FILE]" (CLASS: a name from trace_help(), or
 * "all"). Returns 0 with *mask and *path (pointing into spec, NULL without
 * FILE), 1 for "help", or -EINVAL with a reason in err.
 */
int trace_parse(const char *spec, unsigned *mask, const char **path,
		char *err, size_t errlen);
/* What `--trace help` prints: the classes and what each traces. */
const char *trace_help(void);
/* "pio" for TRACE_PIO, ... ("?" for anything else) */
const char *trace_class_name(unsigned cls);

/*
 * Opens the tracer for mask: path NULL writes to stderr, else path is
 * created or truncated and opened O_APPEND. mask 0 opens nothing. 0 or
 * -errno (with a message naming the file).
 */
int tracer_open(struct tracer *t, unsigned mask, const char *path);
/* Writes to fd, which the caller keeps (tests: a pipe, a memfd). */
void tracer_init_fd(struct tracer *t, unsigned mask, int fd);
void tracer_close(struct tracer *t);

/*
 * One line of class cls from the calling thread (WHO is its name). The
 * typed helpers below and the other *_trace.h headers build on it; code
 * with an event of its own may call it directly, after trace_on().
 */
void trace_emit(struct tracer *t, unsigned cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with WHO given ("vcpu3"): no syscall to learn the thread's name. */
void trace_emit_who(struct tracer *t, const char *who, unsigned cls,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void trace_vemit(struct tracer *t, const char *who, unsigned cls,
		 const char *fmt, va_list ap);

struct bus;
/*
 * A PIO or MMIO access by vCPU vcpu, after the device handled it (so a
 * read shows what the device returned): the port or GPA, size, the data,
 * and the owning device's name and the offset in its range ("dev=-" when
 * nobody claims the address).
 */
void trace_access(struct tracer *t, unsigned vcpu, const struct bus *b,
		  bool mmio, uint64_t addr, bool write, unsigned size,
		  const void *data);

/* A KVM ioctl and its result (0 or -errno); fmt says what it carried. */
void trace_kvm(struct tracer *t, const char *ioctl_name, int result,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct kvm_run;
/* One KVM exit (trace_exit.c): the reason's name and what identifies it. */
void trace_exit(struct tracer *t, unsigned vcpu, const struct kvm_run *run);
/* KVM_RUN returned EINTR/EAGAIN: the vCPU was kicked out (a signal). */
void trace_exit_intr(struct tracer *t, unsigned vcpu, int err);
/* KVM_EXIT_* name ("IO", "MMIO", "HLT", ...), or NULL when unknown. */
const char *trace_exit_reason_name(unsigned reason);

#endif
