/*
 * libslirp's poll interface (slirp_pollfds_fill / slirp_pollfds_poll, made
 * for a poll() loop) on an epoll set of its own, which the slirp backend
 * registers as one fd on the I/O thread. Internal to src/net/slirp.c.
 *
 * After every call into slirp the backend refills: the set then watches
 * exactly what slirp asked for (fds slirp dropped are removed, an fd number
 * slirp reused after unregister_poll_fd is added afresh). Not thread-safe:
 * the backend's lock covers it.
 */
#ifndef PETREL_NET_SLIRP_POLL_H
#define PETREL_NET_SLIRP_POLL_H

#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdint.h>

#include "slirp_lib.h"

struct slirp_pfd {
	int fd;
	int events;  /* SLIRP_POLL_* */
	int revents; /* for slirp_pollfds_poll */
};

struct slirp_pollset {
	const struct slirp_lib *lib;
	int epfd;
	struct slirp_pfd *pfds; /* the last fill: index = what add_poll returned */
	unsigned nr, cap;
	struct slirp_pfd *reg;  /* what epfd holds */
	unsigned nr_reg, cap_reg;
};

/* 0 or -errno. lib stays the caller's. */
int slirp_pollset_init(struct slirp_pollset *ps, const struct slirp_lib *lib);
void slirp_pollset_destroy(struct slirp_pollset *ps);
/* slirp_pollfds_fill into the set; *timeout_ms as slirp leaves it. */
void slirp_pollset_fill(struct slirp_pollset *ps, Slirp *s, uint32_t *timeout_ms);
/*
 * slirp_pollfds_poll with what epfd reports ready now (sockets true), or
 * with nothing ready (sockets false: slirp runs its timers only).
 */
void slirp_pollset_poll(struct slirp_pollset *ps, Slirp *s, bool sockets);
/* slirp is about to close fd (its unregister_poll_fd callback). */
void slirp_pollset_forget(struct slirp_pollset *ps, int fd);

#endif
