#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "petrel/i8042.h"
#include "petrel/layout.h"
#include "petrel/legacy.h"

struct fx {
	struct irqchip chip;
	unsigned nr_irq;
	unsigned irq_gsi[64];
	int irq_level[64];
	unsigned resets, poweroffs;
	const char *last_source;
	struct i8042 k;
	struct legacy_cf9 cf9;
};

static int rec_set_level(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;

	if (f->nr_irq < 64) {
		f->irq_gsi[f->nr_irq] = gsi;
		f->irq_level[f->nr_irq] = level;
	}
	f->nr_irq++;
	return 0;
}

static int rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	return -1;
}

static const struct irqchip_ops rec_ops = { .set_level = rec_set_level, .msi = rec_msi };

static void rec_power(void *opaque, enum power_event ev, const char *source)
{
	struct fx *f = opaque;

	if (ev == POWER_RESET)
		f->resets++;
	else
		f->poweroffs++;
	f->last_source = source;
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	f->chip.ops = &rec_ops;
	f->chip.opaque = f;
	struct power_ctl p = { rec_power, f };
	assert_int_equal(i8042_init(&f->k, (struct irq_line){ &f->chip, GSI_KBD, "kbd" },
				    (struct irq_line){ &f->chip, GSI_MOUSE, "aux" }, p),
			 0);
	legacy_cf9_init(&f->cf9, p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	i8042_destroy(&f->k);
	test_free(f);
	return 0;
}

static uint8_t status(struct fx *f)
{
	return (uint8_t)i8042_cmd_ops.read(&f->k, 0, 1);
}

static void cmd(struct fx *f, uint8_t c)
{
	i8042_cmd_ops.write(&f->k, 0, c, 1);
}

static uint8_t data_in(struct fx *f)
{
	return (uint8_t)i8042_data_ops.read(&f->k, 0, 1);
}

static void data_out(struct fx *f, uint8_t v)
{
	i8042_data_ops.write(&f->k, 0, v, 1);
}

/* Issue a command and collect its one-byte answer, checking OBF. */
static uint8_t query(struct fx *f, uint8_t c)
{
	cmd(f, c);
	assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_IBF), I8042_STR_OBF);
	uint8_t v = data_in(f);
	assert_int_equal(status(f) & I8042_STR_OBF, 0);
	return v;
}

static void test_initial_state(void **state)
{
	struct fx *f = *state;

	/* SYS flag (from CTR), unlocked, nothing to read, no command yet */
	assert_int_equal(status(f), I8042_STR_SYS | I8042_STR_UNLOCKED);
	assert_int_equal(data_in(f), 0x00);
	assert_int_equal(query(f, 0x20), 0x65);
	assert_int_equal(status(f), I8042_STR_SYS | I8042_STR_UNLOCKED |
					    I8042_STR_CMD);
	/* answers arrive as keyboard data: IRQ 1 pulses while one waits */
	assert_int_equal(f->nr_irq, 2);
	assert_int_equal(f->irq_gsi[0], GSI_KBD);
	assert_int_equal(f->irq_level[0], 1);
	assert_int_equal(f->irq_level[1], 0);
}

static void test_self_and_interface_tests(void **state)
{
	struct fx *f = *state;

	assert_int_equal(query(f, 0xaa), 0x55);
	assert_int_equal(query(f, 0xab), 0x00);
	assert_int_equal(query(f, 0xa9), 0x00);
	/* with nothing pending, data shows the last answer again */
	assert_int_equal(data_in(f), 0x00);
	assert_int_equal(query(f, 0xaa), 0x55);
	assert_int_equal(data_in(f), 0x55);
	assert_int_equal(f->resets, 0);
}

static void test_command_byte(void **state)
{
	struct fx *f = *state;

	cmd(f, 0x60);
	assert_int_equal(status(f) & I8042_STR_CMD, I8042_STR_CMD);
	data_out(f, 0x30);
	assert_int_equal(status(f) & I8042_STR_CMD, 0);
	assert_int_equal(status(f) & I8042_STR_OBF, 0); /* no answer to a write */
	assert_int_equal(query(f, 0x20), 0x30);
	assert_int_equal(status(f) & I8042_STR_SYS, 0); /* SYS follows CTR bit 2 */
	/* RAM beyond the command byte */
	cmd(f, 0x7f);
	data_out(f, 0xab);
	assert_int_equal(query(f, 0x3f), 0xab);
	assert_int_equal(query(f, 0x20), 0x30);
	assert_int_equal(f->nr_irq, 0);
}

static void test_port_enable_disable(void **state)
{
	struct fx *f = *state;

	cmd(f, 0xad);
	assert_int_equal(query(f, 0x20), 0x65 | I8042_CTR_KBDDIS);
	cmd(f, 0xa8);
	assert_int_equal(query(f, 0x20), (0x65 | I8042_CTR_KBDDIS) & ~I8042_CTR_AUXDIS);
	cmd(f, 0xae);
	assert_int_equal(query(f, 0x20), 0x65 & ~I8042_CTR_AUXDIS);
	cmd(f, 0xa7);
	assert_int_equal(query(f, 0x20), 0x65);
}

static void test_output_port(void **state)
{
	struct fx *f = *state;

	assert_int_equal(query(f, 0xd0), 0x03);
	cmd(f, 0xd1);
	data_out(f, 0x01); /* A20 off, reset line high: no reset */
	assert_int_equal(f->resets, 0);
	assert_int_equal(query(f, 0xd0), 0x01);
	/* OBF bits 5:4 show what is waiting */
	cmd(f, 0xd0);
	cmd(f, 0xd0);
	assert_int_equal(data_in(f), 0x11);
	cmd(f, 0xd1);
	data_out(f, 0x02); /* bit 0 low: reset */
	assert_int_equal(f->resets, 1);
	assert_string_equal(f->last_source, "i8042");
	assert_int_equal(f->poweroffs, 0);
}

static void test_pulse_reset(void **state)
{
	struct fx *f = *state;

	cmd(f, 0xff); /* pulses nothing */
	assert_int_equal(f->resets, 0);
	cmd(f, 0xfe);
	assert_int_equal(f->resets, 1);
	assert_string_equal(f->last_source, "i8042");
	status(f);
	data_in(f);
	assert_int_equal(f->resets, 1); /* exactly once per request */
	cmd(f, 0xfe);
	assert_int_equal(f->resets, 2);
	/* 0xfe as a data byte (to the keyboard) is not a reset */
	data_out(f, 0xfe);
	assert_int_equal(f->resets, 2);
}

static void test_no_keyboard_or_mouse(void **state)
{
	struct fx *f = *state;

	data_out(f, 0xf2); /* keyboard GET ID */
	assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_TIMEOUT |
				      I8042_STR_AUXDATA),
			 I8042_STR_OBF | I8042_STR_TIMEOUT);
	assert_int_equal(f->nr_irq, 1); /* CTR enables the kbd interrupt */
	assert_int_equal(f->irq_gsi[0], GSI_KBD);
	assert_int_equal(f->irq_level[0], 1);
	assert_int_equal(data_in(f), 0xfe);
	assert_int_equal(f->nr_irq, 2);
	assert_int_equal(f->irq_level[1], 0);

	cmd(f, 0xd4);
	data_out(f, 0xff); /* mouse reset: AUX timeout, no IRQ12 (AUXINT off) */
	assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_TIMEOUT |
				      I8042_STR_AUXDATA),
			 I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA);
	assert_int_equal(f->nr_irq, 2);
	assert_int_equal(data_in(f), 0xfe);
	assert_int_equal(status(f) & I8042_STR_TIMEOUT, I8042_STR_TIMEOUT);
	assert_int_equal(query(f, 0xaa), 0x55);
	assert_int_equal(status(f) & I8042_STR_TIMEOUT, 0);
}

/* Linux's i8042_check_aux: AUX loop must come back on IRQ 12. */
static void test_aux_loop_irq(void **state)
{
	struct fx *f = *state;

	cmd(f, 0x60);
	data_out(f, 0x47 & ~I8042_CTR_KBDINT); /* AUXINT on, KBDINT off */
	cmd(f, 0xd3);
	data_out(f, 0xa5);
	assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_AUXDATA),
			 I8042_STR_OBF | I8042_STR_AUXDATA);
	assert_int_equal(f->nr_irq, 1);
	assert_int_equal(f->irq_gsi[0], GSI_MOUSE);
	assert_int_equal(f->irq_level[0], 1);
	assert_int_equal(data_in(f), 0xa5);
	assert_int_equal(f->nr_irq, 2);
	assert_int_equal(f->irq_gsi[1], GSI_MOUSE);
	assert_int_equal(f->irq_level[1], 0);
	/* 0xd2 fakes keyboard data; KBDINT is off so no IRQ 1 */
	cmd(f, 0xd2);
	data_out(f, 0x1c);
	assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_AUXDATA),
			 I8042_STR_OBF);
	assert_int_equal(f->nr_irq, 2);
	/* enabling KBDINT while data waits raises the line */
	cmd(f, 0x60);
	data_out(f, 0x47);
	assert_int_equal(f->nr_irq, 3);
	assert_int_equal(f->irq_gsi[2], GSI_KBD);
	assert_int_equal(data_in(f), 0x1c);
	assert_int_equal(f->irq_level[3], 0);
}

static void test_bad_access(void **state)
{
	struct fx *f = *state;

	assert_int_equal(i8042_data_ops.read(&f->k, 0, 2), ~0ULL);
	assert_int_equal(i8042_cmd_ops.read(&f->k, 1, 1), ~0ULL);
	i8042_cmd_ops.write(&f->k, 0, 0xfe, 2);
	i8042_cmd_ops.write(&f->k, 3, 0xfe, 1);
	i8042_data_ops.write(&f->k, 0, 0xfe, 4);
	assert_int_equal(f->resets, 0);
	assert_int_equal(status(f), I8042_STR_SYS | I8042_STR_UNLOCKED);
	/* a pending data command is consumed by its data byte only once */
	cmd(f, 0xd1);
	data_out(f, 0x00);
	data_out(f, 0x00);
	assert_int_equal(f->resets, 1);

	uint64_t x = 12345;
	for (unsigned i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint8_t v = (uint8_t)(x >> 8);
		if (v >= 0xf0 || v == 0xd1)
			continue; /* keep resets out of the count */
		if (x & 1)
			i8042_cmd_ops.write(&f->k, 0, v, 1);
		else if (x & 2)
			i8042_data_ops.write(&f->k, 0, v, 1);
		else
			i8042_data_ops.read(&f->k, 0, 1);
	}
	for (unsigned i = 0; i < f->nr_irq && i < 64; i++)
		assert_true(f->irq_gsi[i] == GSI_KBD || f->irq_gsi[i] == GSI_MOUSE);
}

static void test_cf9(void **state)
{
	struct fx *f = *state;

	assert_int_equal(legacy_cf9_ops.read(&f->cf9, 0, 1), 0x00);
	/* Linux: outb(cf9 | 2) then outb(cf9 | 6) */
	legacy_cf9_ops.write(&f->cf9, 0, 0x02, 1);
	assert_int_equal(f->resets, 0);
	assert_int_equal(legacy_cf9_ops.read(&f->cf9, 0, 1), 0x02);
	legacy_cf9_ops.write(&f->cf9, 0, 0x06, 1);
	assert_int_equal(f->resets, 1);
	assert_string_equal(f->last_source, "cf9");
	assert_int_equal(legacy_cf9_ops.read(&f->cf9, 0, 1), 0x02);
	legacy_cf9_ops.write(&f->cf9, 0, 0x0e, 1);
	assert_int_equal(f->resets, 2);
	assert_int_equal(legacy_cf9_ops.read(&f->cf9, 0, 1), 0x0a);
	legacy_cf9_ops.write(&f->cf9, 0, 0x04, 2); /* bad size */
	legacy_cf9_ops.write(&f->cf9, 1, 0x04, 1);
	assert_int_equal(f->resets, 2);
	assert_int_equal(legacy_cf9_ops.read(&f->cf9, 0, 4), ~0ULL);
	assert_int_equal(f->poweroffs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_initial_state),
		T(test_self_and_interface_tests),
		T(test_command_byte),
		T(test_port_enable_disable),
		T(test_output_port),
		T(test_pulse_reset),
		T(test_no_keyboard_or_mouse),
		T(test_aux_loop_irq),
		T(test_bad_access),
		T(test_cf9),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
