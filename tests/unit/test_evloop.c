/*
 * The I/O thread's loop: callbacks for eventfds and timerfds, add/mod/del
 * from the loop's own callbacks and from other threads, stop and join.
 * Waits are bounded (a hang fails the test instead of stalling the run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "petrel/evloop.h"

struct fx {
	struct evloop l;
	int efd;
	sem_t fired;
	atomic_int calls;
	atomic_bool in_cb, cb_done, saw_on_thread;
	uint32_t last_events;
	int sleep_ms;
	bool del_self, read_it;
	int added_fd; /* added by a callback */
};

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

/* 0 when the semaphore was posted within ms, -1 on timeout. */
static int wait_sem(sem_t *s, int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(s, &t) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static void kick(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void on_event(void *opaque, uint32_t events)
{
	struct fx *f = opaque;
	uint64_t v;

	atomic_store(&f->in_cb, true);
	f->last_events = events;
	atomic_store(&f->saw_on_thread, evloop_on_thread(&f->l));
	if (f->read_it && read(f->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing to clear */
	}
	if (f->sleep_ms)
		sleep_ms(f->sleep_ms);
	if (f->del_self)
		assert_int_equal(evloop_del(&f->l, f->efd), 0);
	atomic_fetch_add(&f->calls, 1);
	atomic_store(&f->cb_done, true);
	sem_post(&f->fired);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.added_fd = -1;
	assert_int_equal(evloop_init(&f.l), 0);
	f.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f.efd >= 0);
	sem_init(&f.fired, 0, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	evloop_destroy(&f->l);
	close(f->efd);
	if (f->added_fd >= 0)
		close(f->added_fd);
	sem_destroy(&f->fired);
	return 0;
}

static void test_eventfd_fires(void **state)
{
	struct fx *f = *state;
	char name[16] = "";

	f->read_it = true;
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	assert_int_equal(evloop_start(&f->l, "petrel-io-test-long-name"), 0);
	/* the kernel keeps 15 characters: the name was cut, not refused */
	assert_int_equal(pthread_getname_np(f->l.thread, name, sizeof(name)), 0);
	assert_string_equal(name, "petrel-io-test-");
	assert_false(evloop_on_thread(&f->l));
	kick(f->efd);
	assert_int_equal(wait_sem(&f->fired, 5000), 0);
	assert_true(f->last_events & EPOLLIN);
	assert_true(atomic_load(&f->saw_on_thread));
	kick(f->efd);
	assert_int_equal(wait_sem(&f->fired, 5000), 0);
	assert_int_equal(atomic_load(&f->calls), 2);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	int pipefd[2];

	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLOUT, on_event, f), -EEXIST);
	assert_int_equal(evloop_add(&f->l, -1, EPOLLIN, on_event, f), -EBADF);
	assert_int_equal(evloop_mod(&f->l, f->efd + 1000, EPOLLIN), -ENOENT);
	assert_int_equal(evloop_del(&f->l, f->efd + 1000), -ENOENT);
	assert_int_equal(evloop_del(&f->l, f->efd), 0);
	assert_int_equal(evloop_del(&f->l, f->efd), -ENOENT);
	/* added again after a del: allowed */
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	/* a closed fd: epoll's own EBADF */
	assert_int_equal(pipe(pipefd), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(evloop_add(&f->l, pipefd[0], EPOLLIN, on_event, f), -EBADF);
	/* stop without start is a no-op; so is a second stop */
	evloop_stop(&f->l);
	evloop_stop(&f->l);
}

static void test_mod(void **state)
{
	struct fx *f = *state;

	/* an eventfd is always writable: EPOLLOUT fires as soon as asked for */
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	sleep_ms(50);
	assert_int_equal(atomic_load(&f->calls), 0);
	f->del_self = true; /* fire once */
	assert_int_equal(evloop_mod(&f->l, f->efd, EPOLLOUT), 0);
	assert_int_equal(wait_sem(&f->fired, 5000), 0);
	assert_true(f->last_events & EPOLLOUT);
}

/* Level-triggered and never read: only the del stops the callbacks. */
static void test_del_from_own_callback(void **state)
{
	struct fx *f = *state;

	f->del_self = true;
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	kick(f->efd);
	assert_int_equal(wait_sem(&f->fired, 5000), 0);
	sleep_ms(100);
	kick(f->efd);
	sleep_ms(100);
	assert_int_equal(atomic_load(&f->calls), 1);
	assert_int_equal(evloop_del(&f->l, f->efd), -ENOENT);
}

static void test_del_waits_for_running_callback(void **state)
{
	struct fx *f = *state;

	f->sleep_ms = 300;
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	kick(f->efd); /* never read: would fire forever */
	for (int i = 0; i < 5000 && !atomic_load(&f->in_cb); i++)
		sleep_ms(1);
	assert_true(atomic_load(&f->in_cb));
	assert_int_equal(evloop_del(&f->l, f->efd), 0);
	/* the callback that was sleeping has returned, and none follows */
	assert_true(atomic_load(&f->cb_done));
	int calls = atomic_load(&f->calls);
	sleep_ms(400);
	assert_int_equal(atomic_load(&f->calls), calls);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct fx *f = opaque;
	uint64_t expirations;

	(void)events;
	if (read(f->added_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
		atomic_fetch_add(&f->calls, (int)expirations);
	sem_post(&f->fired);
}

static void test_timerfd(void **state)
{
	struct fx *f = *state;
	struct itimerspec its = { .it_interval = { 0, 10000000L }, .it_value = { 0, 10000000L } };

	f->added_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	assert_true(f->added_fd >= 0);
	assert_int_equal(timerfd_settime(f->added_fd, 0, &its, NULL), 0);
	assert_int_equal(evloop_add(&f->l, f->added_fd, EPOLLIN, on_timer, f), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wait_sem(&f->fired, 5000), 0);
	assert_true(atomic_load(&f->calls) >= 3);
}

/* A callback registering another fd (the timer) from the loop's thread. */
static void add_timer_cb(void *opaque, uint32_t events)
{
	struct fx *f = opaque;
	struct itimerspec its = { .it_value = { 0, 1000000L } };

	(void)events;
	assert_int_equal(evloop_del(&f->l, f->efd), 0);
	assert_int_equal(timerfd_settime(f->added_fd, 0, &its, NULL), 0);
	assert_int_equal(evloop_add(&f->l, f->added_fd, EPOLLIN, on_timer, f), 0);
}

static void test_add_from_callback(void **state)
{
	struct fx *f = *state;

	f->added_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	assert_true(f->added_fd >= 0);
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, add_timer_cb, f), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	kick(f->efd);
	assert_int_equal(wait_sem(&f->fired, 5000), 0);
	assert_int_equal(atomic_load(&f->calls), 1);
}

static void test_stop_and_restart(void **state)
{
	struct fx *f = *state;

	f->read_it = true;
	assert_int_equal(evloop_add(&f->l, f->efd, EPOLLIN, on_event, f), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	assert_int_equal(evloop_start(&f->l, "io"), -EBUSY);
	evloop_stop(&f->l);
	/* stopped: an event waits, no callback runs */
	kick(f->efd);
	sleep_ms(100);
	assert_int_equal(atomic_load(&f->calls), 0);
	/* started again, the pending event is delivered */
	assert_int_equal(evloop_start(&f->l, "io"), 0);
	assert_int_equal(wait_sem(&f->fired, 5000), 0);
	assert_int_equal(atomic_load(&f->calls), 1);
	evloop_stop(&f->l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_eventfd_fires),
		T(test_errors),
		T(test_mod),
		T(test_del_from_own_callback),
		T(test_del_waits_for_running_callback),
		T(test_timerfd),
		T(test_add_from_callback),
		T(test_stop_and_restart),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
