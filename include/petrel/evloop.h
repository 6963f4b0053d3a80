/*
 * The I/O thread: one epoll loop where devices register file descriptors
 * (eventfds for queue kicks, the console's stdin/stdout, sockets, timerfds
 * for timers, an io_uring's completion eventfd). Anything that may block on
 * the host runs here, never on a vCPU thread.
 *
 * Contract:
 * - Level-triggered. A callback gets the epoll events that fired (EPOLLIN,
 *   EPOLLOUT, EPOLLHUP, EPOLLERR) and runs on the loop's thread, one at a time.
 * - evloop_add/mod/del may be called from any thread, including from a
 *   callback (also for its own fd). When evloop_del returns on a thread other
 *   than the loop's, that fd's callback is not running and will not run again;
 *   called from a callback, no later callback for that fd runs. Another
 *   thread's evloop_del waits for a running callback of that fd: it must not
 *   hold a lock that callback takes.
 * - Each fd is registered at most once (-EEXIST).
 * - Timers are timerfds registered like any fd.
 * - evloop_stop wakes the thread and joins it; callbacks never run after it
 *   returns; it must not be called from the loop's thread. evloop_destroy
 *   (which stops the loop first) closes only the loop's own fds.
 */
#ifndef PETREL_EVLOOP_H
#define PETREL_EVLOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*evloop_cb)(void *opaque, uint32_t events);

struct evloop_handler; /* private to evloop.c */

struct sandbox;

struct evloop {
	int epfd;
	int wake_fd; /* eventfd: tells the thread to look at stop / deletions */
	pthread_mutex_t lock; /* guards handlers and in_cb */
	pthread_cond_t idle;  /* signalled when a callback returns */
	struct evloop_handler *handlers;
	struct evloop_handler *in_cb; /* handler whose callback runs now */
	uint64_t last_id; /* handler ids are never reused (see evloop.c) */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	/* the I/O thread's seccomp filter (sandbox.h); NULL: none. Set before start */
	const struct sandbox *sandbox;
	int enter_err;  /* its result, reported to evloop_start */
	bool entered;
	char name[16];
};

/* 0 or -errno. */
int evloop_init(struct evloop *l);
/*
 * events: EPOLLIN and/or EPOLLOUT. 0, -EEXIST, -EBADF, -ENOMEM, or -EPERM
 * for an fd epoll cannot watch (a regular file, /dev/null).
 */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb,
	       void *opaque);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* 0 or -ENOENT. Does not close fd. */
int evloop_del(struct evloop *l, int fd);
/* Starts the thread, named name (as ps -L shows it). 0 or -errno. */
int evloop_start(struct evloop *l, const char *name);
void evloop_stop(struct evloop *l);
void evloop_destroy(struct evloop *l);
/* Whether the caller runs on the loop's thread. */
bool evloop_on_thread(const struct evloop *l);

#endif
