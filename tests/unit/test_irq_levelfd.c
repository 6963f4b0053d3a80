/*
 * The level line over eventfds: raising writes the trigger fd, a resample
 * (the guest's EOI) re-triggers only while the device holds the line high,
 * and a parent without level irqfds is refused so the caller keeps the
 * plain line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "petrel/irq_levelfd.h"

struct parent {
	int fd, resample_fd;
	unsigned gsi, assigned, levels;
};

static int p_level(void *o, unsigned gsi, int level)
{
	(void)gsi, (void)level;
	((struct parent *)o)->levels++;
	return 0;
}

static int p_msi(void *o, uint64_t a, uint32_t d)
{
	(void)o, (void)a, (void)d;
	return 0;
}

static int p_irqfd_level(void *o, unsigned gsi, int fd, int rfd, bool assign)
{
	struct parent *p = o;

	p->gsi = gsi;
	p->fd = fd;
	p->resample_fd = rfd;
	p->assigned += assign ? 1 : -1u;
	return 0;
}

static const struct irqchip_ops with_ops = {
	.set_level = p_level, .msi = p_msi, .irqfd_level = p_irqfd_level,
};
static const struct irqchip_ops without_ops = { .set_level = p_level, .msi = p_msi };

/* The trigger count, waiting up to 2 s for the I/O thread when want > 0. */
static uint64_t triggered(int fd, uint64_t want)
{
	uint64_t n = 0;

	for (int i = 0; i < 2000; i++) {
		if (read(fd, &n, sizeof(n)) == sizeof(n))
			return n;
		if (!want)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return 0;
}

static void level_semantics(void **state)
{
	struct parent p = { 0 };
	struct irqchip parent = { &with_ops, &p, NULL };
	struct irq_levelfd l;
	struct evloop loop;
	uint64_t one = 1;
	(void)state;

	assert_int_equal(evloop_init(&loop), 0);
	assert_int_equal(evloop_start(&loop, "io-test"), 0);
	assert_int_equal(irq_levelfd_init(&l, &parent, 17, &loop), 0);
	assert_int_equal(p.gsi, 17);
	assert_int_equal(p.assigned, 1);
	struct irq_line line = irq_levelfd_line(&l, "test");
	assert_int_equal(line.gsi, 17);

	irq_line_set(&line, 1);
	assert_int_equal(triggered(p.fd, 1), 1);
	/* EOI while still high: raised again */
	assert_int_equal(write(p.resample_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(triggered(p.fd, 1), 1);
	/* lowered (the driver ACKed), then EOI: stays down */
	irq_line_set(&line, 0);
	assert_int_equal(write(p.resample_fd, &one, sizeof(one)), sizeof(one));
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	assert_int_equal(triggered(p.fd, 0), 0);
	assert_int_equal(p.levels, 0); /* never the ioctl path */
	assert_true(atomic_load(&l.resamples) >= 2);

	irq_levelfd_destroy(&l);
	assert_int_equal(p.assigned, 0);
	evloop_stop(&loop);
	evloop_destroy(&loop);
}

static void no_level_irqfd_refused(void **state)
{
	struct parent p = { 0 };
	struct irqchip parent = { &without_ops, &p, NULL };
	struct irq_levelfd l;
	(void)state;

	assert_int_equal(irq_levelfd_init(&l, &parent, 16, NULL), -ENOTSUP);
	irq_levelfd_destroy(&l); /* harmless on a refused one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(level_semantics),
		cmocka_unit_test(no_level_irqfd_refused),
	};
	return cmocka_run_group_tests_name("irq_levelfd", tests, NULL, NULL);
}
