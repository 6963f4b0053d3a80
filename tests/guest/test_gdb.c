/*
 * The GDB stub end to end: the real gdb (Debian's, in batch mode) debugs
 * this guest through petrel's stub on a Unix socket, with the guest's ELF
 * and its symbols. The VM starts stopped (--gdb-wait's pause); gdb lists
 * both vCPUs as threads and reads the second one's registers, single-steps
 * vCPU 0 into a function and reads its arguments, steps on to where a local
 * is in memory and reads it through a backtrace, writes a variable the
 * guest checks, puts a software breakpoint in (always-inserted: the guest
 * reads the int3 in its own code while gdb reads the original byte, and
 * the original again once gdb deleted it), interrupts the spinning guest
 * with Ctrl-C (SIGINT to gdb, as a terminal sends) and reads what it
 * computed, and sees the guest exit. Where breakpoints can stop a guest,
 * the second stop is an hbreak and a watchpoint on a variable the guest
 * writes follows. The host checks gdb's output line by line and what the
 * guest reported. Skips when gdb is not installed.
 *
 * Under the nested VM's QEMU TCG no breakpoint stops an L2 guest: TCG
 * checks an emulated INT3 against the INTn intercept only, never the #BP
 * exception intercept KVM_GUESTDBG_USE_SW_BP sets, and its VMRUN loads DR7
 * from the VMCB without arming its own breakpoints. tests/e2e/gdb_test.sh
 * sets GDB_TEST_NO_BREAKPOINTS there. The guest never executes an int3.
 */
#define MAGIC_X 0x1234
#define MAGIC_Y 7

#ifdef GUEST
#include "guest.h"

volatile uint64_t watched;     /* gdb watches it */
volatile uint64_t poked;       /* gdb writes it */
volatile uint64_t release;     /* gdb sets it after its Ctrl-C */
volatile uint64_t result;

/* gdb plants an int3 here that the guest reads and never runs */
__attribute__((noinline)) void probe_fn(void)
{
	__asm__ volatile("nop" ::: "memory");
}

/* gdb stops here and looks at the caller's local */
__attribute__((noinline)) void gdb_mark(void)
{
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) uint64_t gdb_target_fn(uint64_t x, uint64_t y)
{
	volatile uint64_t local = x * 3 + y;

	gdb_mark();
	return local + 1;
}

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	result = gdb_target_fn(MAGIC_X, MAGIC_Y);
	GUEST_ASSERT_EQ(result, MAGIC_X * 3 + MAGIC_Y + 1);
	watched = 41;
	watched = 42;
	GUEST_ASSERT_EQ(poked, 0x55);
	/* gdb's breakpoint is in: our own code shows the int3 */
	GUEST_SYNC(3, *(volatile uint8_t *)(uintptr_t)probe_fn);
	/* the host sends gdb a SIGINT now; gdb's Ctrl-C stops us in the loop */
	GUEST_SYNC(1);
	while (!release)
		cpu_relax();
	/* deleted: the original byte is back */
	GUEST_SYNC(2, *(volatile uint8_t *)(uintptr_t)probe_fn);
}

#else
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "petrel/gdb_server.h"

struct ctx {
	pid_t gdb;
	unsigned stage;
	uint64_t byte_in[4]; /* probe_fn's first byte, as the guest read it */
};

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct ctx *c = k->opts.opaque;

	(void)v;
	c->stage = (unsigned)uc->args[0];
	if (c->stage < 4)
		c->byte_in[c->stage] = uc->args[1];
	/* what a terminal's Ctrl-C does: gdb turns it into 0x03 to the stub */
	if (c->stage == 1)
		kill(c->gdb, SIGINT);
	return KIT_CONTINUE;
}

/*
 * gdb's script, in pieces; each printf tags a line the host checks. The
 * guest is reached by single steps (a gdb while loop), which works where
 * breakpoints do not; with breakpoints (not under TCG, see above) the
 * second stop is an hbreak and a watchpoint follows.
 */
static const char script_start[] =
	"set pagination off\n"
	"set confirm off\n"
	"target remote %s\n"
	"printf \"AT-START rip=%%#lx\\n\", $rip\n"
	"info threads\n"
	"thread 2\n"
	"printf \"THREAD2 rip=%%#lx cs=%%#x\\n\", $rip, $cs\n"
	"thread 1\n"
	"while $pc != (long)gdb_target_fn\n"
	"  stepi\n"
	"end\n"
	"printf \"ARGS x=%%#lx y=%%#lx rdi=%%#lx rsi=%%#lx\\n\", x, y, $rdi, $rsi\n"
	"info registers rip cs eflags cr0 cr3 efer fs_base\n"
	"x/2i $pc\n"
	"set $before = $pc\n"
	"stepi\n"
	"printf \"STEPI moved=%%d\\n\", $pc != $before\n";
static const char script_to_mark_hw[] =
	"hbreak gdb_mark\n"
	"continue\n";
static const char script_to_mark_steps[] =
	"while $pc != (long)gdb_mark\n"
	"  stepi\n"
	"end\n";
static const char script_local[] =
	"bt\n"
	"up\n"
	"printf \"LOCAL local=%%#lx\\n\", local\n"
	"delete\n";
static const char script_watch[] =
	"watch watched\n"
	"continue\n"
	"printf \"WATCH watched=%%d\\n\", watched\n"
	"delete\n";
static const char script_end[] =
	"set var poked = 0x55\n"
	"set breakpoint always-inserted on\n"
	"break *probe_fn\n"
	"printf \"HIDDEN %%#x\\n\", *(unsigned char *)probe_fn\n"
	"continue\n"
	"printf \"INTERRUPTED result=%%#lx watched=%%d\\n\", result, watched\n"
	"info threads\n"
	"delete\n"
	"set var release = 1\n"
	"continue\n";

static bool has(struct kit_vm *k, const char *out, const char *want)
{
	if (strstr(out, want))
		return true;
	kit_fail(k, "gdb's output lacks \"%s\"", want);
	return false;
}

int main(int argc, char **argv)
{
	struct ctx c = { .gdb = -1 };
	struct kit_vm k;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .ncpus = 2, .on_ucall = on_ucall,
			      .opaque = &c, .timeout_ms = 120000 };
	struct gdb_config cfg = { .on = true, .unix_socket = true, .wait = true };
	struct gdb_server *srv = NULL;
	char elf[4096], script[64], log[64], want[128];
	static char out[65536];
	int r, status, fd;
	bool hw;
	FILE *f;

	(void)argc;
	if (system("command -v gdb >/dev/null 2>&1") != 0) {
		printf("SKIP: gdb is not installed (tools/deps.sh installs it)\n");
		return KIT_SKIP;
	}
	snprintf(elf, sizeof(elf), "%s.guest.elf", argv[0]);
	snprintf(cfg.path, sizeof(cfg.path), "/tmp/petrel-gdb-test.%d.sock", (int)getpid());
	snprintf(script, sizeof(script), "/tmp/petrel-gdb-test.%d.gdb", (int)getpid());
	snprintf(log, sizeof(log), "/tmp/petrel-gdb-test.%d.log", (int)getpid());
	r = kit_vm_create(&k, &o);
	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	/* gdb_test.sh says when breakpoints cannot fire here (QEMU TCG) */
	hw = !getenv("GDB_TEST_NO_BREAKPOINTS");
	f = fopen(script, "w");
	if (!f || fprintf(f, script_start, cfg.path) < 0 ||
	    fputs(hw ? script_to_mark_hw : script_to_mark_steps, f) < 0 ||
	    fprintf(f, script_local) < 0 || (hw && fprintf(f, script_watch) < 0) ||
	    fprintf(f, script_end) < 0 || fclose(f)) {
		kit_fail(&k, "cannot write %s", script);
		return kit_finish(&k);
	}
	if (gdb_server_start(&srv, &k.vm, &cfg) < 0) {
		kit_fail(&k, "gdb_server_start failed");
		return kit_finish(&k);
	}
	c.gdb = fork();
	if (c.gdb == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("gdb", "gdb", "-batch", "-nx", "-x", script, elf, (char *)NULL);
		_exit(127);
	}
	status = kit_run(&k);
	gdb_server_finish(srv, status);
	KIT_CHECK_EQ(&k, status, 0);
	KIT_CHECK_EQ(&k, c.stage, 2);
	waitpid(c.gdb, &r, 0);
	KIT_CHECK(&k, WIFEXITED(r) && WEXITSTATUS(r) == 0);
	f = fopen(log, "r");
	size_t n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	if (f)
		fclose(f);
	out[n] = 0;
	printf("---- gdb's output ----\n%s----\n", out);
	has(&k, out, "AT-START rip=0x");
	has(&k, out, "Thread 2 (vcpu1)");
	snprintf(want, sizeof(want), "ARGS x=%#x y=%#x rdi=%#x rsi=%#x", MAGIC_X, MAGIC_Y,
		 MAGIC_X, MAGIC_Y);
	has(&k, out, want);
	has(&k, out, "STEPI moved=1");
	has(&k, out, "gdb_target_fn");
	snprintf(want, sizeof(want), "LOCAL local=%#x", MAGIC_X * 3 + MAGIC_Y);
	has(&k, out, want);
	if (hw) {
		has(&k, out, "Hardware watchpoint");
		has(&k, out, "New value = 41");
		has(&k, out, "WATCH watched=41");
	} else {
		printf("(no breakpoint or watchpoint stops: GDB_TEST_NO_BREAKPOINTS)\n");
	}
	/* the AP never got its SIPI: it sits at the reset vector */
	has(&k, out, "THREAD2 rip=0xfff0 cs=0xf000");
	has(&k, out, "SIGINT");
	snprintf(want, sizeof(want), "INTERRUPTED result=%#x watched=42",
		 MAGIC_X * 3 + MAGIC_Y + 1);
	has(&k, out, want);
	has(&k, out, "exited normally");
	/* the int3 was in guest memory while gdb saw the original byte */
	KIT_CHECK_EQ(&k, c.byte_in[3], 0xcc);
	KIT_CHECK(&k, c.byte_in[2] != 0xcc);
	snprintf(want, sizeof(want), "HIDDEN %#x", (unsigned)c.byte_in[2]);
	has(&k, out, want);
	unlink(script);
	unlink(log);
	return kit_finish(&k);
}
#endif
