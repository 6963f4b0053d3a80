/*
 * The sandbox: a default-deny seccomp filter per kind of thread, and the
 * privilege drop (PR_SET_NO_NEW_PRIVS always; --user/--group when started
 * as root). The allow-lists are one table, src/sandbox_rules.c, printed by
 * `petrel help seccomp` and copied into docs/security.md (a unit test keeps
 * the two equal).
 *
 * Order (why it matters: a thread inherits the filter of the thread that
 * creates it, and filters stack, so a thread made after its creator's
 * filter could only use what both allow):
 *   1. main: sandbox_init (NO_NEW_PRIVS, the SIGSYS handler), then opens
 *      /dev/kvm, images, taps, sockets and trace files;
 *   2. sandbox_drop_privileges, before the first thread exists (glibc's
 *      setuid signals every thread to follow, which a filtered thread could
 *      not);
 *   3. each thread installs its own kind's filter as it starts, after its
 *      own set-up and before it touches guest-controlled data: the I/O
 *      thread, the API thread (and the libmicrohttpd thread it creates,
 *      which inherits it), the GDB stub, each vCPU (after vcpu0 made its
 *      8259 watchdog, which installs its own);
 *   4. main's own, last, once vm_run has created every vCPU thread.
 * A struct sandbox of NULL (the guest kit, unit tests) installs nothing.
 */
#ifndef PETREL_SANDBOX_H
#define PETREL_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct vm_config;

enum sandbox_kind {
	SANDBOX_MAIN,     /* the process's first thread: set-up, wait, teardown */
	SANDBOX_VCPU,     /* vcpuN: KVM_RUN and the devices' exits */
	SANDBOX_IO,       /* io: the epoll loop (disk, net, console, timers, signals) */
	SANDBOX_API,      /* api: the control API (libmicrohttpd) */
	SANDBOX_GDB,      /* gdb: the GDB stub */
	SANDBOX_WATCHDOG, /* pic-watch: vcpu0's 8259 watchdog (KVM's irqchip) */
	SANDBOX_NR,
};

/* Features that widen a kind's list only when the VM uses them. */
enum {
	SANDBOX_F_SLIRP = 1u << 0, /* --net user: libslirp's host sockets on io */
};

struct sandbox {
	bool seccomp;          /* --seccomp=on (the default) or log */
	bool log;              /* --seccomp=log: SCMP_ACT_LOG, not TRAP */
	unsigned features;     /* SANDBOX_F_* */
	int selftest;          /* PETREL_SECCOMP_SELFTEST's kind, or -1 */
	pid_t pid;             /* tgkill may signal only this process */
	bool drop;             /* --user given: switch to uid/gid */
	uid_t uid;
	gid_t gid;
	const char *chown_path; /* the API socket: its owner becomes uid/gid */
};

const char *sandbox_kind_name(enum sandbox_kind kind);
/* "vcpu" -> SANDBOX_VCPU; -1 for an unknown name */
int sandbox_kind_parse(const char *name);

/*
 * Fills sb from the configuration (--seccomp, --user, --group, the
 * features) and the environment (PETREL_SECCOMP_SELFTEST), sets
 * PR_SET_NO_NEW_PRIVS, checks that the kernel has seccomp filters and
 * installs the SIGSYS handler. --user when not root is refused here.
 * 0 or -errno, with the reason printed.
 */
int sandbox_init(struct sandbox *sb, const struct vm_config *cfg);

/*
 * With --user: setgroups, setgid, setuid to the target (verified with
 * getres[ug]id); then in every case no capabilities are left: with
 * --user the kernel cleared them, else capset empties them. Call before
 * any thread exists. NULL: nothing. 0 or -errno, said.
 */
int sandbox_drop_privileges(const struct sandbox *sb);

/*
 * Installs kind's filter on the calling thread, whose name (for the
 * message a forbidden call prints) is name. NULL sb or seccomp off:
 * nothing. Then, if the self-test names this kind, makes a forbidden call.
 * 0 or -errno (the reason printed).
 */
int sandbox_enter(const struct sandbox *sb, enum sandbox_kind kind, const char *name);

/*
 * For a thread a library made under a filter it inherited (libmicrohttpd's,
 * under the API's): names it for the message, installs nothing.
 */
void sandbox_adopt(enum sandbox_kind kind, const char *name);

/* The self-test's forbidden call, if PETREL_SECCOMP_SELFTEST names kind. */
void sandbox_selftest(const struct sandbox *sb, enum sandbox_kind kind);

/*
 * For tests and `petrel help seccomp`: builds kind's filter for the
 * features (a libseccomp scmp_filter_ctx, returned as void *; release
 * with sandbox_filter_free). NULL on failure, with the reason printed.
 */
void *sandbox_filter_build(enum sandbox_kind kind, unsigned features, pid_t pid, bool log);
void sandbox_filter_free(void *filter);

/* Prints every kind's allow-list (the table, as markdown) to f. */
void sandbox_print_rules(FILE *f);

#endif
