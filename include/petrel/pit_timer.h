/*
 * The host timer behind the PIT model (pit8254.h): one timerfd
 * (CLOCK_MONOTONIC, absolute deadlines) on the I/O thread's event loop.
 * When it fires, the callback takes the owner's lock and calls
 * pit_expired(); the PIT's ops->arm calls pit_timer_arm() to move it.
 *
 * Contract:
 * - The PIT's ops->now_ns must be CLOCK_MONOTONIC (mono_clock_host_ns):
 *   deadlines are taken as absolute times of that clock.
 * - lock is the one mutex that serialises every entry point of the PIT.
 *   pit_timer_arm is called with it held (from ops->arm, on a vCPU thread
 *   or on the loop's thread inside pit_expired); it makes one
 *   timerfd_settime and never blocks.
 * - A timer moved or stopped after it fired but before the callback ran is
 *   not delivered (the timerfd reads nothing); pit_expired re-arms anyway.
 * - pit_timer_destroy may run while the loop runs and while vCPUs still
 *   reach the PIT: when it returns, the callback is not running and will
 *   not run again, and pit_timer_arm does nothing. Any thread may call it
 *   (the loop's too, from another fd's callback), but not with lock held:
 *   it waits for a running callback, which takes lock.
 */
#ifndef PETREL_PIT_TIMER_H
#define PETREL_PIT_TIMER_H

#include <pthread.h>
#include <stdint.h>

#include "petrel/evloop.h"
#include "petrel/pit8254.h"

struct pit_timer {
	struct evloop *loop;
	pthread_mutex_t *lock;
	struct pit8254 *pit;
	int fd; /* the timerfd; -1 once destroyed (guarded by lock) */
};

/* 0 or -errno (timerfd_create, evloop_add). */
int pit_timer_init(struct pit_timer *t, struct evloop *loop,
		   pthread_mutex_t *lock, struct pit8254 *pit);

/*
 * Fire at deadline_ns (CLOCK_MONOTONIC ns; a past one fires at once), or
 * never (0). Call with lock held. 0, or -errno from timerfd_settime.
 */
int pit_timer_arm(struct pit_timer *t, uint64_t deadline_ns);

void pit_timer_destroy(struct pit_timer *t);

#endif
