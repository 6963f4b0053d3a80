/*
 * The GDB stub's register file (gdb_regs.h): the target description and
 * the register table agree (gdb numbers registers by their order in the
 * XML), each register lands where gdb expects it in a 'g' packet, and
 * values travel to and from KVM's structures unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "petrel/gdb_regs.h"

/* Each <reg name="N" bitsize="B"> of the XML in order, against the table. */
static void test_xml_matches_table(void **state)
{
	size_t len, total = 0;
	const char *xml = gdb_target_xml(&len), *p = xml;
	unsigned n = 0;

	(void)state;
	assert_int_equal(strlen(xml), len);
	assert_non_null(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.core"));
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.sse"));
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.segments"));
	while ((p = strstr(p, "<reg name=\""))) {
		char name[16];
		size_t off, size;
		const char *q = p + 11, *e = strchr(q, '"');
		assert_non_null(e);
		assert_true((size_t)(e - q) < sizeof(name));
		memcpy(name, q, (size_t)(e - q));
		name[e - q] = 0;
		const char *bs = strstr(e, "bitsize=\"");
		assert_non_null(bs);
		assert_true(bs < strchr(e, '>'));
		assert_non_null(gdb_reg_name(n));
		assert_string_equal(name, gdb_reg_name(n));
		assert_int_equal(gdb_reg_layout(n, &off, &size), 0);
		assert_int_equal(off, total);
		assert_int_equal(strtoul(bs + 9, NULL, 10), 8 * size);
		total += size;
		n++;
		p = e;
	}
	assert_int_equal(n, GDB_NR_REGS);
	assert_int_equal(total, GDB_REGS_SIZE);
	assert_null(gdb_reg_name(GDB_NR_REGS));
	size_t off, size;
	assert_int_equal(gdb_reg_layout(GDB_NR_REGS, &off, &size), -22);
	/* every register gdb's amd64 code requires, by number */
	assert_string_equal(gdb_reg_name(GDB_REG_RIP), "rip");
	assert_string_equal(gdb_reg_name(7), "rsp");
	assert_string_equal(gdb_reg_name(6), "rbp");
	assert_string_equal(gdb_reg_name(24), "st0");
	assert_string_equal(gdb_reg_name(40), "xmm0");
	assert_string_equal(gdb_reg_name(56), "mxcsr");
}

static void fill(struct gdb_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->regs.rax = 0x1111111111111111ull;
	s->regs.rsp = 0x7ffff000;
	s->regs.rbp = 0x7ffff100;
	s->regs.r15 = 0xf15;
	s->regs.rip = 0xffffffff81000000ull;
	s->regs.rflags = 0x246;
	s->sregs.cs.selector = 0x10;
	s->sregs.ss.selector = 0x18;
	s->sregs.fs.base = 0xabc000;
	s->sregs.gs.base = 0xffff888000000000ull;
	s->sregs.cr0 = 0x80050033;
	s->sregs.cr3 = 0x1000;
	s->sregs.cr4 = 0x20;
	s->sregs.cr8 = 2;
	s->sregs.efer = 0xd01;
	s->fpu.fcw = 0x37f;
	s->fpu.mxcsr = 0x1f80;
	memset(s->fpu.xmm[15], 0x5a, 16);
}

static uint64_t at(const uint8_t *g, unsigned regno)
{
	size_t off, size;
	uint64_t v = 0;

	assert_int_equal(gdb_reg_layout(regno, &off, &size), 0);
	for (size_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)g[off + i] << (8 * i);
	return v;
}

static void test_pack(void **state)
{
	struct gdb_cpu_state s;
	uint8_t g[GDB_REGS_SIZE];
	size_t off, size;

	(void)state;
	fill(&s);
	gdb_regs_pack(&s, g);
	assert_true(at(g, 0) == s.regs.rax);
	assert_true(at(g, 6) == s.regs.rbp); /* gdb: rbp before rsp */
	assert_true(at(g, 7) == s.regs.rsp);
	assert_true(at(g, 15) == 0xf15);
	assert_true(at(g, GDB_REG_RIP) == s.regs.rip);
	assert_int_equal(at(g, 17), 0x246);
	assert_int_equal(at(g, 18), 0x10);
	assert_int_equal(at(g, 19), 0x18);
	assert_int_equal(at(g, 32), 0x37f); /* fctrl */
	assert_int_equal(at(g, 34), 0xffff); /* ftag: all empty */
	assert_int_equal(at(g, 56), 0x1f80);
	assert_true(at(g, 57) == 0xabc000);
	assert_true(at(g, 58) == 0xffff888000000000ull);
	assert_true(at(g, 59) == 0x80050033);
	assert_true(at(g, 61) == 0x1000);
	assert_true(at(g, 63) == 2);
	assert_true(at(g, 64) == 0xd01);
	gdb_reg_layout(55, &off, &size);
	assert_int_equal(size, 16);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(g[off + i], 0x5a);
	/* rip is where 'g' users expect it: byte 128 */
	gdb_reg_layout(GDB_REG_RIP, &off, &size);
	assert_int_equal(off, 128);
}

static void test_unpack_roundtrip(void **state)
{
	struct gdb_cpu_state s, t;
	uint8_t g[GDB_REGS_SIZE], g2[GDB_REGS_SIZE];
	size_t off, size;

	(void)state;
	fill(&s);
	gdb_regs_pack(&s, g);
	t = s;
	/* change rdi, rip, cr3 and xmm0 through the buffer */
	gdb_reg_layout(5, &off, &size);
	memset(g + off, 0x42, size);
	gdb_reg_layout(GDB_REG_RIP, &off, &size);
	memset(g + off, 0x11, size);
	gdb_reg_layout(61, &off, &size);
	memset(g + off, 0, size);
	g[off + 1] = 0x20;
	gdb_reg_layout(40, &off, &size);
	memset(g + off, 0x77, size);
	assert_int_equal(gdb_regs_unpack(&t, g), 0);
	assert_true(t.regs.rdi == 0x4242424242424242ull);
	assert_true(t.regs.rip == 0x1111111111111111ull);
	assert_true(t.sregs.cr3 == 0x2000);
	assert_int_equal(t.fpu.xmm[0][7], 0x77);
	assert_true(t.regs.rax == s.regs.rax);
	gdb_regs_pack(&t, g2);
	assert_memory_equal(g, g2, sizeof(g));

	/* a selector cannot change: the whole write is refused */
	gdb_reg_layout(18, &off, &size);
	g[off] = 0x33;
	t = s;
	assert_int_equal(gdb_regs_unpack(&t, g), -22);
	assert_memory_equal(&t, &s, sizeof(s));
	uint8_t sel[4] = { 0x10, 0, 0, 0 };
	assert_int_equal(gdb_reg_set(&t, 18, sel), 0); /* the same value is fine */
	sel[0] = 0x33;
	assert_int_equal(gdb_reg_set(&t, 18, sel), -22);
}

/* The x87 tag word: FXSAVE's one bit per register becomes gdb's two. */
static void test_ftag(void **state)
{
	struct gdb_cpu_state s;
	uint8_t v[8];

	(void)state;
	memset(&s, 0, sizeof(s));
	/* TOP = 6: st0 is physical register 6, st1 physical 7 */
	s.fpu.fsw = 6 << 11;
	s.fpu.ftwx = 1u << 6 | 1u << 7;
	/* st0 = 1.0 (valid), st1 = +0.0 (zero) */
	s.fpu.fpr[0][7] = 0x80;
	s.fpu.fpr[0][8] = 0xff;
	s.fpu.fpr[0][9] = 0x3f;
	assert_int_equal(gdb_reg_get(&s, 34, v), 0);
	assert_int_equal(v[0] | v[1] << 8, 0x0fff | 0x0 << 12 | 0x1 << 14);
	/* and back: 11 empty, anything else in use */
	v[0] = 0xff;
	v[1] = 0x3f; /* phys 7 "zero", the rest empty */
	assert_int_equal(gdb_reg_set(&s, 34, v), 0);
	assert_int_equal(s.fpu.ftwx, 0x80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_matches_table),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_unpack_roundtrip),
		cmocka_unit_test(test_ftag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
