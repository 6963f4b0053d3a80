/* libslirp's pollfds on an epoll set (slirp_poll.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "slirp_poll.h"

#define EPOLL_BATCH 64

int slirp_pollset_init(struct slirp_pollset *ps, const struct slirp_lib *lib)
{
	memset(ps, 0, sizeof(*ps));
	ps->lib = lib;
	ps->epfd = epoll_create1(EPOLL_CLOEXEC);
	return ps->epfd < 0 ? -errno : 0;
}

void slirp_pollset_destroy(struct slirp_pollset *ps)
{
	if (ps->epfd >= 0)
		close(ps->epfd);
	free(ps->pfds);
	free(ps->reg);
	memset(ps, 0, sizeof(*ps));
	ps->epfd = -1;
}

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_pollset *ps = opaque;

	if (ps->nr == ps->cap) {
		unsigned cap = ps->cap ? 2 * ps->cap : 16;
		struct slirp_pfd *p = realloc(ps->pfds, cap * sizeof(*p));

		if (!p)
			return -1; /* slirp then does not watch that socket this round */
		ps->pfds = p;
		ps->cap = cap;
	}
	ps->pfds[ps->nr] = (struct slirp_pfd){ fd, events, 0 };
	return (int)ps->nr++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_pollset *ps = opaque;

	return idx >= 0 && (unsigned)idx < ps->nr ? ps->pfds[idx].revents : 0;
}

static uint32_t to_epoll(int ev)
{
	return (ev & SLIRP_POLL_IN ? EPOLLIN : 0) | (ev & SLIRP_POLL_OUT ? EPOLLOUT : 0) |
	       (ev & SLIRP_POLL_PRI ? EPOLLPRI : 0);
}

static int from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? SLIRP_POLL_IN : 0) | (ev & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
	       (ev & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (ev & EPOLLERR ? SLIRP_POLL_ERR : 0) |
	       (ev & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

static void epoll_set(struct slirp_pollset *ps, int fd, int events, bool known)
{
	struct epoll_event e = { .events = to_epoll(events), .data.fd = fd };

	if (known && epoll_ctl(ps->epfd, EPOLL_CTL_MOD, fd, &e) == 0)
		return;
	if (epoll_ctl(ps->epfd, EPOLL_CTL_ADD, fd, &e) < 0 && errno == EEXIST)
		epoll_ctl(ps->epfd, EPOLL_CTL_MOD, fd, &e);
}

/* Makes epfd watch what the last fill asked for. */
static void sync_epoll(struct slirp_pollset *ps)
{
	for (unsigned i = 0; i < ps->nr_reg;) {
		bool wanted = false;

		for (unsigned j = 0; j < ps->nr && !wanted; j++)
			wanted = ps->pfds[j].fd == ps->reg[i].fd;
		if (wanted) {
			i++;
			continue;
		}
		epoll_ctl(ps->epfd, EPOLL_CTL_DEL, ps->reg[i].fd, NULL);
		ps->reg[i] = ps->reg[--ps->nr_reg];
	}
	for (unsigned j = 0; j < ps->nr; j++) {
		struct slirp_pfd *p = &ps->pfds[j];
		unsigned i;

		for (i = 0; i < ps->nr_reg && ps->reg[i].fd != p->fd; i++)
			;
		if (i < ps->nr_reg) {
			if (ps->reg[i].events != p->events) {
				epoll_set(ps, p->fd, p->events, true);
				ps->reg[i].events = p->events;
			}
			continue;
		}
		if (ps->nr_reg == ps->cap_reg) {
			unsigned cap = ps->cap_reg ? 2 * ps->cap_reg : 16;
			struct slirp_pfd *r = realloc(ps->reg, cap * sizeof(*r));

			if (!r)
				continue;
			ps->reg = r;
			ps->cap_reg = cap;
		}
		epoll_set(ps, p->fd, p->events, false);
		ps->reg[ps->nr_reg++] = *p;
	}
}

void slirp_pollset_fill(struct slirp_pollset *ps, Slirp *s, uint32_t *timeout_ms)
{
	ps->nr = 0;
	ps->lib->pollfds_fill(s, timeout_ms, add_poll, ps);
	sync_epoll(ps);
}

void slirp_pollset_poll(struct slirp_pollset *ps, Slirp *s, bool sockets)
{
	struct epoll_event evs[EPOLL_BATCH];
	int n = sockets ? epoll_wait(ps->epfd, evs, EPOLL_BATCH, 0) : 0;

	for (unsigned j = 0; j < ps->nr; j++)
		ps->pfds[j].revents = 0;
	for (int i = 0; i < n; i++)
		for (unsigned j = 0; j < ps->nr; j++)
			if (ps->pfds[j].fd == evs[i].data.fd)
				ps->pfds[j].revents = from_epoll(evs[i].events) &
						      (ps->pfds[j].events | SLIRP_POLL_ERR | SLIRP_POLL_HUP);
	/* ready fds beyond the batch stay ready: epfd fires again */
	ps->lib->pollfds_poll(s, n < 0, get_revents, ps);
}

void slirp_pollset_forget(struct slirp_pollset *ps, int fd)
{
	for (unsigned i = 0; i < ps->nr_reg; i++) {
		if (ps->reg[i].fd != fd)
			continue;
		epoll_ctl(ps->epfd, EPOLL_CTL_DEL, fd, NULL);
		ps->reg[i] = ps->reg[--ps->nr_reg];
		return;
	}
}
