/*
 * The GDB stub's protocol engine (gdb_stub.h) against a fake target: two
 * vCPUs, two mapped guest pages at 0x1000, everything else unmapped. Each
 * packet gdb sends in a session, and the stop replies it reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "petrel/gdb_stub.h"

#define NCPU 2
#define MEM_BASE 0x1000
#define MEM_SIZE 0x2000

struct fake {
	struct gdb_cpu_state cpu[NCPU];
	uint8_t mem[MEM_SIZE];
	enum gdb_run run[NCPU];
	struct gdb_debug debug;
	int resumes;
	bool killed;
};

static int f_get(void *t, unsigned cpu, struct gdb_cpu_state *s)
{
	struct fake *f = t;
	assert_true(cpu < NCPU);
	*s = f->cpu[cpu];
	return 0;
}

static int f_set(void *t, unsigned cpu, const struct gdb_cpu_state *s)
{
	struct fake *f = t;
	assert_true(cpu < NCPU);
	f->cpu[cpu] = *s;
	return 0;
}

static int f_read(void *t, unsigned cpu, uint64_t gva, void *buf, size_t len)
{
	struct fake *f = t;
	size_t n = 0;
	(void)cpu;
	while (n < len && gva + n >= MEM_BASE && gva + n < MEM_BASE + MEM_SIZE) {
		((uint8_t *)buf)[n] = f->mem[gva + n - MEM_BASE];
		n++;
	}
	return (int)n;
}

static int f_write(void *t, unsigned cpu, uint64_t gva, const void *buf, size_t len)
{
	struct fake *f = t;
	size_t n = 0;
	(void)cpu;
	while (n < len && gva + n >= MEM_BASE && gva + n < MEM_BASE + MEM_SIZE) {
		f->mem[gva + n - MEM_BASE] = ((const uint8_t *)buf)[n];
		n++;
	}
	return (int)n;
}

static int f_resume(void *t, const enum gdb_run *run, const struct gdb_debug *d)
{
	struct fake *f = t;
	memcpy(f->run, run, sizeof(f->run));
	f->debug = *d;
	f->resumes++;
	return 0;
}

static void f_kill(void *t)
{
	((struct fake *)t)->killed = true;
}

static const struct gdb_target_ops fake_ops = {
	.get_state = f_get, .set_state = f_set, .read_mem = f_read,
	.write_mem = f_write, .resume = f_resume, .kill = f_kill,
};

static struct fake f;
static struct gdb_session s;
static struct gdb_reply r;

static int setup(void **state)
{
	(void)state;
	memset(&f, 0, sizeof(f));
	for (unsigned i = 0; i < MEM_SIZE; i++)
		f.mem[i] = (uint8_t)i;
	f.cpu[0].regs.rip = 0x1010;
	f.cpu[1].regs.rip = 0x2020;
	f.cpu[1].regs.rax = 0xaa;
	gdb_session_init(&s, &fake_ops, &f, NCPU);
	return 0;
}

static enum gdb_action pkt(const char *p)
{
	enum gdb_action a = gdb_session_packet(&s, (const uint8_t *)p, strlen(p), &r);
	r.buf[r.len < sizeof(r.buf) ? r.len : sizeof(r.buf) - 1] = 0;
	return a;
}

#define REPLY(p, want)                                         \
	do {                                                   \
		assert_int_equal(pkt(p), GDB_REPLY);           \
		assert_string_equal((char *)r.buf, want);      \
	} while (0)

static void test_queries(void **state)
{
	(void)state;
	assert_int_equal(pkt("qSupported:multiprocess+;swbreak+;xmlRegisters=i386"), GDB_REPLY);
	assert_non_null(strstr((char *)r.buf, "qXfer:features:read+"));
	assert_non_null(strstr((char *)r.buf, "QStartNoAckMode+"));
	assert_null(strstr((char *)r.buf, "multiprocess"));
	REPLY("QStartNoAckMode", "OK");
	assert_true(s.no_ack);
	REPLY("qfThreadInfo", "m1,2");
	REPLY("qsThreadInfo", "l");
	REPLY("qAttached", "1");
	REPLY("?", "T05thread:1;");
	REPLY("qC", "QC1");
	REPLY("qThreadExtraInfo,2", "7663707531"); /* "vcpu1" */
	REPLY("qThreadExtraInfo,3", "E16");
	REPLY("vCont?", "vCont;c;C;s;S;t");
	REPLY("vMustReplyEmpty", "");
	REPLY("qTStatus", "");
	REPLY("!", "");
	REPLY("T2", "OK");
	REPLY("T3", "E16");
	REPLY("Tzz", "E16");
}

static void test_xfer(void **state)
{
	size_t len, got = 0;
	const char *xml = gdb_target_xml(&len);
	char q[64];
	(void)state;
	/* in 100-byte pieces, as a gdb with a small packet size reads it */
	for (;;) {
		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,64", got);
		assert_int_equal(pkt(q), GDB_REPLY);
		assert_true(r.buf[0] == 'm' || r.buf[0] == 'l');
		assert_memory_equal(r.buf + 1, xml + got, r.len - 1);
		got += r.len - 1;
		if (r.buf[0] == 'l')
			break;
		assert_int_equal(r.len - 1, 100);
	}
	assert_int_equal(got, len);
	snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,64", len + 5);
	REPLY(q, "l");
	REPLY("qXfer:features:read:other.xml:0,10", "E00");
	REPLY("qXfer:features:read:target.xml:0", "E16");
}

static void test_threads_and_regs(void **state)
{
	char g[2 * GDB_REGS_SIZE + 2];
	(void)state;
	/* rip of vCPU 0, then of vCPU 1 after Hg2 */
	REPLY("p10", "1010000000000000");
	REPLY("Hg2", "OK");
	REPLY("p10", "2020000000000000");
	REPLY("p0", "aa00000000000000");
	REPLY("Hg3", "E16");
	REPLY("Hx1", "E16");
	REPLY("p41", "E16"); /* past the last register */
	REPLY("p10x", "E16");
	/* P writes one register of the Hg thread */
	REPLY("P0=0102030405060708", "OK");
	assert_true(f.cpu[1].regs.rax == 0x0807060504030201ull);
	REPLY("P0=01", "E16");
	REPLY("P12=11000000", "E16"); /* cs cannot change */
	/* g / G round trip, and a short G is refused */
	assert_int_equal(pkt("g"), GDB_REPLY);
	assert_int_equal(r.len, 2 * GDB_REGS_SIZE);
	g[0] = 'G';
	memcpy(g + 1, r.buf, r.len);
	g[1 + r.len] = 0;
	memcpy(g + 1 + 2 * 128, "3412000000000000", 16); /* rip */
	REPLY(g, "OK");
	assert_true(f.cpu[1].regs.rip == 0x1234);
	assert_true(f.cpu[1].regs.rax == 0x0807060504030201ull);
	g[100] = 0;
	REPLY(g, "E16");
	REPLY("Hg-1", "OK"); /* all: the stopped thread's */
	REPLY("p10", "1010000000000000");
	/* a stop does not change Hg: gdb does not send it again */
	REPLY("Hg2", "OK");
	struct gdb_stop ev = { .kind = GDB_STOP_INTERRUPT, .cpu = 0 };
	gdb_session_stopped(&s, &ev, &r);
	REPLY("p10", "3412000000000000");
	REPLY("qC", "QC1");
}

static void test_memory(void **state)
{
	(void)state;
	REPLY("m1000,4", "00010203");
	/* across the end of the mapping: what could be read */
	REPLY("m2ffe,4", "feff");
	REPLY("m5000,4", "E0e");
	REPLY("m0,1", "E0e");
	REPLY("m1000", "E16");
	REPLY("mzz,1", "E16");
	REPLY("M1004,2:aabb", "OK");
	REPLY("m1003,4", "03aabb06");
	REPLY("M1004,2:aab", "E16");
	REPLY("M1004,2:aabbcc", "E16");
	REPLY("M2fff,2:0102", "E0e");
	/* X: binary, here with a byte gdb escaped and we got decoded */
	assert_int_equal(gdb_session_packet(&s, (const uint8_t *)"X1008,3:#\0}", 11, &r), GDB_REPLY);
	REPLY("m1008,3", "23007d");
	REPLY("X1008,0:", "OK");
	REPLY("X1008,3:ab", "E16");
	/* a huge length is cut to what a reply holds */
	assert_int_equal(pkt("m1000,ffffffffffff"), GDB_REPLY);
	assert_int_equal(r.len, 2 * 0x1000 - 2);
}

static void test_sw_breakpoints(void **state)
{
	(void)state;
	REPLY("Z0,1010,1", "OK");
	assert_int_equal(f.mem[0x10], 0xcc);
	/* reads show the guest's byte; writes change the hidden byte */
	REPLY("m100f,3", "0f1011");
	REPLY("M1010,1:99", "OK");
	assert_int_equal(f.mem[0x10], 0xcc);
	REPLY("m1010,1", "99");
	REPLY("Z0,1010,1", "OK"); /* again: still one */
	assert_int_equal(s.nr_sw, 1);
	REPLY("Z0,9000,1", "E0e");
	/* resuming turns on KVM's int3 exits */
	assert_int_equal(pkt("vCont;c"), GDB_RESUMED);
	assert_true(f.debug.sw_bp);
	assert_false(f.debug.hw_bp);
	/* the target learns where ours are (any other int3 is the guest's) */
	assert_int_equal(f.debug.nr_sw, 1);
	assert_true(f.debug.sw_addr[0] == 0x1010);
	/* the stop: an int3 at one of ours */
	struct gdb_stop ev = { .kind = GDB_STOP_DEBUG, .cpu = 1, .exception = 3, .pc = 0x1010 };
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:2;swbreak:;");
	REPLY("?", "T05thread:2;swbreak:;");
	REPLY("qC", "QC2");
	/* an int3 that is not ours is no swbreak */
	ev.pc = 0x1020;
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:2;");
	REPLY("z0,1010,1", "OK");
	assert_int_equal(f.mem[0x10], 0x99);
	REPLY("z0,1010,1", "E16");
	REPLY("Z9,1010,1", "");
	REPLY("Z0,1010", "E16");
}

static void test_hw_breakpoints(void **state)
{
	struct gdb_stop ev = { .kind = GDB_STOP_DEBUG, .cpu = 0, .exception = 1 };
	(void)state;
	REPLY("Z1,ffffffff81000000,1", "OK");
	REPLY("Z2,2000,4", "OK");
	REPLY("Z3,3000,8", "OK");
	REPLY("Z4,4002,2", "OK");
	REPLY("Z2,5000,4", "E1c"); /* four debug registers */
	REPLY("Z2,5001,4", "E16"); /* unaligned */
	REPLY("Z2,5000,3", "E16");
	assert_int_equal(pkt("vCont;s:1;c"), GDB_RESUMED);
	assert_int_equal(f.run[0], GDB_RUN_STEP);
	assert_int_equal(f.run[1], GDB_RUN_CONT);
	assert_true(f.debug.hw_bp);
	assert_false(f.debug.sw_bp);
	assert_true(f.debug.dr[0] == 0xffffffff81000000ull);
	assert_true(f.debug.dr[1] == 0x2000);
	/* G bits 1,3,5,7, GE; RW/LEN: 0:exec 1:write/4 2:rw/8 3:rw/2 */
	assert_true(f.debug.dr7 == (0xaa | 1u << 9 | 0x0u << 16 | 0xdu << 20 |
				    0xbu << 24 | 0x7u << 28));
	ev.dr6 = 0xffff0ff0 | 1u << 1;
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:1;watch:2000;");
	ev.dr6 = 1u << 2;
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:1;rwatch:3000;");
	ev.dr6 = 1u << 3;
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:1;awatch:4002;");
	ev.dr6 = 1u << 0;
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:1;hwbreak:;");
	ev.dr6 = 1u << 14; /* a single step */
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T05thread:1;");
	REPLY("z2,2000,4", "OK");
	REPLY("z2,2000,4", "E16");
	REPLY("Z2,5000,4", "OK"); /* the freed slot */
}

static void test_resume(void **state)
{
	(void)state;
	assert_int_equal(pkt("vCont;s:2"), GDB_RESUMED);
	assert_int_equal(f.run[0], GDB_RUN_STOPPED);
	assert_int_equal(f.run[1], GDB_RUN_STEP);
	/* the first action naming a thread wins */
	assert_int_equal(pkt("vCont;t:1;c"), GDB_RESUMED);
	assert_int_equal(f.run[0], GDB_RUN_STOPPED);
	assert_int_equal(f.run[1], GDB_RUN_CONT);
	assert_int_equal(pkt("vCont;C05:2;S02"), GDB_RESUMED);
	assert_int_equal(f.run[0], GDB_RUN_STEP);
	assert_int_equal(f.run[1], GDB_RUN_CONT);
	assert_int_equal(f.resumes, 3);
	REPLY("vCont;t", "E16"); /* nothing would run */
	REPLY("vCont;x", "E16");
	REPLY("vCont;c:9", "E16");
	REPLY("vCont;c:1x", "E16");
	REPLY("vCont;C", "E16");
	assert_int_equal(f.resumes, 3);
	/* legacy c and s, s with an address */
	assert_int_equal(pkt("c"), GDB_RESUMED);
	assert_int_equal(f.run[0], GDB_RUN_CONT);
	assert_int_equal(f.run[1], GDB_RUN_CONT);
	REPLY("Hc2", "OK");
	assert_int_equal(pkt("s1500"), GDB_RESUMED);
	assert_int_equal(f.run[0], GDB_RUN_STOPPED);
	assert_int_equal(f.run[1], GDB_RUN_STEP);
	assert_true(f.cpu[1].regs.rip == 0x1500);
	REPLY("s15x", "E16");
	/* Ctrl-C: SIGINT on the thread the target names */
	struct gdb_stop ev = { .kind = GDB_STOP_INTERRUPT, .cpu = 1 };
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "T02thread:2;");
}

static void test_detach_kill_exit(void **state)
{
	(void)state;
	REPLY("Z0,1010,1", "OK");
	REPLY("Z1,1020,1", "OK");
	assert_int_equal(pkt("D"), GDB_DETACH);
	assert_string_equal((char *)r.buf, "OK");
	/* gone from memory and from the debug registers, and all running */
	assert_int_equal(f.mem[0x10], 0x10);
	assert_false(f.debug.sw_bp);
	assert_false(f.debug.hw_bp);
	assert_int_equal(f.run[0], GDB_RUN_CONT);
	assert_int_equal(f.run[1], GDB_RUN_CONT);
	assert_int_equal(pkt("k"), GDB_KILLED);
	assert_true(f.killed);
	f.killed = false;
	assert_int_equal(pkt("vKill;1"), GDB_DETACH);
	assert_true(f.killed);
	struct gdb_stop ev = { .kind = GDB_STOP_EXITED, .status = 3 };
	gdb_session_stopped(&s, &ev, &r);
	r.buf[r.len] = 0;
	assert_string_equal((char *)r.buf, "W03");
	REPLY("?", "W03");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_queries, setup),
		cmocka_unit_test_setup(test_xfer, setup),
		cmocka_unit_test_setup(test_threads_and_regs, setup),
		cmocka_unit_test_setup(test_memory, setup),
		cmocka_unit_test_setup(test_sw_breakpoints, setup),
		cmocka_unit_test_setup(test_hw_breakpoints, setup),
		cmocka_unit_test_setup(test_resume, setup),
		cmocka_unit_test_setup(test_detach_kill_exit, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
