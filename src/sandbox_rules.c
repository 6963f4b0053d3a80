/*
 * Every syscall petrel's threads may make once their filter is in, in one
 * table: `petrel help seccomp` prints it, docs/security.md holds a copy
 * (tests/unit/test_sandbox.c fails when the two differ). A row allows one
 * syscall for the kinds in its mask, with at most one argument condition;
 * rows for the same syscall add up. Found with strace -f -Y on every test
 * tier that runs petrel (boot, virtio, net, api, gdb, cli) and by reading
 * the code paths; glibc's own calls (malloc, threads, stdio) are here too.
 *
 * What stays out on purpose: open/openat (nothing is opened after set-up),
 * execve, fork (clone without CLONE_THREAD), socket families other than
 * what libslirp needs, ptrace, mount, setuid and friends, any ioctl not
 * named, mmap/mprotect with PROT_EXEC (no new code after set-up).
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "sandbox_rules.h"

/* the open flags that write or create */
#define SB_OPEN_WRITE (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | 020000000 /* O_TMPFILE without O_DIRECTORY */)

#define MAIN K(SANDBOX_MAIN)
#define VCPU K(SANDBOX_VCPU)
#define IO K(SANDBOX_IO)
#define API K(SANDBOX_API)
#define GDB K(SANDBOX_GDB)
#define WDOG K(SANDBOX_WATCHDOG)
/* the kinds that reach the VM's state (pause, registers, interrupts) */
#define VMK (MAIN | VCPU | IO | API | GDB)

#define ANY(n, k, w) { n, k, 0, SB_ANY, 0, 0, NULL, w }
#define FEAT(n, k, f, w) { n, k, f, SB_ANY, 0, 0, NULL, w }
#define IOCTL(k, req, w) { "ioctl", k, 0, SB_EQ32, 1, req, #req, w }
#define ARG32(n, k, a, v, w) { n, k, 0, SB_EQ32, a, v, #v, w }
#define FEAT_ARG(n, k, f, a, v, w) { n, k, f, SB_EQ32, a, v, #v, w }

const struct sb_rule sb_rules[] = {
	/* every thread: glibc's threads, locks, malloc, time, messages */
	ANY("futex", K_ALL, "locks, condition variables, joins"),
	ANY("write", K_ALL, "messages to stderr, eventfd wake-ups, console and trace output"),
	ANY("rt_sigprocmask", K_ALL, "glibc masks signals around thread work"),
	ANY("rt_sigreturn", K_ALL, "return from the vCPU kick handler"),
	ANY("restart_syscall", K_ALL, "a syscall a signal interrupted"),
	ANY("getpid", K_ALL, "pthread_kill, the SIGSYS handler"),
	ANY("gettid", K_ALL, "pthread_kill, the SIGSYS handler"),
	{ "tgkill", K_ALL, 0, SB_SELF_PID, 0, 0, "this process",
	  "vCPU kicks, the SIGSYS handler's re-raise; no other process" },
	ANY("exit", K_ALL, "a thread ends"),
	ANY("exit_group", K_ALL, "the process ends"),
	{ "mmap", K_ALL, 0, SB_MASK_NONE, 2, PROT_EXEC, "no PROT_EXEC", "malloc, thread stacks" },
	{ "mprotect", K_ALL, 0, SB_MASK_NONE, 2, PROT_EXEC, "no PROT_EXEC", "malloc arenas, stack guards" },
	ANY("munmap", K_ALL, "free"),
	ANY("madvise", K_ALL, "free, thread stacks"),
	ANY("brk", K_ALL, "malloc"),
	ANY("clock_gettime", K_ALL, "the vDSO's fallback"),
	ANY("clock_nanosleep", K_ALL, "short waits (nanosleep)"),
	ANY("nanosleep", K_ALL, "short waits"),
	ANY("sched_yield", K_ALL, "spin-then-yield waits"),
	ARG32("prctl", K_ALL, 0, PR_GET_NAME, "--trace names the thread"),
	ANY("close", MAIN | VCPU | IO | API | GDB, "connections, eventfds of a reset device, teardown"),

	/* KVM: the ioctls of a running VM (none that creates or maps) */
	IOCTL(VCPU, KVM_RUN, "enter the guest"),
	IOCTL(VMK, KVM_GET_REGS, "exits, stop state, API and GDB reads"),
	IOCTL(VMK, KVM_SET_REGS, "string I/O, GDB writes"),
	IOCTL(VMK, KVM_GET_SREGS, "exits, stop state, API and GDB reads"),
	IOCTL(VMK, KVM_SET_SREGS, "GDB writes"),
	IOCTL(VMK, KVM_GET_FPU, "register dumps, GDB"),
	IOCTL(VMK, KVM_SET_FPU, "GDB writes"),
	IOCTL(VMK, KVM_GET_MP_STATE, "stop state, 8259 re-evaluation"),
	IOCTL(VMK, KVM_SET_MP_STATE, "8259 re-evaluation"),
	IOCTL(VMK, KVM_GET_VCPU_EVENTS, "register dumps"),
	IOCTL(VMK, KVM_SET_VCPU_EVENTS, "GDB"),
	IOCTL(VMK, KVM_TRANSLATE, "API and GDB address translation"),
	IOCTL(VMK, KVM_SET_GUEST_DEBUG, "GDB breakpoints and single-step"),
	IOCTL(VMK, KVM_INTERRUPT, "the split irqchip's ExtINT"),
	IOCTL(VMK, KVM_IRQ_LINE, "device interrupt lines"),
	IOCTL(VMK, KVM_SIGNAL_MSI, "MSIs without irqfd"),
	IOCTL(VMK, KVM_IRQFD, "MSI-X vectors the guest enables"),
	IOCTL(VMK, KVM_IOEVENTFD, "queue notify addresses as BARs move"),
	IOCTL(VMK, KVM_SET_GSI_ROUTING, "MSI-X routes the guest programs"),
	IOCTL(VMK | WDOG, KVM_GET_IRQCHIP, "the 8259 watchdog, the split irqchip"),
	IOCTL(VMK, KVM_SET_IRQCHIP, "the 8259 state"),
	IOCTL(VMK, KVM_GET_LAPIC, "local APIC state"),
	IOCTL(VMK, KVM_SET_LAPIC, "local APIC state"),
	IOCTL(MAIN | VCPU | IO, TUNSETOFFLOAD, "a tap's offloads follow the features the guest's driver takes"),
	IOCTL(MAIN | IO, TCGETS, "the console's terminal"),
	IOCTL(MAIN | IO, TCSETS, "the console's terminal, restored at exit"),

	/* fds: eventfds, the epoll loop, files opened at set-up */
	ANY("read", MAIN | VCPU | IO | API | GDB, "eventfds, the console, taps, sockets"),
	ANY("readv", IO, "tap frames"),
	ANY("writev", IO | API, "tap frames, HTTP answers"),
	ANY("pread64", VCPU | IO, "disk images (io=sync)"),
	ANY("pwrite64", VCPU | IO, "disk images (io=sync)"),
	ANY("preadv", VCPU | IO, "disk images (io=sync)"),
	ANY("pwritev", VCPU | IO, "disk images (io=sync)"),
	ANY("fdatasync", VCPU | IO, "disk flush"),
	ANY("fsync", VCPU | IO, "disk flush"),
	ANY("io_uring_enter", VCPU | IO, "disk images (io=uring)"),
	ANY("io_uring_register", MAIN, "the ring's eventfd unregistered at teardown"),
	ANY("eventfd2", VCPU | IO | API, "irqfds, libmicrohttpd's wake-up"),
	ANY("epoll_wait", IO | API, "the event loops"),
	ANY("epoll_pwait", IO | API, "the event loops"),
	ANY("epoll_ctl", MAIN | VCPU | IO | API, "fds joining and leaving the loops (devices at teardown)"),
	ANY("epoll_create1", API, "libmicrohttpd's loop"),
	ANY("poll", IO | API | GDB, "libslirp, libmicrohttpd, the GDB stub"),
	ANY("ppoll", IO | API | GDB, "libslirp, libmicrohttpd, the GDB stub"),
	ANY("getrandom", VCPU | IO, "virtio-rng's entropy, glib's hash tables (libslirp)"),
	ANY("timerfd_settime", VCPU | IO, "the PIT's and RTC's timers"),
	ANY("timerfd_gettime", VCPU | IO, "the PIT's and RTC's timers"),
	ARG32("fcntl", IO | API | GDB | MAIN, 1, F_GETFL, "non-blocking sockets"),
	ARG32("fcntl", IO | API | GDB | MAIN, 1, F_SETFL, "non-blocking sockets, stdout restored"),
	ARG32("fcntl", IO | API | GDB, 1, F_GETFD, "close-on-exec"),
	ARG32("fcntl", IO | API | GDB, 1, F_SETFD, "close-on-exec"),
	{ "newfstatat", MAIN | IO | API | GDB, 0, SB_EQ32, 3, AT_EMPTY_PATH, "AT_EMPTY_PATH",
	  "fstat of an open fd (stdio)" },
	ANY("unlink", MAIN | GDB, "the API's and the stub's socket files at exit"),
	ANY("mincore", MAIN | API, "--stats, GET /stats: guest RAM resident"),

	/* Unix sockets: accepted connections only (listening sockets opened at set-up) */
	ANY("accept4", IO | API | GDB, "the API, the stub, the console socket"),
	ANY("accept", IO | API | GDB, "the API, the stub, the console socket"),
	ANY("recvfrom", IO | API | GDB, "requests, packets"),
	ANY("sendto", IO | API | GDB, "answers, packets"),
	ANY("recvmsg", IO | API, "requests, packets"),
	ANY("sendmsg", IO | API, "answers, packets"),
	ANY("shutdown", MAIN | IO | API | GDB, "closing a connection, the API at exit"),
	ANY("setsockopt", API | GDB, "connection options"),
	ANY("getsockopt", API | GDB, "connection errors"),
	ANY("getsockname", API | GDB, "the peer's address"),
	ANY("getpeername", API | GDB, "the peer's address"),
	/* libmicrohttpd makes its own thread from the API thread */
	{ "clone", API, 0, SB_MASK_ALL, 0, CLONE_THREAD, "CLONE_THREAD",
	  "libmicrohttpd's thread; never a process" },
	{ "clone3", API, 0, SB_ENOSYS, 0, 0, "fails with ENOSYS",
	  "its flags are in memory a filter cannot read: glibc falls back to clone" },
	ANY("set_robust_list", API, "a new thread"),
	ANY("rseq", API, "a new thread"),
	ARG32("prctl", API, 0, PR_SET_NAME, "naming the thread"),
	/*
	 * GET /threads, /fds and /translate read /proc/self (task/N/stat,
	 * fd links, pagemap). The API is the operator's, on a 0600 socket,
	 * not the guest's: its thread may open files, but only to read.
	 */
	{ "openat", API, 0, SB_MASK_NONE, 2, SB_OPEN_WRITE, "read-only (no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND)",
	  "/proc/self/task, /proc/self/fd, /proc/self/pagemap" },
	ANY("getdents64", API, "/proc/self/task, /proc/self/fd"),
	ANY("readlink", API, "/proc/self/fd links"),
	ANY("pread64", API, "/proc/self/pagemap"),
	ANY("lseek", API, "stdio on /proc files"),

	/* --net user: libslirp's host sockets (IPv4, IPv6), on the I/O thread */
	FEAT_ARG("socket", IO, SANDBOX_F_SLIRP, 0, AF_INET, "libslirp's connections"),
	FEAT_ARG("socket", IO, SANDBOX_F_SLIRP, 0, AF_INET6, "libslirp's connections"),
	FEAT("connect", IO, SANDBOX_F_SLIRP, "libslirp's connections"),
	FEAT("bind", IO, SANDBOX_F_SLIRP, "libslirp's port forwards and UDP"),
	FEAT("listen", IO, SANDBOX_F_SLIRP, "libslirp's port forwards"),
	FEAT("setsockopt", IO, SANDBOX_F_SLIRP, "libslirp's socket options"),
	FEAT("getsockopt", IO, SANDBOX_F_SLIRP, "libslirp's socket errors"),
	FEAT("getsockname", IO, SANDBOX_F_SLIRP, "libslirp"),
	FEAT("getpeername", IO, SANDBOX_F_SLIRP, "libslirp"),
	/*
	 * libslirp's DNS proxy (the guest's 10.0.2.3) stats and re-reads the
	 * host's /etc/resolv.conf, at most once a second, on the I/O thread:
	 * with --net user that thread may open files, but only to read
	 * (docs/security.md says what that costs; --user limits it).
	 */
	{ "openat", IO, SANDBOX_F_SLIRP, SB_MASK_NONE, 2, SB_OPEN_WRITE, "read-only",
	  "libslirp's DNS proxy reads /etc/resolv.conf" },
	FEAT("newfstatat", IO, SANDBOX_F_SLIRP, "libslirp's DNS proxy: has /etc/resolv.conf changed"),
	FEAT_ARG("ioctl", IO, SANDBOX_F_SLIRP, 1, FIONREAD, "libslirp"),
	FEAT_ARG("ioctl", IO, SANDBOX_F_SLIRP, 1, FIONBIO, "libslirp"),

};

const unsigned sb_nr_rules = sizeof(sb_rules) / sizeof(sb_rules[0]);
