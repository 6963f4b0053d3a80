/* The PIT's host timer on the event loop. See pit_timer.h for the contract. */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "petrel/pit_timer.h"

static void pit_timer_fired(void *opaque, uint32_t events)
{
	struct pit_timer *t = opaque;
	uint64_t expirations;

	(void)events;
	/*
	 * Nothing to read: the timer was moved after it became readable (a
	 * port access delivered the edge and re-armed). The fd stays open
	 * until evloop_del has waited for us, so reading it unlocked is safe.
	 */
	if (read(t->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	pthread_mutex_lock(t->lock);
	pit_expired(t->pit);
	pthread_mutex_unlock(t->lock);
}

int pit_timer_init(struct pit_timer *t, struct evloop *loop,
		   pthread_mutex_t *lock, struct pit8254 *pit)
{
	int ret;

	t->loop = loop;
	t->lock = lock;
	t->pit = pit;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	ret = evloop_add(loop, t->fd, EPOLLIN, pit_timer_fired, t);
	if (ret < 0) {
		close(t->fd);
		t->fd = -1;
	}
	return ret;
}

int pit_timer_arm(struct pit_timer *t, uint64_t deadline_ns)
{
	struct itimerspec its = {
		.it_value = { (time_t)(deadline_ns / 1000000000u),
			      (long)(deadline_ns % 1000000000u) },
	};

	if (t->fd < 0)
		return 0; /* destroyed: the PIT may outlive its timer */
	/* an all-zero it_value disarms, which is what deadline 0 means */
	if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

void pit_timer_destroy(struct pit_timer *t)
{
	if (t->fd < 0)
		return;
	/* waits for a running callback: lock must not be held here */
	evloop_del(t->loop, t->fd);
	pthread_mutex_lock(t->lock);
	close(t->fd);
	t->fd = -1;
	pthread_mutex_unlock(t->lock);
}
