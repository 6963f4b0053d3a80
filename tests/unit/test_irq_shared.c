/*
 * Shared level lines (PCI INTx): the parent sees the OR of the sources on
 * a GSI, and only its 0 <-> 1 transitions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "petrel/irq_shared.h"

struct rec {
	int level[IOAPIC_PINS];
	unsigned calls[IOAPIC_PINS];
	unsigned msis;
};

static int rec_level(void *o, unsigned gsi, int level)
{
	struct rec *r = o;

	assert_true(gsi < IOAPIC_PINS);
	r->level[gsi] = level;
	r->calls[gsi]++;
	return 0;
}

static int rec_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)addr;
	(void)data;
	((struct rec *)o)->msis++;
	return 0;
}

static const struct irqchip_ops rec_ops = { .set_level = rec_level, .msi = rec_msi };

static void test_or_of_sources(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct irqchip parent = { &rec_ops, &r, NULL };
	struct irq_shared s;
	struct irq_shared_src a, b, c;
	struct irq_line la, lb, lc;

	assert_int_equal(irq_shared_init(&s, &parent), 0);
	assert_int_equal(irq_shared_src_init(&a, &s, 10), 0);
	assert_int_equal(irq_shared_src_init(&b, &s, 10), 0);
	assert_int_equal(irq_shared_src_init(&c, &s, 11), 0);
	assert_int_equal(irq_shared_src_init(&c, &s, IOAPIC_PINS), -EINVAL);
	assert_int_equal(irq_shared_src_init(&c, &s, 11), 0);
	la = irq_shared_line(&a, "dev-a");
	lb = irq_shared_line(&b, "dev-b");
	lc = irq_shared_line(&c, "dev-c");
	assert_int_equal(la.gsi, 10);

	irq_line_set(&la, 1);
	assert_int_equal(r.level[10], 1);
	assert_int_equal(r.calls[10], 1);
	irq_line_set(&la, 1); /* a source raising again changes nothing */
	irq_line_set(&lb, 1);
	assert_int_equal(r.calls[10], 1);
	/* a lowers, b still holds the line: it stays up */
	irq_line_set(&la, 0);
	assert_int_equal(r.level[10], 1);
	assert_int_equal(r.calls[10], 1);
	irq_line_set(&la, 0); /* lowering twice does not count twice */
	irq_line_set(&lc, 1);
	assert_int_equal(r.level[11], 1);
	irq_line_set(&lb, 0);
	assert_int_equal(r.level[10], 0);
	assert_int_equal(r.calls[10], 2);
	assert_int_equal(r.level[11], 1); /* lines are independent */
	irq_line_set(&la, 1);
	assert_int_equal(r.level[10], 1);
	assert_int_equal(a.raised, 2);
	assert_int_equal(b.raised, 1);
	/* MSIs pass through */
	irq_msi(la.chip, 0xfee00000, 0x30);
	assert_int_equal(r.msis, 1);
	/* releasing a raised source lowers it; a released one is inert */
	irq_shared_src_release(&a);
	assert_int_equal(r.level[10], 0);
	irq_shared_src_release(&a);
	irq_shared_src_release(&b);
	assert_int_equal(r.calls[10], 4);
	irq_shared_src_release(&c);
	assert_int_equal(r.level[11], 0);
	irq_shared_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_or_of_sources),
	};
	return cmocka_run_group_tests_name("irq_shared", tests, NULL, NULL);
}
