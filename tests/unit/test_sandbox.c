/*
 * The seccomp filters (sandbox.c, sandbox_rules.c) without a VM: each
 * kind's filter builds; in a forked child, a kind's filter lets its
 * allowed calls through and kills the process on a forbidden one with
 * SIGSYS and a message naming the syscall and the thread; argument
 * conditions hold (ioctl requests, tgkill's pid, mmap without PROT_EXEC,
 * clone3's ENOSYS); and docs/security.md is the table's copy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "petrel/config.h"
#include "petrel/sandbox.h"

static void test_every_kind_builds(void **state)
{
	(void)state;
	for (int k = 0; k < SANDBOX_NR; k++)
		for (unsigned f = 0; f <= SANDBOX_F_SLIRP; f++) {
			void *filter = sandbox_filter_build(k, f, getpid(), false);
			assert_non_null(filter);
			sandbox_filter_free(filter);
		}
	assert_null(sandbox_filter_build(SANDBOX_NR, 0, getpid(), false));
	assert_int_equal(sandbox_kind_parse("vcpu"), SANDBOX_VCPU);
	assert_int_equal(sandbox_kind_parse("pic-watch"), SANDBOX_WATCHDOG);
	assert_int_equal(sandbox_kind_parse("nope"), -1);
}

typedef void (*child_fn)(void);

struct outcome {
	int status;
	char err[1024];
};

/* Runs fn in a child confined as kind, thread name "t-NAME"; its stderr and status. */
static void run_confined(enum sandbox_kind kind, child_fn fn, struct outcome *o)
{
	int p[2];
	pid_t pid;
	ssize_t n, got = 0;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vm_config cfg = { 0 };
		struct sandbox sb;
		char name[16];

		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		unsetenv("PETREL_SECCOMP_SELFTEST");
		if (sandbox_init(&sb, &cfg) < 0)
			_exit(90);
		snprintf(name, sizeof(name), "t-%s", sandbox_kind_name(kind));
		if (sandbox_enter(&sb, kind, name) < 0)
			_exit(91);
		fn();
		syscall(SYS_exit_group, 0);
	}
	close(p[1]);
	while ((n = read(p[0], o->err + got, sizeof(o->err) - 1 - (size_t)got)) > 0)
		got += n;
	o->err[got] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
}

static void expect_killed(const struct outcome *o, const char *syscall_name, const char *thread)
{
	char want[128];

	if (!WIFSIGNALED(o->status) || WTERMSIG(o->status) != SIGSYS)
		fail_msg("want death by SIGSYS, got status 0x%x, stderr: %s", o->status, o->err);
	snprintf(want, sizeof(want), "forbidden syscall %s (", syscall_name);
	if (!strstr(o->err, want) || !strstr(o->err, thread))
		fail_msg("want \"%s\" and \"%s\" in: %s", want, thread, o->err);
}

static void expect_exit0(const struct outcome *o)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != 0)
		fail_msg("want exit 0, got status 0x%x, stderr: %s", o->status, o->err);
}

static void call_getppid(void) { syscall(SYS_getppid); }
/* for writing: even the API kind, which may read /proc, may not */
static void call_openat(void) { syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY); }
static void call_socket(void) { syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }

/* a forbidden call from each kind: SIGSYS, and the message names it */
static void test_forbidden_kills_each_kind(void **state)
{
	struct outcome o;
	char thread[64];

	(void)state;
	for (int k = 0; k < SANDBOX_NR; k++) {
		snprintf(thread, sizeof(thread), "thread t-%s (%s filter)", sandbox_kind_name(k),
			 sandbox_kind_name(k));
		run_confined(k, call_getppid, &o);
		expect_killed(&o, "getppid", thread);
		run_confined(k, call_openat, &o);
		expect_killed(&o, "openat", thread);
		run_confined(k, call_socket, &o);
		expect_killed(&o, "socket", thread);
	}
}

/* what every kind does: lock, allocate, tell the time, write, end */
static void allowed_basics(void)
{
	struct timespec t;
	void *big = malloc(8 << 20); /* mmap, munmap */
	int fds[2] = { -1, -1 };

	(void)fds;
	if (!big || clock_gettime(CLOCK_MONOTONIC, &t) < 0 || syscall(SYS_clock_gettime,
								      CLOCK_MONOTONIC, &t) < 0)
		syscall(SYS_exit_group, 10);
	memset(big, 1, 8 << 20);
	free(big);
	if (write(STDERR_FILENO, "", 0) < 0 || syscall(SYS_getpid) != getpid())
		syscall(SYS_exit_group, 11);
	/* tgkill to ourselves with signal 0: allowed */
	if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) < 0)
		syscall(SYS_exit_group, 12);
}

static void test_allowed_calls_work(void **state)
{
	struct outcome o;

	(void)state;
	for (int k = 0; k < SANDBOX_NR; k++) {
		run_confined(k, allowed_basics, &o);
		expect_exit0(&o);
	}
}

/* vCPU: KVM_RUN passes the filter (EBADF from the kernel); TIOCSTI does not */
static void vcpu_kvm_run(void)
{
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		syscall(SYS_exit_group, 20);
}
static void vcpu_tiocsti(void) { ioctl(0, TIOCSTI, "x"); }
/* tgkill to another process (init, signal 0: harmless either way) */
static void tgkill_other(void) { syscall(SYS_tgkill, 1, 1, 0); }
static void mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void test_argument_conditions(void **state)
{
	struct outcome o;

	(void)state;
	run_confined(SANDBOX_VCPU, vcpu_kvm_run, &o);
	expect_exit0(&o);
	run_confined(SANDBOX_VCPU, vcpu_tiocsti, &o);
	expect_killed(&o, "ioctl", "t-vcpu (vcpu filter)");
	run_confined(SANDBOX_WATCHDOG, vcpu_kvm_run, &o);
	expect_killed(&o, "ioctl", "t-pic-watch (pic-watch filter)");
	run_confined(SANDBOX_IO, tgkill_other, &o);
	expect_killed(&o, "tgkill", "t-io (io filter)");
	run_confined(SANDBOX_MAIN, mmap_exec, &o);
	expect_killed(&o, "mmap", "t-main (main filter)");
}

static void *thread_fn(void *arg) { return arg; }

/* API: a thread (libmicrohttpd's) may be made, by clone after clone3's ENOSYS */
static void api_thread(void)
{
	pthread_t t;

	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		syscall(SYS_exit_group, 30);
	if (pthread_create(&t, NULL, thread_fn, NULL) || pthread_join(t, NULL))
		syscall(SYS_exit_group, 31);
}
static void no_thread(void)
{
	pthread_t t;

	pthread_create(&t, NULL, thread_fn, NULL);
}
/* fork is clone without CLONE_THREAD: refused even to the API */
static void api_fork(void) { syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }

static void test_threads_only_from_api(void **state)
{
	struct outcome o;

	(void)state;
	run_confined(SANDBOX_API, api_thread, &o);
	expect_exit0(&o);
	run_confined(SANDBOX_API, api_fork, &o);
	expect_killed(&o, "clone", "t-api (api filter)");
	/*
	 * glibc blocks every signal around clone3, and the kernel then
	 * delivers the trap's SIGSYS with its default action: the process
	 * dies by SIGSYS as always, only without the message.
	 */
	run_confined(SANDBOX_VCPU, no_thread, &o);
	assert_true(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS);
}

/* docs/security.md holds the table's text, as `petrel --seccomp=list` prints it */
static void test_docs_match_the_table(void **state)
{
	char *table = NULL, *doc = NULL;
	size_t tlen = 0, dlen = 0;
	FILE *f = open_memstream(&table, &tlen);
	FILE *d = fopen("docs/security.md", "r");

	(void)state;
	assert_non_null(f);
	sandbox_print_rules(f);
	fclose(f);
	if (!d)
		fail_msg("docs/security.md: %s (run from the checkout's top)", strerror(errno));
	doc = malloc(1 << 20);
	assert_non_null(doc);
	dlen = fread(doc, 1, (1 << 20) - 1, d);
	doc[dlen] = 0;
	fclose(d);
	if (!strstr(doc, table))
		fail_msg("docs/security.md lacks the current allow-lists: run tools/seccomp-doc.sh");
	free(doc);
	free(table);
}

static void test_user_needs_root(void **state)
{
	struct vm_config cfg = { .run_user = "nobody" };
	struct sandbox sb;
	int p[2], status;
	pid_t pid;

	(void)state;
	if (geteuid() == 0) { /* as root: the refusal is what a non-root user sees */
		assert_int_equal(pipe(p), 0);
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			if (setresuid(65534, 65534, 65534) < 0)
				_exit(99);
			_exit(sandbox_init(&sb, &cfg) == -EPERM ? 0 : 1);
		}
		close(p[1]);
		close(p[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		assert_int_equal(sandbox_init(&sb, &cfg), -EPERM);
	}
}

/* as root: --user nobody switches uid, gid and groups and leaves no capability */
static void test_drop_to_nobody(void **state)
{
	struct vm_config cfg = { .run_user = "65534", .run_group = "65534" };
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sandbox sb;
		uid_t r, e, s;
		gid_t rg, eg, sg;
		char line[256];
		FILE *f;
		int capeff_zero = 0, nnp = 0;

		if (sandbox_init(&sb, &cfg) < 0 || sandbox_drop_privileges(&sb) < 0)
			_exit(10);
		if (getresuid(&r, &e, &s) || r != 65534 || e != 65534 || s != 65534)
			_exit(11);
		if (getresgid(&rg, &eg, &sg) || rg != 65534 || eg != 65534 || sg != 65534)
			_exit(12);
		if (getgroups(0, NULL) != 0 || setresuid(0, 0, 0) == 0)
			_exit(13);
		if (!(f = fopen("/proc/self/status", "r")))
			_exit(14);
		while (fgets(line, sizeof(line), f)) {
			capeff_zero |= !strcmp(line, "CapEff:\t0000000000000000\n");
			nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
		}
		fclose(f);
		_exit(capeff_zero && nnp ? 0 : 15);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	pthread_t t;
	/*
	 * glibc's first pthread_create installs its SIGSETXID handler
	 * (rt_sigaction); in petrel the I/O thread's creation did that long
	 * before any filter, as here before any fork.
	 */
	if (pthread_create(&t, NULL, thread_fn, NULL) || pthread_join(t, NULL))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_builds),
		cmocka_unit_test(test_forbidden_kills_each_kind),
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_argument_conditions),
		cmocka_unit_test(test_threads_only_from_api),
		cmocka_unit_test(test_docs_match_the_table),
		cmocka_unit_test(test_user_needs_root),
		cmocka_unit_test(test_drop_to_nobody),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
