/*
 * The PIT on a real event loop and a real timerfd: a 1 ms rate generator
 * gives about one IRQ0 edge per ms (a loose lower bound, and never more
 * than the periods that passed), a mode 0 count fires once, and the timer
 * can be torn down while the loop runs and the PIT is still in use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "petrel/mono_clock.h"
#include "petrel/pit_timer.h"

struct fx {
	struct evloop loop;
	pthread_mutex_t lock;
	struct pit8254 pit;
	struct pit_timer timer;
	int level;
	int rises;   /* guarded by lock, like the PIT */
	int arm_err; /* the first error pit_timer_arm returned */
};

static void fx_arm(void *opaque, uint64_t deadline)
{
	struct fx *f = opaque;
	int ret = pit_timer_arm(&f->timer, deadline);

	if (ret < 0 && !f->arm_err)
		f->arm_err = ret;
}

static void fx_irq0(void *opaque, int level)
{
	struct fx *f = opaque;

	if (level && !f->level)
		f->rises++;
	f->level = level;
}

static const struct pit_ops fx_ops = {
	.now_ns = mono_clock_host_ns,
	.arm = fx_arm,
	.irq0 = fx_irq0,
};

/* the test's view of the PIT's clock */
static uint64_t now_ns(void)
{
	return mono_clock_host_ns(NULL);
}

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.level = 1;
	assert_int_equal(evloop_init(&f.loop), 0);
	pthread_mutex_init(&f.lock, NULL);
	pit_init(&f.pit, &fx_ops, &f);
	assert_int_equal(pit_timer_init(&f.timer, &f.loop, &f.lock, &f.pit), 0);
	assert_int_equal(evloop_start(&f.loop, "pit-test"), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pit_timer_destroy(&f->timer);
	evloop_destroy(&f->loop);
	pthread_mutex_destroy(&f->lock);
	return 0;
}

/* a guest's port writes: under the lock, as the integration does */
static void program(struct fx *f, uint8_t ctl, uint16_t count)
{
	pthread_mutex_lock(&f->lock);
	pit_ops_io.write(&f->pit, 3, ctl, 1);
	pit_ops_io.write(&f->pit, ctl >> 6, count & 0xff, 1);
	pit_ops_io.write(&f->pit, ctl >> 6, count >> 8, 1);
	pthread_mutex_unlock(&f->lock);
}

static int rises(struct fx *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->rises;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* rises once at least want, or after limit_ms on a starved machine */
static int wait_rises(struct fx *f, int want, int limit_ms)
{
	int n = rises(f);

	for (int ms = 0; n < want && ms < limit_ms; ms++) {
		sleep_ms(1);
		n = rises(f);
	}
	return n;
}

static void test_rate_generator_1ms(void **state)
{
	struct fx *f = *state;
	uint64_t start = now_ns(), end;
	int n;

	program(f, 0x34, 1193); /* mode 2, 1193 ticks = 0.99985 ms */
	sleep_ms(100);
	/* loose: a loaded machine delivers late, and late edges merge */
	n = wait_rises(f, 20, 5000);
	end = now_ns();
	assert_true(n >= 20);
	/* but never more edges than periods that ended */
	assert_true((uint64_t)n <= (end - start) / 999847 + 1);
	assert_int_equal(f->arm_err, 0);
	print_message("%d IRQ0 edges in %.1f ms\n", n, (double)(end - start) / 1e6);
}

static void test_mode0_fires_once(void **state)
{
	struct fx *f = *state;
	struct itimerspec its;

	program(f, 0x30, 5966); /* mode 0, 5 ms */
	assert_int_equal(f->level, 0);
	assert_int_equal(wait_rises(f, 1, 5000), 1);
	sleep_ms(50);
	assert_int_equal(rises(f), 1);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->pit.armed, 0);
	pthread_mutex_unlock(&f->lock);
	/* and the host timer is off */
	assert_int_equal(timerfd_gettime(f->timer.fd, &its), 0);
	assert_int_equal(its.it_value.tv_sec, 0);
	assert_int_equal(its.it_value.tv_nsec, 0);
}

/* Torn down while the loop runs and the timer fires every 100 us. */
static void test_destroy_while_running(void **state)
{
	struct fx *f = *state;
	int n;

	for (int i = 0; i < 20; i++) {
		if (i)
			assert_int_equal(pit_timer_init(&f->timer, &f->loop,
							 &f->lock, &f->pit), 0);
		program(f, 0x34, 120); /* the rate limit's 100 us */
		sleep_ms(2);
		pit_timer_destroy(&f->timer);
		assert_int_equal(f->timer.fd, -1);
	}
	assert_true(wait_rises(f, 1, 5000) > 0);
	/*
	 * The PIT goes on being used (its port writes may deliver an edge
	 * already due): arm does nothing, and no expiration follows.
	 */
	program(f, 0x34, 1193);
	n = rises(f);
	sleep_ms(20);
	assert_int_equal(rises(f), n);
	assert_int_equal(f->arm_err, 0);
	pit_timer_destroy(&f->timer); /* twice: a no-op */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_rate_generator_1ms),
		T(test_mode0_fires_once),
		T(test_destroy_while_running),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
