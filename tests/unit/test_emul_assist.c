/* The software-interrupt decoder behind --emulation-assist. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/kvm.h>

#include "petrel/emul_assist.h"
#include "petrel/emul_internal.h"

#define DECODE(mode, ...) ({ const uint8_t b_[] = { __VA_ARGS__ }; \
	assist_decode(b_, sizeof(b_), mode, &si); })

static void plain_forms(void **state)
{
	struct assist_insn si;
	(void)state;

	assert_int_equal(DECODE(64, 0xcc, 0x90), 0);
	assert_int_equal(si.kind, ASSIST_INT3);
	assert_int_equal(si.vector, 3);
	assert_int_equal(si.len, 1);
	assert_int_equal(DECODE(64, 0xcd, 0x80), 0);
	assert_int_equal(si.kind, ASSIST_INTN);
	assert_int_equal(si.vector, 0x80);
	assert_int_equal(si.len, 2);
	assert_int_equal(DECODE(32, 0xce), 0);
	assert_int_equal(si.kind, ASSIST_INTO);
	assert_int_equal(si.vector, 4);
	assert_int_equal(DECODE(16, 0xf1), 0);
	assert_int_equal(si.kind, ASSIST_INT1);
	assert_int_equal(si.vector, 1);
	assert_int_equal(si.len, 1);
}

static void prefixes_count_in_length(void **state)
{
	struct assist_insn si;
	(void)state;

	assert_int_equal(DECODE(32, 0x66, 0x2e, 0xcd, 0x21), 0);
	assert_int_equal(si.vector, 0x21);
	assert_int_equal(si.len, 4);
	/* REX is a prefix in 64-bit mode ... */
	assert_int_equal(DECODE(64, 0x48, 0xcc), 0);
	assert_int_equal(si.len, 2);
	/* ... and "dec eax" in 32-bit mode: not ours */
	assert_int_equal(DECODE(32, 0x48, 0xcc), -ENOENT);
}

static void clac_stac(void **state)
{
	struct assist_insn si;
	(void)state;

	assert_int_equal(DECODE(64, 0x0f, 0x01, 0xca, 0xfc), 0);
	assert_int_equal(si.kind, ASSIST_CLAC);
	assert_int_equal(si.len, 3);
	assert_int_equal(DECODE(64, 0x0f, 0x01, 0xcb), 0);
	assert_int_equal(si.kind, ASSIST_STAC);
	/* with a prefix it is another instruction (or #UD): not ours */
	assert_int_equal(DECODE(64, 0x66, 0x0f, 0x01, 0xca), -ENOENT);
	assert_int_equal(DECODE(64, 0x0f, 0x01, 0xc8), -ENOENT); /* monitor */
	assert_string_equal(assist_name(ASSIST_CLAC), "clac");
}

static void fwait(void **state)
{
	struct assist_insn si;
	(void)state;

	assert_int_equal(DECODE(64, 0x9b, 0x65, 0x48), 0);
	assert_int_equal(si.kind, ASSIST_FWAIT);
	assert_int_equal(si.len, 1);
	assert_string_equal(assist_name(ASSIST_FWAIT), "fwait");
	/* 9B DB E3 is FINIT: the assist sees the FWAIT prefix byte only */
	assert_int_equal(DECODE(32, 0x9b, 0xdb, 0xe3), 0);
	assert_int_equal(si.len, 1);
}

static void mxcsr_operands(void **state)
{
	struct assist_insn si;
	struct kvm_regs r = { .rax = 0x1000, .rcx = 3, .rsp = 0x8000, .r8 = 0x5000,
			      .rip = 0x400000 };
	struct kvm_sregs s = { .fs = { .base = 0x70000 } };
	(void)state;

	/* ldmxcsr 0x4(%rsp): the gap Linux's kernel_fpu_begin() hits */
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0x54, 0x24, 0x04, 0x83), 0);
	assert_int_equal(si.kind, ASSIST_LDMXCSR);
	assert_int_equal(si.len, 5);
	assert_int_equal(si.mem.base, 4);
	assert_int_equal(si.mem.index, -1);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0x8004);
	/* stmxcsr (%rax,%rcx,8) */
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0x1c, 0xc8), 0);
	assert_int_equal(si.kind, ASSIST_STMXCSR);
	assert_int_equal(si.len, 4);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0x1000 + 3 * 8);
	/* REX.B: ldmxcsr 0x8(%r8) */
	assert_int_equal(DECODE(64, 0x41, 0x0f, 0xae, 0x50, 0x08), 0);
	assert_int_equal(si.mem.base, 8);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0x5008);
	/* RIP-relative: disp32 from the end of the instruction */
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0x15, 0x10, 0x00, 0x00, 0x00), 0);
	assert_true(si.mem.rip_rel);
	assert_int_equal(si.len, 7);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0x400000 + 7 + 0x10);
	/* an FS override: FS has a base even in 64-bit mode */
	assert_int_equal(DECODE(64, 0x64, 0x0f, 0xae, 0x10), 0);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0x70000 + 0x1000);
	/* addr32 truncates */
	r.rax = 0x1ffffffffULL;
	assert_int_equal(DECODE(64, 0x67, 0x0f, 0xae, 0x10), 0);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0xffffffffULL);
	/* SIB with no base: disp32 */
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0x14, 0x25, 0x00, 0x10, 0x00, 0x00), 0);
	assert_int_equal(si.mem.base, -1);
	assert_int_equal(assist_linear(&si, &r, &s, 64), 0x1000);
	/* not ours: a register operand, fxsave (/0), an operand-size prefix */
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0xd0), -ENOENT);
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0x00), -ENOENT);
	assert_int_equal(DECODE(64, 0x66, 0x0f, 0xae, 0x10), -ENOENT);
	/* cut short inside the displacement */
	assert_int_equal(DECODE(64, 0x0f, 0xae, 0x15, 0x10), -ENODATA);
	assert_string_equal(assist_name(ASSIST_LDMXCSR), "ldmxcsr");
}

static void refused(void **state)
{
	struct assist_insn si;
	(void)state;

	assert_int_equal(DECODE(64, 0xce), -ENOENT);       /* INTO in long mode */
	assert_int_equal(DECODE(64, 0xf0, 0xcc), -ENOENT); /* LOCK: #UD */
	assert_int_equal(DECODE(64, 0x0f, 0xc7, 0x0e), -ENOENT); /* cmpxchg16b */
	assert_int_equal(DECODE(64, 0x48, 0x0f, 0xae, 0x2f), -ENOENT); /* xrstor */
	assert_int_equal(DECODE(64, 0xcd), -ENODATA);      /* cut short */
	assert_int_equal(assist_decode(NULL, 0, 64, &si), -ENODATA);
	/* fifteen prefixes and no opcode: past the architectural limit */
	const uint8_t many[20] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				   0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0xcc };
	assert_int_equal(assist_decode(many, sizeof(many), 64, &si), -ENOENT);
	assert_string_equal(assist_name(ASSIST_INT3), "int3");
	assert_string_equal(assist_name(ASSIST_NR), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_forms),
		cmocka_unit_test(prefixes_count_in_length),
		cmocka_unit_test(clac_stac),
		cmocka_unit_test(fwait),
		cmocka_unit_test(mxcsr_operands),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests_name("emul_assist", tests, NULL, NULL);
}
