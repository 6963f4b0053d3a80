/*
 * The I/O thread's epoll loop (contract in evloop.h).
 *
 * epoll reports an fd by the 64-bit cookie registered with it, and an event
 * may sit in the batch epoll_wait returned after its handler was deleted
 * (and its fd number reused by a new registration). So the cookie is a
 * handler id that is never reused, and the thread looks the id up under the
 * lock before each callback: a deleted handler is no longer in the list
 * and its stale events are dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "petrel/evloop.h"
#include "petrel/sandbox.h"
#include "petrel/util.h"

#define WAKE_ID 0 /* the cookie of the loop's own wake eventfd */
#define MAX_EVENTS 16
#define NAME_MAX_LEN 15 /* what the kernel keeps of a thread's name */

struct evloop_handler {
	uint64_t id;
	int fd;
	uint32_t events;
	evloop_cb cb;
	void *opaque;
	/* deleted by its own callback: the thread frees it when that returns */
	bool dead;
	struct evloop_handler *next;
};

int evloop_init(struct evloop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_ID };
	int err;

	memset(l, 0, sizeof(*l));
	l->epfd = l->wake_fd = -1;
	atomic_init(&l->stop, false);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		err = -errno;
		pt_err("evloop: epoll_create1: %s", strerror(errno));
		goto fail;
	}
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		err = -errno;
		pt_err("evloop: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
		err = -errno;
		pt_err("evloop: epoll_ctl(ADD, wake fd %d): %s", l->wake_fd, strerror(errno));
		goto fail;
	}
	if ((err = -pthread_mutex_init(&l->lock, NULL)) < 0)
		goto fail;
	if ((err = -pthread_cond_init(&l->idle, NULL)) < 0) {
		pthread_mutex_destroy(&l->lock);
		goto fail;
	}
	return 0;
fail:
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->wake_fd = -1;
	return err;
}

static struct evloop_handler *find_fd(struct evloop *l, int fd)
{
	for (struct evloop_handler *h = l->handlers; h; h = h->next)
		if (h->fd == fd)
			return h;
	return NULL;
}

static struct evloop_handler *find_id(struct evloop *l, uint64_t id)
{
	for (struct evloop_handler *h = l->handlers; h; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb,
	       void *opaque)
{
	struct evloop_handler *h;
	struct epoll_event ev;
	int err = 0;

	if (fd < 0)
		return -EBADF;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&l->lock);
	if (find_fd(l, fd)) {
		err = -EEXIST;
		goto out;
	}
	*h = (struct evloop_handler){ .id = ++l->last_id, .fd = fd, .events = events,
				      .cb = cb, .opaque = opaque };
	ev = (struct epoll_event){ .events = events, .data.u64 = h->id };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		/* EPERM: a regular file or /dev/null, which epoll cannot watch */
		err = -errno;
		goto out;
	}
	h->next = l->handlers;
	l->handlers = h;
	h = NULL;
out:
	pthread_mutex_unlock(&l->lock);
	free(h);
	return err;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct evloop_handler *h;
	struct epoll_event ev;
	int err = 0;

	pthread_mutex_lock(&l->lock);
	h = find_fd(l, fd);
	if (!h) {
		err = -ENOENT;
		goto out;
	}
	ev = (struct epoll_event){ .events = events, .data.u64 = h->id };
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		err = -errno;
		pt_err("evloop: epoll_ctl(MOD, fd %d, events 0x%x): %s", fd, events,
		       strerror(errno));
		goto out;
	}
	h->events = events;
out:
	pthread_mutex_unlock(&l->lock);
	return err;
}

int evloop_del(struct evloop *l, int fd)
{
	struct evloop_handler **pp, *h;

	pthread_mutex_lock(&l->lock);
	for (pp = &l->handlers; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	h = *pp;
	if (!h) {
		pthread_mutex_unlock(&l->lock);
		return -ENOENT;
	}
	*pp = h->next;
	/* ENOENT or EBADF here: the caller closed the fd first; nothing to undo */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (l->in_cb == h) {
		if (evloop_on_thread(l)) {
			/* its own callback deletes it: freed when that returns */
			h->dead = true;
			pthread_mutex_unlock(&l->lock);
			return 0;
		}
		while (l->in_cb == h)
			pthread_cond_wait(&l->idle, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	free(h);
	return 0;
}

static void dispatch(struct evloop *l, uint64_t id, uint32_t events)
{
	struct evloop_handler *h;
	evloop_cb cb;
	void *opaque;
	bool dead;

	pthread_mutex_lock(&l->lock);
	h = find_id(l, id);
	if (!h) { /* deleted since epoll_wait returned */
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->in_cb = h;
	cb = h->cb;
	opaque = h->opaque;
	pthread_mutex_unlock(&l->lock);

	cb(opaque, events);

	pthread_mutex_lock(&l->lock);
	dead = h->dead;
	l->in_cb = NULL;
	pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->lock);
	if (dead)
		free(h);
}

static void *evloop_thread(void *arg)
{
	struct evloop *l = arg;
	struct epoll_event evs[MAX_EVENTS];
	/* confined before its first callback runs on guest-controlled data */
	int err = sandbox_enter(l->sandbox, SANDBOX_IO, l->name);

	pthread_mutex_lock(&l->lock);
	l->enter_err = err;
	l->entered = true;
	pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->lock);
	if (err < 0)
		return NULL;
	while (!atomic_load(&l->stop)) {
		int n = epoll_wait(l->epfd, evs, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* cannot happen with a valid epfd; say so rather than spin */
			pt_err("evloop: epoll_wait(epfd %d): %s", l->epfd, strerror(errno));
			break;
		}
		for (int i = 0; i < n && !atomic_load(&l->stop); i++) {
			if (evs[i].data.u64 == WAKE_ID) {
				uint64_t count;

				if (read(l->wake_fd, &count, sizeof(count)) < 0) {
					/* EAGAIN: another wake already consumed it */
				}
				continue;
			}
			dispatch(l, evs[i].data.u64, evs[i].events);
		}
	}
	return NULL;
}

int evloop_start(struct evloop *l, const char *name)
{
	char short_name[NAME_MAX_LEN + 1];
	int err;

	if (l->started)
		return -EBUSY;
	atomic_store(&l->stop, false);
	/* the kernel keeps 15 characters; longer names fail with ERANGE */
	snprintf(short_name, sizeof(short_name), "%s", name);
	snprintf(l->name, sizeof(l->name), "%s", short_name);
	l->entered = false;
	err = pthread_create(&l->thread, NULL, evloop_thread, l);
	if (err) {
		pt_err("evloop: pthread_create(%s): %s", name, strerror(err));
		return -err;
	}
	l->started = true;
	pthread_setname_np(l->thread, short_name);
	/* its filter is in (or failed: no loop runs unconfined) before we go on */
	pthread_mutex_lock(&l->lock);
	while (!l->entered)
		pthread_cond_wait(&l->idle, &l->lock);
	err = l->enter_err;
	pthread_mutex_unlock(&l->lock);
	if (err < 0) {
		pthread_join(l->thread, NULL);
		l->started = false;
		return err;
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	uint64_t one = 1;

	if (!l->started)
		return;
	if (evloop_on_thread(l)) {
		/* joining itself would deadlock: a caller bug, not a hang */
		pt_err("evloop: evloop_stop called from the loop's own thread");
		return;
	}
	atomic_store(&l->stop, true);
	if (write(l->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the thread wakes anyway */
	}
	pthread_join(l->thread, NULL);
	l->started = false;
}

void evloop_destroy(struct evloop *l)
{
	struct evloop_handler *h, *next;

	evloop_stop(l);
	for (h = l->handlers; h; h = next) {
		next = h->next;
		free(h);
	}
	l->handlers = NULL;
	if (l->epfd >= 0) {
		close(l->epfd);
		pthread_cond_destroy(&l->idle);
		pthread_mutex_destroy(&l->lock);
	}
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	l->epfd = l->wake_fd = -1;
}

bool evloop_on_thread(const struct evloop *l)
{
	return l->started && pthread_equal(pthread_self(), l->thread);
}
