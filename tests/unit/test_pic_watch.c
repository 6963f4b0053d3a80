/*
 * The 8259 watchdog's decisions: when KVM's in-kernel PIC holds an
 * interrupt it will never deliver (pic_watch.h), from snapshots alone. The
 * states are the ones KVM_GET_IRQCHIP reported in the nested VM while Linux
 * hung in virtual-wire mode (IRR 0x01, ISR 0, IMR 0xfa: IRQ 0 pending,
 * unmasked, nothing in service, for good).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "petrel/pic_watch.h"

static struct kvm_pic_state pic(uint8_t irr, uint8_t isr, uint8_t imr)
{
	struct kvm_pic_state s;

	memset(&s, 0, sizeof(s));
	s.irr = irr;
	s.isr = isr;
	s.imr = imr;
	return s;
}

static const struct kvm_pic_state idle_slave = { .imr = 0xff };

static void output_follows_8259_priority(void **state)
{
	(void)state;
	struct kvm_pic_state m;

	m = pic(0x01, 0x00, 0xfa);
	assert_true(pic_output_asserted(&m, &idle_slave));
	m = pic(0x01, 0x00, 0xfb); /* IRQ 0 masked */
	assert_false(pic_output_asserted(&m, &idle_slave));
	m = pic(0x00, 0x00, 0x00); /* nothing requested */
	assert_false(pic_output_asserted(&m, &idle_slave));
	m = pic(0x02, 0x01, 0x00); /* IRQ 1 waits for IRQ 0 in service */
	assert_false(pic_output_asserted(&m, &idle_slave));
	m = pic(0x01, 0x08, 0x00); /* IRQ 0 preempts IRQ 3 in service */
	assert_true(pic_output_asserted(&m, &idle_slave));
	m = pic(0x01, 0x01, 0x00); /* the same IRQ in service blocks itself */
	assert_false(pic_output_asserted(&m, &idle_slave));
}

static void rotation_changes_priority(void **state)
{
	(void)state;
	/* after "rotate on EOI" of IRQ 3, IRQ 4 is highest and IRQ 3 lowest */
	struct kvm_pic_state m = pic(0x08, 0x10, 0x00);

	m.priority_add = 4;
	assert_false(pic_output_asserted(&m, &idle_slave));
	m.priority_add = 0;
	assert_true(pic_output_asserted(&m, &idle_slave));
}

static void slave_requests_through_the_cascade(void **state)
{
	(void)state;
	struct kvm_pic_state m = pic(0x00, 0x00, 0xfb); /* only IRQ 2 open */
	struct kvm_pic_state s = pic(0x10, 0x00, 0xef); /* IRQ 12 */

	assert_true(pic_output_asserted(&m, &s));
	s.imr = 0xff;
	assert_false(pic_output_asserted(&m, &s));
	s.imr = 0xef;
	m.imr = 0xff; /* the cascade masked on the master */
	assert_false(pic_output_asserted(&m, &s));

	/* the cascade in service blocks the slave, unless fully nested */
	m = pic(0x00, 0x04, 0xfb);
	assert_false(pic_output_asserted(&m, &s));
	m.special_fully_nested_mode = 1;
	assert_true(pic_output_asserted(&m, &s));
}

static void unmasked_lines(void **state)
{
	(void)state;
	struct kvm_pic_state m = pic(0, 0, 0xff), s = pic(0, 0, 0xff);

	assert_false(pic_any_unmasked(&m, &s));
	m.imr = 0xfb; /* only the cascade: nothing behind it */
	assert_false(pic_any_unmasked(&m, &s));
	s.imr = 0xfe; /* the RTC's IRQ 8 behind it */
	assert_true(pic_any_unmasked(&m, &s));
	m.imr = 0xfe; /* IRQ 0 */
	s.imr = 0xff;
	assert_true(pic_any_unmasked(&m, &s));
}

static void stuck_interrupt_is_nudged_with_backoff(void **state)
{
	(void)state;
	struct kvm_pic_state m = pic(0x01, 0x00, 0xfa);
	struct pic_watch w;
	unsigned expect = PIC_WATCH_ACTIVE_MS;

	pic_watch_init(&w);
	assert_int_equal(w.interval_ms, PIC_WATCH_ACTIVE_MS);
	/* the first sight of a pending IRQ proves nothing */
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	assert_int_equal(w.interval_ms, PIC_WATCH_ACTIVE_MS);
	/* untouched a period later: nudge, then less and less often */
	for (int i = 0; i < 10; i++) {
		assert_true(pic_watch_sample(&w, &m, &idle_slave));
		assert_int_equal(w.interval_ms, expect);
		expect = expect * 2 > PIC_WATCH_MAX_MS ? PIC_WATCH_MAX_MS : expect * 2;
	}
	assert_int_equal(w.interval_ms, PIC_WATCH_MAX_MS);
	assert_int_equal(w.nudges, 10);

	/* delivered at last: back to brisk sampling, and no nudge */
	m = pic(0x00, 0x00, 0xfa);
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	assert_int_equal(w.interval_ms, PIC_WATCH_ACTIVE_MS);
	/* the next tick pending again is a new request, seen once */
	m = pic(0x01, 0x00, 0xfa);
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	assert_true(pic_watch_sample(&w, &m, &idle_slave));
	assert_int_equal(w.interval_ms, PIC_WATCH_ACTIVE_MS);
}

static void progress_between_samples_is_not_stuck(void **state)
{
	(void)state;
	struct kvm_pic_state m = pic(0x01, 0x00, 0xf8);
	struct pic_watch w;

	pic_watch_init(&w);
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	m.irr = 0x03; /* the keyboard raised IRQ 1 meanwhile */
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	m.isr = 0x01; /* IRQ 0 acknowledged, IRQ 1 waits behind it */
	m.irr = 0x02;
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	assert_false(pic_watch_sample(&w, &m, &idle_slave)); /* not asserted */
	assert_int_equal(w.nudges, 0);
}

static void masked_pic_is_sampled_lazily(void **state)
{
	(void)state;
	/* a guest on the IOAPIC: 8259 fully masked, requests or not */
	struct kvm_pic_state m = pic(0x01, 0x00, 0xff);
	struct pic_watch w;

	pic_watch_init(&w);
	for (int i = 0; i < 3; i++) {
		assert_false(pic_watch_sample(&w, &m, &idle_slave));
		assert_int_equal(w.interval_ms, PIC_WATCH_IDLE_MS);
	}
	m.imr = 0xfe; /* the guest opens IRQ 0: brisk again */
	assert_false(pic_watch_sample(&w, &m, &idle_slave));
	assert_int_equal(w.interval_ms, PIC_WATCH_ACTIVE_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(output_follows_8259_priority),
		cmocka_unit_test(rotation_changes_priority),
		cmocka_unit_test(slave_requests_through_the_cascade),
		cmocka_unit_test(unmasked_lines),
		cmocka_unit_test(stuck_interrupt_is_nudged_with_backoff),
		cmocka_unit_test(progress_between_samples_is_not_stuck),
		cmocka_unit_test(masked_pic_is_sampled_lazily),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
