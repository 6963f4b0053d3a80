/*
 * Seccomp filters per thread kind and the privilege drop (sandbox.h; the
 * allow-lists are sandbox_rules.c).
 *
 * A forbidden call: the filter answers SCMP_ACT_TRAP, the kernel sends
 * SIGSYS to the thread, and the handler writes one line naming the
 * syscall and the thread, then re-raises SIGSYS with the default action
 * (installed SA_RESETHAND, so the first SIGSYS resets it), which kills the
 * whole process. Why not SECCOMP_RET_KILL_PROCESS: it leaves no message,
 * and the parent would see only "killed by SIGSYS". Why re-raise rather
 * than exit_group: the parent (a shell, a supervisor) then sees the same
 * death by SIGSYS as with KILL_PROCESS, which no guest can cause. The
 * handler uses only write, getpid, gettid and tgkill, which every kind
 * allows; if the re-raise itself failed it ends with exit_group.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "petrel/config.h"
#include "petrel/sandbox.h"
#include "petrel/util.h"
#include "sandbox_rules.h"

static const char *const kind_names[SANDBOX_NR] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu", [SANDBOX_IO] = "io",
	[SANDBOX_API] = "api", [SANDBOX_GDB] = "gdb", [SANDBOX_WATCHDOG] = "pic-watch",
};

/*
 * The one mutable global-ish state, per thread: a SIGSYS handler receives
 * no pointer of ours, and its message must name the thread. Written by
 * sandbox_enter on the thread itself, read only by its own handler.
 */
static _Thread_local struct {
	const char *kind;
	char name[16];
} sb_self;

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	return (unsigned)kind < SANDBOX_NR ? kind_names[kind] : "?";
}

int sandbox_kind_parse(const char *name)
{
	for (int k = 0; k < SANDBOX_NR; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}

/* async-signal-safe appends for the handler */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (s && *s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, long v)
{
	char d[24];
	int n = 0;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(d));
	if (v < 0 && at < cap)
		buf[at++] = '-';
	while (n && at < cap)
		buf[at++] = d[--n];
	return at;
}

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[256];
	size_t n = 0, cap = sizeof(msg) - 1;
	/* a table lookup in libseccomp: no allocation, no syscall */
	const char *name = seccomp_syscall_resolve_num_arch(si->si_arch, si->si_syscall);

	(void)uc;
	n = put_str(msg, n, cap, "petrel: seccomp: thread ");
	if (sb_self.kind) {
		n = put_str(msg, n, cap, sb_self.name);
		n = put_str(msg, n, cap, " (");
		n = put_str(msg, n, cap, sb_self.kind);
		n = put_str(msg, n, cap, " filter)");
	} else { /* made by a library under a filter it inherited */
		n = put_str(msg, n, cap, "? (a filter it inherited)");
	}
	n = put_str(msg, n, cap, " made the forbidden syscall ");
	n = put_str(msg, n, cap, name ? name : "?");
	n = put_str(msg, n, cap, " (");
	n = put_num(msg, n, cap, si->si_syscall);
	n = put_str(msg, n, cap, "): petrel stops (--seccomp=off disables the filters)\n");
	msg[n] = 0;
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nothing left to say it with */
	}
	/* SA_RESETHAND made SIGSYS's action the default: this kills us all */
	syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), (pid_t)syscall(SYS_gettid), sig);
	syscall(SYS_exit_group, 128 + sig);
}

static int resolve_user(const char *s, uid_t *uid, gid_t *gid)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	struct passwd *pw;

	if (*s && !*end) {
		*uid = (uid_t)v;
		pw = getpwuid(*uid);
		*gid = pw ? pw->pw_gid : (gid_t)v;
		return 0;
	}
	if (!(pw = getpwnam(s))) {
		pt_err("--user %s: no such user", s);
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int resolve_group(const char *s, gid_t *gid)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	struct group *gr;

	if (*s && !*end) {
		*gid = (gid_t)v;
		return 0;
	}
	if (!(gr = getgrnam(s))) {
		pt_err("--group %s: no such group", s);
		return -ENOENT;
	}
	*gid = gr->gr_gid;
	return 0;
}

int sandbox_init(struct sandbox *sb, const struct vm_config *cfg)
{
	const char *st = getenv("PETREL_SECCOMP_SELFTEST");
	struct sigaction sa = { .sa_sigaction = sigsys_handler,
				.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };
	int err;

	memset(sb, 0, sizeof(*sb));
	sb->seccomp = !cfg->no_seccomp;
	sb->log = cfg->seccomp_log;
	sb->pid = getpid();
	sb->selftest = -1;
	for (unsigned i = 0; i < cfg->nr_nics; i++)
		if (cfg->nics[i].kind == NET_USER)
			sb->features |= SANDBOX_F_SLIRP;
	if (cfg->run_user) {
		if (geteuid() != 0) {
			pt_err("--user %s: petrel is not running as root, so it cannot switch user "
			       "(start it as root, or leave --user out)", cfg->run_user);
			return -EPERM;
		}
		if ((err = resolve_user(cfg->run_user, &sb->uid, &sb->gid)) < 0)
			return err;
		if (cfg->run_group && (err = resolve_group(cfg->run_group, &sb->gid)) < 0)
			return err;
		sb->drop = true;
		sb->chown_path = cfg->api_socket;
	}
	if (st && *st) {
		if ((sb->selftest = sandbox_kind_parse(st)) < 0) {
			pt_err("PETREL_SECCOMP_SELFTEST=%s: not a thread kind (main, vcpu, io, api, "
			       "gdb, pic-watch)", st);
			return -EINVAL;
		}
		if (!sb->seccomp)
			pt_warn("PETREL_SECCOMP_SELFTEST with --seccomp=off: nothing to test");
	}
	/* in every case: nothing petrel execs (it execs nothing) gains privileges */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err = -errno;
		pt_err("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return err;
	}
	if (!sb->seccomp)
		return 0;
	/*
	 * glibc reads /etc/localtime at its first time conversion, even
	 * gmtime_r's (the RTC's, on a vCPU; libmicrohttpd's Date header, on
	 * the API thread): here, while opening files is still allowed.
	 */
	tzset();
	/* EINVAL: a kernel built without CONFIG_SECCOMP(_FILTER) */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 ||
	    seccomp_api_get() < 1) {
		pt_err("this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER): "
		       "run with --seccomp=off to go without them");
		return -ENOSYS;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		err = -errno;
		pt_err("sigaction(SIGSYS): %s", strerror(errno));
		return err;
	}
	return 0;
}

/* CapEff, CapPrm and CapInh all empty? */
static int caps_empty(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	return !(d[0].effective | d[1].effective | d[0].permitted | d[1].permitted |
		 d[0].inheritable | d[1].inheritable);
}

static int caps_clear(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int sandbox_drop_privileges(const struct sandbox *sb)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int err;

	if (!sb)
		return 0;
	if (sb->drop) {
		/* the API socket stays the user's: petrel ctl as them, unlink at exit */
		if (sb->chown_path && chown(sb->chown_path, sb->uid, sb->gid) < 0) {
			err = -errno;
			pt_err("--user: chown %s: %s", sb->chown_path, strerror(errno));
			return err;
		}
		/* groups first, then the gid, the uid last: after it, none of these works */
		if (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
		    setresuid(sb->uid, sb->uid, sb->uid) < 0) {
			err = -errno;
			pt_err("--user: cannot switch to uid %u gid %u: %s", (unsigned)sb->uid,
			       (unsigned)sb->gid, strerror(errno));
			return err;
		}
		if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
		    r != sb->uid || e != sb->uid || s != sb->uid || rg != sb->gid ||
		    eg != sb->gid || sg != sb->gid || getgroups(0, NULL) != 0 ||
		    (sb->uid != 0 && setresuid(0, 0, 0) == 0)) {
			pt_err("--user: the switch to uid %u gid %u did not hold", (unsigned)sb->uid,
			       (unsigned)sb->gid);
			return -EPERM;
		}
	}
	/* root without --user keeps uid 0 but no capability */
	if (caps_empty() != 1 && (err = caps_clear()) < 0) {
		pt_err("capset (dropping every capability): %s", strerror(-err));
		return err;
	}
	if (caps_empty() != 1) {
		pt_err("capabilities remain after the drop");
		return -EPERM;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct sb_rule *r, int nr, pid_t pid)
{
	const unsigned a = r->arg;

	/*
	 * SCMP_CMP_EQ ignores datum_b, but it is given: clang (the fuzz
	 * build) warns about the missing field of the compound literal.
	 */
	switch (r->op) {
	case SB_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	case SB_EQ32:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_CMP64(a, SCMP_CMP_MASKED_EQ, 0xffffffffULL, r->val));
	case SB_EQ:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_CMP64(a, SCMP_CMP_EQ, r->val, 0));
	case SB_MASK_NONE:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_CMP64(a, SCMP_CMP_MASKED_EQ, r->val, 0));
	case SB_MASK_ALL:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_CMP64(a, SCMP_CMP_MASKED_EQ, r->val, r->val));
	case SB_SELF_PID:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_CMP64(a, SCMP_CMP_EQ, (uint64_t)pid, 0));
	case SB_ENOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	}
	return -EINVAL;
}

/*
 * What ASan and UBSan's runtime calls besides (its allocator's and
 * reports' bookkeeping): a SAN build allows it, so `make SAN=1` petrel
 * runs guests under its filters. Not open, exec or fork: a report
 * (already a crash) may then lose its symbols, and LeakSanitizer's exit
 * check, which forks a tracer, needs ASAN_OPTIONS=detect_leaks=0 or
 * --seccomp=off. Never in a normal build.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SB_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SB_SAN 1
#endif
#endif
#ifdef SB_SAN
static const char *const san_extra[] = {
	"sigaltstack", "getrlimit", "prlimit64", "prctl", "readlink", "read", "newfstatat",
	"fstat", "close", "sched_getaffinity", "rt_sigaction", "getrusage", "uname", "sysinfo",
	"mincore", "getrandom",
};
/*
 * LeakSanitizer's check at exit stops the world with a forked tracer
 * (clone, ptrace, /proc/self/task), which main's filter forbids: once that
 * filter is in, LSan's own callback turns the check off rather than letting
 * exit die by SIGSYS. A sanitizer hook, so a global: the only one here.
 */
static atomic_bool sb_main_filtered;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return atomic_load(&sb_main_filtered);
}
#endif

void *sandbox_filter_build(enum sandbox_kind kind, unsigned features, pid_t pid, bool log)
{
	scmp_filter_ctx ctx;
	int err = 0;

	if ((unsigned)kind >= SANDBOX_NR)
		return NULL;
	if (!(ctx = seccomp_init(log ? SCMP_ACT_LOG : SCMP_ACT_TRAP))) {
		pt_err("seccomp_init failed");
		return NULL;
	}
	for (unsigned i = 0; i < sb_nr_rules && !err; i++) {
		const struct sb_rule *r = &sb_rules[i];
		int nr;

		if (!(r->kinds & K(kind)) || (r->feature && !(r->feature & features)))
			continue;
		if ((nr = seccomp_syscall_resolve_name(r->name)) == __NR_SCMP_ERROR) {
			pt_err("seccomp: libseccomp does not know the syscall %s", r->name);
			err = -EINVAL;
			break;
		}
		if ((err = add_rule(ctx, r, nr, pid)) < 0)
			pt_err("seccomp: %s filter, rule %s: %s", kind_names[kind], r->name,
			       strerror(-err));
	}
#ifdef SB_SAN
	for (unsigned i = 0; i < sizeof(san_extra) / sizeof(san_extra[0]) && !err; i++) {
		int nr = seccomp_syscall_resolve_name(san_extra[i]);
		if (nr != __NR_SCMP_ERROR)
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		/* a syscall already allowed with conditions: EEXIST-like, not fatal */
		if (err == -EEXIST || err == -EACCES)
			err = 0;
	}
#endif
	if (err) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

void sandbox_filter_free(void *filter)
{
	if (filter)
		seccomp_release(filter);
}

void sandbox_adopt(enum sandbox_kind kind, const char *name)
{
	sb_self.kind = sandbox_kind_name(kind);
	snprintf(sb_self.name, sizeof(sb_self.name), "%s", name);
}

void sandbox_selftest(const struct sandbox *sb, enum sandbox_kind kind)
{
	if (sb && sb->seccomp && sb->selftest == (int)kind) {
		/* harmless, and in no kind's list: the test aid's forbidden call */
		pt_info("seccomp self-test: thread %s (%s) calls getppid", sb_self.name,
			sandbox_kind_name(kind));
		syscall(SYS_getppid);
	}
}

int sandbox_enter(const struct sandbox *sb, enum sandbox_kind kind, const char *name)
{
	void *f;
	int err;

	if (!sb || !sb->seccomp)
		return 0;
	if (!(f = sandbox_filter_build(kind, sb->features, sb->pid, sb->log)))
		return -EINVAL;
	/* the handler's words, before the filter can fire */
	sb_self.kind = kind_names[kind];
	snprintf(sb_self.name, sizeof(sb_self.name), "%s", name);
	/* no SECCOMP_FILTER_FLAG_TSYNC: this thread only; the kinds differ */
	err = seccomp_load(f);
	seccomp_release(f);
	if (err < 0) {
		pt_err("seccomp: cannot install the %s filter on thread %s: %s", kind_names[kind],
		       name, strerror(-err));
		return err;
	}
#ifdef SB_SAN
	if (kind == SANDBOX_MAIN)
		atomic_store(&sb_main_filtered, true);
#endif
	/* the API's runs on libmicrohttpd's thread, at its first request */
	if (kind != SANDBOX_API)
		sandbox_selftest(sb, kind);
	return 0;
}

static void print_row(FILE *f, const struct sb_rule *r)
{
	char cond[96] = "";

	switch (r->op) {
	case SB_ANY:
		break;
	case SB_ENOSYS:
	case SB_SELF_PID:
	case SB_MASK_NONE:
	case SB_MASK_ALL:
		snprintf(cond, sizeof(cond), "%s", r->val_name);
		break;
	default:
		snprintf(cond, sizeof(cond), "arg %u = %s", r->arg, r->val_name);
	}
	if (r->feature == SANDBOX_F_SLIRP)
		snprintf(cond + strlen(cond), sizeof(cond) - strlen(cond), "%s--net user",
			 cond[0] ? ", " : "");
	fprintf(f, "| %s | %s | %s |\n", r->name, cond, r->why);
}

void sandbox_print_rules(FILE *f)
{
	static const char head[] = "| syscall | only when | why |\n|---|---|---|\n";

	fprintf(f, "### every thread\n\n%s", head);
	for (unsigned i = 0; i < sb_nr_rules; i++)
		if (sb_rules[i].kinds == K_ALL)
			print_row(f, &sb_rules[i]);
	for (int k = 0; k < SANDBOX_NR; k++) {
		fprintf(f, "\n### %s, besides\n\n%s", kind_names[k], head);
		for (unsigned i = 0; i < sb_nr_rules; i++)
			if (sb_rules[i].kinds != K_ALL && (sb_rules[i].kinds & K(k)))
				print_row(f, &sb_rules[i]);
	}
}
